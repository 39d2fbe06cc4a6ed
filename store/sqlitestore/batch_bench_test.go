//go:build unix

package sqlitestore_test

import (
	"context"
	"log/slog"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/hubsync/hubsync"
	"github.com/hubsync/hubsync/store/sqlitestore"
)

// BenchmarkBatchWrite measures what the engine writes for one outbound batch of 100 new contacts
// (the backfill's case), one op per contact: the conditional write of their sync states, their
// sync log entries and their sync health (in sync: deletes), in one transaction, as the engine's
// swapWithLog writes them. synchronous=NORMAL, so that a commit costs no fsync and the figure
// is the statements' CPU; cpu-ns/op is this process's CPU (getrusage), steadier than the wall
// time on a shared machine. Each part alone too (states, log, health), each its own transaction.
//
// Run: go test -run '^$' -bench BatchWrite ./store/sqlitestore
func BenchmarkBatchWrite(b *testing.B) {
	for _, part := range []string{"all", "states", "log", "health"} {
		b.Run(part, func(b *testing.B) { benchBatchWrite(b, part) })
	}
}

func benchBatchWrite(b *testing.B, part string) {
	ctx := context.Background()
	s, err := sqlitestore.Open(ctx, filepath.Join(b.TempDir(), "hubsync.db"),
		sqlitestore.WithSynchronous(sqlitestore.SyncNormal), sqlitestore.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	const school, batch = hubsync.SchoolID("bench"), 100
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	swaps := make([]hubsync.SyncStateSwap, batch)
	entries := make([]hubsync.SyncLogEntry, batch)
	health := make([]hubsync.HealthEntry, batch)
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := selfCPU()
	for start := 0; start < b.N; start += batch {
		n := min(batch, b.N-start)
		for i := range n {
			email := "learner" + strconv.Itoa(start+i) + "@example.com"
			swaps[i] = hubsync.SyncStateSwap{State: hubsync.SyncState{School: school, Email: email, LearnerID: "u" + strconv.Itoa(start+i),
				ContactID: strconv.Itoa(1000000 + start + i), SentToHubSpot: map[string]string{"email": email, "country": "GR", "company": "Company " + strconv.Itoa(i)}}}
			entries[i] = hubsync.SyncLogEntry{School: school, At: at, Direction: hubsync.DirectionToHubSpot, Email: email, Outcome: hubsync.OutcomeCreated}
			health[i] = hubsync.HealthEntry{School: school, Email: email, Direction: hubsync.DirectionToHubSpot, Status: hubsync.HealthInSync, At: at}
		}
		var err error
		switch part {
		case "all":
			err = s.RunInTx(ctx, func(ctx context.Context, st hubsync.Store, _ hubsync.Queue) error {
				if _, err := st.(hubsync.SyncStateSwapper).SwapSyncStates(ctx, school, swaps[:n]); err != nil {
					return err
				}
				if err := st.AppendSyncLog(ctx, entries[:n]...); err != nil {
					return err
				}
				return st.PutSyncHealth(ctx, health[:n]...)
			})
		case "states":
			_, err = s.SwapSyncStates(ctx, school, swaps[:n])
		case "log":
			err = s.AppendSyncLog(ctx, entries[:n]...)
		case "health":
			err = s.PutSyncHealth(ctx, health[:n]...)
		}
		if err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(selfCPU()-cpu0)/float64(b.N), "cpu-ns/op")
}

// selfCPU is this process's CPU time so far, user and system.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		panic(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
