//go:build unix

package hubsync_test

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hubsync/hubsync"
	"github.com/hubsync/hubsync/hubspot/hubspottest"
	"github.com/hubsync/hubsync/hubsynctest"
	"github.com/hubsync/hubsync/store/pgstore"
	"github.com/hubsync/hubsync/store/sqlitestore"
)

// BenchmarkStoreBytesPerLearner measures how many bytes of store one learner costs once synced:
// N learners (one op is one learner: -benchtime 20000x backfills 20,000) with realistic values
// for bytesMapping's 8 properties are backfilled LMS -> HubSpot by a manual sync (the fake HubSpot
// in process, rate limits off), onto a real SQLite file and, when TEST_DATABASE_URL is set, a
// PostgreSQL schema of its own (dropped at the end). Each learner then holds one sync state and
// one sync log entry (a learner changed k times within the log's retention holds k+1 entries:
// the sync_log-B/entry metric scales that part).
//
// Metrics, per learner: total-B/learner (SQLite: page_count * page_size after VACUUM; PostgreSQL:
// pg_total_relation_size of every table of the schema, indexes and TOAST included, after VACUUM
// FULL), and per table (its rows and its indexes, SQLite from dbstat) sync_states-B/learner,
// sync_log-B/learner, sync_health-B/learner, other-B/learner (every other table: jobs,
// connections, settings, migrations...). The log lines give each table and index apart.
//
// Run: go test -run '^$' -bench StoreBytesPerLearner -benchtime 20000x .
func BenchmarkStoreBytesPerLearner(b *testing.B) {
	b.Run("sqlite", func(b *testing.B) {
		path := filepath.Join(b.TempDir(), "hubsync.db")
		s, err := sqlitestore.Open(context.Background(), path, sqlitestore.WithLogger(slog.New(slog.DiscardHandler)))
		if err != nil {
			b.Fatal(err)
		}
		n := backfillForBytes(b, s)
		s.Close()
		sizes, total := sqliteSizes(b, path)
		reportStoreBytes(b, n, sizes, total)
	})
	b.Run("postgres", func(b *testing.B) {
		url := os.Getenv("TEST_DATABASE_URL")
		if url == "" {
			b.Skip("TEST_DATABASE_URL not set")
		}
		ctx := context.Background()
		schema := fmt.Sprintf("bytes_bench_%d_%d", os.Getpid(), time.Now().UnixNano())
		conn, err := pgx.Connect(ctx, url)
		if err != nil {
			b.Fatal(err)
		}
		defer conn.Close(ctx)
		defer func() {
			if _, err := conn.Exec(ctx, `DROP SCHEMA IF EXISTS `+pgx.Identifier{schema}.Sanitize()+` CASCADE`); err != nil {
				b.Error(err)
			}
		}()
		s, err := pgstore.Open(ctx, url, pgstore.WithSchema(schema), pgstore.WithMaxConns(4))
		if err != nil {
			b.Fatal(err)
		}
		n := backfillForBytes(b, s)
		s.Close()
		sizes, total := pgSizes(b, conn, schema)
		reportStoreBytes(b, n, sizes, total)
	})
}

// bytesMapping is 8 mapped properties, as a school syncing a profile maps them.
var bytesMapping = []hubsync.Mapping{
	{LMSField: "email", HubSpotProperty: "email"},
	{LMSField: "first_name", HubSpotProperty: "firstname"},
	{LMSField: "last_name", HubSpotProperty: "lastname"},
	{LMSField: "phone", HubSpotProperty: "phone"},
	{LMSField: "company", HubSpotProperty: "company"},
	{LMSField: "country", HubSpotProperty: "country"},
	{LMSField: "location", HubSpotProperty: "city"},
	{LMSField: "birthday", HubSpotProperty: "date_of_birth"},
}

const bytesSchool = hubsync.SchoolID("bytes-bench")

// bytesLearner is learner i with values of realistic lengths.
func bytesLearner(i int) hubsync.Learner {
	first := []string{"Maria", "Jonathan", "Eleni", "Li", "Alexandra", "Tom", "Fatima", "Konstantinos"}[i%8]
	last := []string{"Papadopoulou", "Smith", "Nguyen", "Garcia-Lopez", "Schmidt", "O'Brien", "Kowalski"}[i%7]
	return hubsync.Learner{
		Email: fmt.Sprintf("%s.%s.%d@example-school.com", strings.ToLower(first), strings.ToLower(strings.ReplaceAll(last, "'", "")), i),
		Values: map[string]any{
			"first_name": first, "last_name": last,
			"phone":    fmt.Sprintf("+30 69%08d", i),
			"company":  "Company " + strconv.Itoa(i%500) + " Ltd",
			"country":  []string{"Greece", "United Kingdom", "Germany", "France", "Spain"}[i%5],
			"location": []string{"Athens", "London", "Berlin", "Thessaloniki", "Madrid", "Lyon"}[i%6],
			"birthday": float64(time.Date(1970+i%35, time.Month(1+i%12), 1+i%28, 0, 0, 0, 0, time.UTC).Unix()),
		},
	}
}

// backfillForBytes syncs b.N learners to the fake HubSpot through store and returns b.N.
func backfillForBytes(b *testing.B, store interface {
	hubsync.Store
	hubsync.Queue
}) int {
	n := b.N
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	hs := hubspottest.NewServer(hubspottest.WithRateLimit(0, 0), hubspottest.WithSearchRateLimit(0, 0))
	defer hs.Close()
	lms := hubsynctest.NewLearners(0)
	for i := range n {
		lms.Put(bytesSchool, bytesLearner(i))
	}
	progress := make(chan hubsync.ManualProgress, 1)
	eng, err := hubsync.New(hubsync.Config{
		Store: store, Queue: store, Learners: lms, Logger: slog.New(slog.DiscardHandler),
		HubSpot: hubsync.HubSpotApp{ClientID: hs.ClientID(), ClientSecret: hs.ClientSecret(), RedirectURL: redirect,
			BaseURL: hs.URL, RateLimit: 1 << 20, RateInterval: time.Second},
		OnProgress: func(_ hubsync.SchoolID, p hubsync.ManualProgress) {
			if p.State != hubsync.ManualRunning {
				progress <- p
			}
		},
	})
	if err != nil {
		b.Fatal(err)
	}
	_, refresh := hs.MintToken()
	if _, err := eng.ConnectWithRefreshToken(ctx, bytesSchool, refresh); err != nil {
		b.Fatal(err)
	}
	if _, err := eng.SaveSettings(ctx, bytesSchool, hubsync.Settings{Mappings: bytesMapping, UpdateLifecycleStage: true}); err != nil {
		b.Fatal(err)
	}
	done := make(chan error, 1)
	runCtx, stop := context.WithCancel(ctx)
	go func() { done <- eng.Run(runCtx) }()
	b.ResetTimer()
	if _, err := eng.StartManualSync(ctx, bytesSchool, hubsync.DirectionToHubSpot); err != nil {
		b.Fatal(err)
	}
	p := <-progress
	b.StopTimer()
	stop()
	<-done
	if p.State != hubsync.ManualDone || p.Created != n || p.Failed != 0 {
		b.Fatalf("manual sync ended %s with %d created, %d failed of %d (%v)", p.State, p.Created, p.Failed, n, p.Failures)
	}
	st, err := store.GetSyncState(ctx, bytesSchool, bytesLearner(n-1).Email)
	if err != nil {
		b.Fatal(err)
	}
	if len(st.SentToHubSpot) < len(bytesMapping)-1 {
		b.Fatalf("last learner's state records %d sent values, want at least %d: %v", len(st.SentToHubSpot), len(bytesMapping)-1, st.SentToHubSpot)
	}
	return n
}

// tableBytes is one table's size: its rows and its indexes (PostgreSQL: TOAST with the rows).
type tableBytes struct {
	table         string
	rows, indexes int64
	rowCount      int64
}

// sqliteSizes vacuums the SQLite file and returns each table's bytes (dbstat) and the file's.
func sqliteSizes(b *testing.B, path string) ([]tableBytes, int64) {
	db, err := sql.Open("sqlite", path)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`VACUUM`); err != nil {
		b.Fatal(err)
	}
	var pages, pageSize int64
	if err := db.QueryRow(`PRAGMA page_count`).Scan(&pages); err != nil {
		b.Fatal(err)
	}
	if err := db.QueryRow(`PRAGMA page_size`).Scan(&pageSize); err != nil {
		b.Fatal(err)
	}
	rows, err := db.Query(`SELECT m.tbl_name, m.type, SUM(d.pgsize) FROM dbstat d JOIN sqlite_schema m ON m.name = d.name
		GROUP BY m.tbl_name, m.type`)
	if err != nil {
		b.Fatalf("dbstat (SQLite built without it?): %v", err)
	}
	defer rows.Close()
	by := map[string]*tableBytes{}
	for rows.Next() {
		var tbl, typ string
		var size int64
		if err := rows.Scan(&tbl, &typ, &size); err != nil {
			b.Fatal(err)
		}
		t := by[tbl]
		if t == nil {
			t = &tableBytes{table: tbl}
			by[tbl] = t
		}
		if typ == "index" {
			t.indexes += size
		} else {
			t.rows += size
		}
	}
	if err := rows.Err(); err != nil {
		b.Fatal(err)
	}
	// A WITHOUT ROWID table's rows are its primary key index (type table in sqlite_schema, so
	// counted as rows); an autoindex of a rowid table has type index.
	var out []tableBytes
	for _, t := range by {
		if err := db.QueryRow(`SELECT count(*) FROM "` + t.table + `"`).Scan(&t.rowCount); err != nil {
			b.Fatal(err)
		}
		out = append(out, *t)
	}
	return out, pages * pageSize
}

// pgSizes vacuums the schema's tables and returns each one's bytes and their total.
func pgSizes(b *testing.B, conn *pgx.Conn, schema string) ([]tableBytes, int64) {
	ctx := context.Background()
	tables, err := pgx.CollectRows(must(conn.Query(ctx, `SELECT tablename FROM pg_tables WHERE schemaname = $1`, schema)), pgx.RowTo[string])
	if err != nil {
		b.Fatal(err)
	}
	var out []tableBytes
	var total int64
	for _, t := range tables {
		q := pgx.Identifier{schema, t}.Sanitize()
		if _, err := conn.Exec(ctx, `VACUUM FULL ANALYZE `+q); err != nil {
			b.Fatal(err)
		}
		tb := tableBytes{table: t}
		err := conn.QueryRow(ctx, `SELECT pg_table_size($1::regclass), pg_indexes_size($1::regclass), (SELECT count(*) FROM `+q+`)`, q).
			Scan(&tb.rows, &tb.indexes, &tb.rowCount)
		if err != nil {
			b.Fatal(err)
		}
		total += tb.rows + tb.indexes
		out = append(out, tb)
	}
	return out, total
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// reportStoreBytes reports the metrics of BenchmarkStoreBytesPerLearner.
func reportStoreBytes(b *testing.B, n int, sizes []tableBytes, total int64) {
	slices.SortFunc(sizes, func(x, y tableBytes) int { return int((y.rows + y.indexes) - (x.rows + x.indexes)) })
	per := func(v int64) float64 { return float64(v) / float64(n) }
	var other int64
	var lines []string
	for _, t := range sizes {
		name := strings.TrimPrefix(t.table, "hubsync_")
		lines = append(lines, fmt.Sprintf("  %-24s %6d rows  %10d B rows %10d B indexes  %7.1f B/learner", t.table, t.rowCount, t.rows, t.indexes, per(t.rows+t.indexes)))
		switch name {
		case "sync_states", "sync_state": // pgstore's is singular
			b.ReportMetric(per(t.rows+t.indexes), "sync_states-B/learner")
		case "sync_health":
			b.ReportMetric(per(t.rows+t.indexes), name+"-B/learner")
		case "sync_log":
			b.ReportMetric(per(t.rows+t.indexes), name+"-B/learner")
			if t.rowCount > 0 {
				b.ReportMetric(float64(t.rows+t.indexes)/float64(t.rowCount), "sync_log-B/entry")
			}
		default:
			other += t.rows + t.indexes
		}
	}
	b.ReportMetric(per(other), "other-B/learner")
	b.ReportMetric(per(total), "total-B/learner")
	if n < 1000 {
		return
	}
	b.Logf("%d learners, %d B in all (%.1f B/learner); load %s\n%s", n, total, per(total), loadavg(), strings.Join(lines, "\n"))
}
