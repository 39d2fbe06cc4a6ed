package sqlitestore

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strconv"
	"strings"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// Migration is one numbered change of the store's schema, as plain SQL for one table prefix, for
// a host that runs its migrations with its own tool (golang-migrate, goose, atlas...) and opens
// the store with WithAutoMigrate(false).
//
// SQL is the whole migration: it creates the prefix's schema_migrations table if it is missing,
// makes the change, and records Version there (doing nothing when it is already recorded), so
// the store knows the file's version whatever tool ran it. It holds no BEGIN or COMMIT: run it in
// one transaction, as those tools do by default. It is not idempotent (ALTER TABLE is not):
// a tool must run each migration once, in Version order; when the store migrated the file
// itself before, tell the tool those versions are applied (they are the rows of
// <prefix>schema_migrations) rather than running them again.
type Migration struct {
	Version int    // 1, 2, 3...: the order to apply them in
	Name    string // what it does, as a file name's word ("init", "sync_health"), as pgstore's
	SQL     string
}

// Migrations returns the store's migrations for the table prefix (see WithTablePrefix; New uses
// PrefixDefault, Open ""), in Version order. It fails when the prefix is not valid.
func Migrations(prefix string) ([]Migration, error) {
	if err := validatePrefix(prefix); err != nil {
		return nil, fmt.Errorf("sqlitestore: Migrations: %w", err)
	}
	ms, err := embeddedMigrations()
	if err != nil {
		return nil, err
	}
	for i, m := range ms {
		// schema_migrations records the file's name (NNNN_what.sql), as it always has; Name is
		// the bare word, for a tool's own file names (golang-migrate: NNNN_what.up.sql).
		ms[i].SQL = fmt.Sprintf("-- hubsync sqlitestore migration %s, table prefix %q.\n%s;\n\n%s\n%s;\n",
			m.Name, prefix, prefixed(createMigrationsTable, prefix), prefixed(m.SQL, prefix),
			prefixed(fmt.Sprintf(recordMigration, m.Version, m.Name), prefix))
		_, word, _ := strings.Cut(strings.TrimSuffix(m.Name, ".sql"), "_")
		ms[i].Name = word
	}
	return ms, nil
}

// createMigrationsTable is the table of applied migrations, one row each.
const createMigrationsTable = `CREATE TABLE IF NOT EXISTS {p}schema_migrations (
	version    INTEGER PRIMARY KEY,
	name       TEXT NOT NULL,
	applied_at INTEGER NOT NULL -- Unix nanoseconds (to the millisecond)
)`

// recordMigration records a migration (%d its version, %s its name, never holding a quote)
// unless already recorded, stamped with SQLite's own clock: the SQL runs in the host's tool.
const recordMigration = `INSERT INTO {p}schema_migrations (version, name, applied_at)
VALUES (%d, '%s', CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER) * 1000000)
ON CONFLICT (version) DO NOTHING`

// embeddedMigrations returns the embedded migrations, their SQL still templates, in version
// order. Names are NNNN_what.sql; a name without a number, with a quote, or two with the same
// number, is an error.
func embeddedMigrations() ([]Migration, error) {
	names, err := fs.Glob(migrationFS, "migrations/*.sql")
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: list migrations: %w", err)
	}
	var out []Migration
	for _, n := range names {
		base := strings.TrimPrefix(n, "migrations/")
		num, _, ok := strings.Cut(base, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 || strings.ContainsAny(base, `'"\`) {
			return nil, fmt.Errorf("sqlitestore: migration %s is not named NNNN_name.sql", base)
		}
		body, err := migrationFS.ReadFile(n)
		if err != nil {
			return nil, fmt.Errorf("sqlitestore: read migration %s: %w", base, err)
		}
		out = append(out, Migration{Version: v, Name: base, SQL: strings.TrimSpace(string(body))})
	}
	slices.SortFunc(out, func(a, b Migration) int { return a.Version - b.Version })
	for i := 1; i < len(out); i++ {
		if out[i].Version == out[i-1].Version {
			return nil, fmt.Errorf("sqlitestore: migrations %s and %s share a number", out[i-1].Name, out[i].Name)
		}
	}
	return out, nil
}

// ErrSchemaVersion is wrapped by the error of New or Open when the database's schema is not the
// one this version of the store uses: with WithAutoMigrate(false), migrations are missing (the
// error names them); with or without it, the database records migrations this version does not
// know, applied by a newer hubsync, and this older one refuses to work on it.
var ErrSchemaVersion = errors.New("sqlitestore: schema version mismatch")

var (
	migrationsTableExistsSQL = sqlText(`SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = '{p}schema_migrations'`)
	appliedMigrationsSQL     = sqlText(`SELECT version, name FROM {p}schema_migrations ORDER BY version`)
	migrationAppliedSQL      = sqlText(`SELECT COUNT(*) FROM {p}schema_migrations WHERE version = ?`)
	createMigrationsSQL      = sqlText(createMigrationsTable)
	schemaVersionSQL         = sqlText(`SELECT COALESCE(MAX(version), 0) FROM {p}schema_migrations`)
)

// prepareSchema brings the schema to this version's (auto) or checks it is (not auto): either way
// a database recording a migration this version does not know is refused first.
func (s *Store) prepareSchema(ctx context.Context, auto bool) error {
	ms, err := Migrations(s.prefix)
	if err != nil {
		return err
	}
	applied, err := s.appliedMigrations(ctx)
	if err != nil {
		return err
	}
	known := map[int]bool{}
	for _, m := range ms {
		known[m.Version] = true
	}
	var unknown, missing []string
	for v, name := range applied {
		if !known[v] {
			unknown = append(unknown, fmt.Sprintf("%d (%s)", v, name))
		}
	}
	for _, m := range ms {
		if _, ok := applied[m.Version]; !ok {
			missing = append(missing, fmt.Sprintf("%04d_%s", m.Version, m.Name))
		}
	}
	slices.Sort(unknown)
	if len(unknown) > 0 {
		return fmt.Errorf("%w: %sschema_migrations records migrations %s, which this version of hubsync does not know "+
			"(its newest is %d): a newer hubsync migrated this database; run that version, or restore a copy from before",
			ErrSchemaVersion, s.prefix, strings.Join(unknown, ", "), ms[len(ms)-1].Version)
	}
	if len(missing) == 0 {
		return nil
	}
	if !auto {
		return fmt.Errorf("%w: migrations %s are not applied to the tables of prefix %q; "+
			"run them (sqlitestore.Migrations) with the host's migration tool, or leave WithAutoMigrate on",
			ErrSchemaVersion, strings.Join(missing, ", "), s.prefix)
	}
	return s.migrate(ctx, ms)
}

// appliedMigrations reads the versions and names recorded in schema_migrations (none when the
// table does not exist yet).
func (s *Store) appliedMigrations(ctx context.Context) (map[int]string, error) {
	q := s.reader()
	var n int
	if err := q.QueryRowContext(ctx, s.sql(migrationsTableExistsSQL)).Scan(&n); err != nil {
		return nil, fmt.Errorf("sqlitestore: read schema_migrations: %w", err)
	}
	out := map[int]string{}
	if n == 0 {
		return out, nil
	}
	rows, err := q.QueryContext(ctx, s.sql(appliedMigrationsSQL))
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: read schema_migrations: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var v int
		var name string
		if err := rows.Scan(&v, &name); err != nil {
			return nil, fmt.Errorf("sqlitestore: read schema_migrations: %w", err)
		}
		out[v] = name
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlitestore: read schema_migrations: %w", err)
	}
	return out, nil
}

// migrate applies every migration of ms not yet recorded in schema_migrations, each in its own
// immediate transaction, so two processes opening the file at once apply each exactly once. It
// runs each migration's SQL exactly as Migrations gives it to a host's tool.
func (s *Store) migrate(ctx context.Context, ms []Migration) error {
	err := s.w.tx(ctx, func(q querier) error {
		_, err := q.ExecContext(ctx, s.sql(createMigrationsSQL))
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlitestore: create schema_migrations: %w", err)
	}
	for _, m := range ms {
		applied := false
		err := s.w.tx(ctx, func(q querier) error {
			var n int
			if err := q.QueryRowContext(ctx, s.sql(migrationAppliedSQL), m.Version).Scan(&n); err != nil {
				return fmt.Errorf("sqlitestore: read schema_migrations: %w", err)
			}
			if n > 0 {
				return nil
			}
			// Multi-statement SQL runs on the connection itself: a prepared statement holds one.
			if _, err := execScript(ctx, q, m.SQL); err != nil {
				return fmt.Errorf("sqlitestore: apply migration %s: %w", m.Name, err)
			}
			applied = true
			return nil
		})
		if err != nil {
			return err
		}
		if applied {
			s.log.InfoContext(ctx, "sqlitestore: applied migration", "version", m.Version, "name", m.Name, "prefix", s.prefix)
		}
	}
	return nil
}

// execScript runs SQL of several statements: on Open's writer past its statement cache, on any
// other querier as it is.
func execScript(ctx context.Context, q querier, script string) (sql.Result, error) {
	if wq, ok := q.(writerQ); ok {
		return wq.w.conn.ExecContext(ctx, script)
	}
	return q.ExecContext(ctx, script)
}

// SchemaVersion returns the newest migration applied to the database (0 when none).
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	var v int
	if err := s.reader().QueryRowContext(ctx, s.sql(schemaVersionSQL)).Scan(&v); err != nil {
		return 0, fmt.Errorf("sqlitestore: schema version: %w", err)
	}
	return v, nil
}
