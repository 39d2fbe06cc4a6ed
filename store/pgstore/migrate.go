package pgstore

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migration is one version of the store's schema, as plain SQL for one schema name, so a host can
// apply it with its own migration tool (see Migrations).
type Migration struct {
	// Version orders the migrations: 1, 2, 3... Each is applied once, after those before it.
	Version int
	// Name is the migration's title, such as "init": a file name for a tool is the version and
	// the name, as fmt.Sprintf("%04d_%s.up.sql", m.Version, m.Name) for golang-migrate.
	Name string
	// SQL is the migration's statements, for one transaction. It creates the schema and its
	// schema_migrations table when missing and records its version there, so the store knows
	// what ran whichever tool ran it, and it is idempotent: running it again changes nothing.
	SQL string
}

// ErrSchemaVersion is wrapped by the error of Open and New when the schema's recorded migrations
// are not the ones this package has: with WithAutoMigrate(false), some are missing (apply them);
// with or without it, the schema records versions this package does not know (a newer hubsync
// migrated it, and this older one refuses to work on it).
var ErrSchemaVersion = errors.New("pgstore: the schema's migrations do not match this pgstore")

// migrationLockClass is the first key of the two-key advisory lock that serialises migrations; the
// second is hashtext(schema), so stores in different schemas migrate independently.
const migrationLockClass = 0x68756273 // "hubs"

// migrationSQL wraps a migration file's statements: it takes the migration lock (held until the
// transaction ends, so a tool's run and Open's never interleave), creates the schema and the
// migration record when missing, and records the version. Placeholders: the schema's quoted name
// is {schema}; %[1]s is the schema's bare name, %[2]d the version, %[3]s the file name, %[4]s the
// file's statements, %[5]d migrationLockClass.
const migrationSQL = `-- hubsync pgstore migration %[3]s for schema %[1]s. Run it in one transaction.
SELECT pg_advisory_xact_lock(%[5]d, hashtext('%[1]s'));
CREATE SCHEMA IF NOT EXISTS {schema};
CREATE TABLE IF NOT EXISTS {schema}.schema_migrations (
    version    integer PRIMARY KEY,
    name       text NOT NULL,
    applied_at timestamptz NOT NULL
);

%[4]s
INSERT INTO {schema}.schema_migrations (version, name, applied_at) VALUES (%[2]d, '%[3]s', now())
    ON CONFLICT (version) DO NOTHING;
`

// Migrations returns the store's migrations for schema, in version order: the SQL Open and New
// apply (unless WithAutoMigrate(false)), for a host that runs them with its own tool
// (golang-migrate, goose, atlas, psql --single-transaction) instead. Apply each in one
// transaction, in order, then start the store with WithAutoMigrate(false), which checks that
// they all ran. schema must be a name WithSchema accepts; Migrations fails with an error naming
// it otherwise.
func Migrations(schema string) ([]Migration, error) {
	if err := checkSchemaName("Migrations", schema); err != nil {
		return nil, err
	}
	files, err := loadMigrations()
	if err != nil {
		return nil, err
	}
	out := make([]Migration, len(files))
	for i, f := range files {
		body := strings.TrimRight(f.sql, "\n") + "\n"
		out[i] = Migration{Version: f.version, Name: f.title,
			SQL: qualify(fmt.Sprintf(migrationSQL, schema, f.version, f.name, body, migrationLockClass), schema)}
	}
	return out, nil
}

// migrationFile is one embedded schema version.
type migrationFile struct {
	version int
	name    string // the file's name, NNNN_title.sql, as schema_migrations records it
	title   string
	sql     string // a template: schemaMarker stands for the schema
}

// loadMigrations reads the embedded files, named NNNN_title.sql, in version order.
func loadMigrations() ([]migrationFile, error) {
	entries, err := fs.ReadDir(migrationFiles, "migrations")
	if err != nil {
		return nil, fmt.Errorf("pgstore: reading embedded migrations: %w", err)
	}
	var ms []migrationFile
	for _, e := range entries {
		name := e.Name()
		num, rest, ok := strings.Cut(name, "_")
		title, isSQL := strings.CutSuffix(rest, ".sql")
		v, err := strconv.Atoi(num)
		if !ok || !isSQL || title == "" || err != nil || v <= 0 {
			return nil, fmt.Errorf("pgstore: embedded migration %q is not named NNNN_title.sql", name)
		}
		b, err := migrationFiles.ReadFile("migrations/" + name)
		if err != nil {
			return nil, fmt.Errorf("pgstore: reading embedded migration %q: %w", name, err)
		}
		ms = append(ms, migrationFile{version: v, name: name, title: title, sql: string(b)})
	}
	slices.SortFunc(ms, func(a, b migrationFile) int { return a.version - b.version })
	for i := 1; i < len(ms); i++ {
		if ms[i].version == ms[i-1].version {
			return nil, fmt.Errorf("pgstore: embedded migrations %q and %q share version %d", ms[i-1].name, ms[i].name, ms[i].version)
		}
	}
	return ms, nil
}

// prepareSchema migrates the schema or, with WithAutoMigrate(false), checks it.
func (s *Store) prepareSchema(ctx context.Context) error {
	if s.cfg.autoMigrate {
		return s.migrate(ctx)
	}
	return s.checkSchema(ctx)
}

// migrate applies every migration not yet recorded, all in one transaction under the migration
// lock, so instances starting together apply each version exactly once and none sees a
// half-migrated schema. When every version is recorded it runs no DDL, so a role without the
// right to create schemas or tables can start a migrated store.
func (s *Store) migrate(ctx context.Context) error {
	ms, err := Migrations(s.cfg.schema)
	if err != nil {
		return err
	}
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1, hashtext($2))`, migrationLockClass, s.cfg.schema); err != nil {
			return fmt.Errorf("pgstore: taking the migration lock: %w", err)
		}
		applied, err := s.appliedVersions(ctx, tx)
		if err != nil {
			return err
		}
		// A newer hubsync migrated the schema: this one refuses it, as checkSchema does, rather
		// than read and write data in a shape it does not know (sqlitestore does the same).
		if _, unknown := versionGaps(ms, applied); len(unknown) > 0 {
			return fmt.Errorf("%w: schema %q records migration versions %s, which this pgstore does not know: a newer hubsync migrated the database, and this one refuses to run on it (run the newer one)",
				ErrSchemaVersion, s.cfg.schema, joinInts(unknown))
		}
		for _, m := range ms {
			if slices.Contains(applied, m.Version) {
				continue
			}
			if _, err := tx.Exec(ctx, m.SQL); err != nil {
				return fmt.Errorf("pgstore: applying migration %04d_%s to schema %q: %w", m.Version, m.Name, s.cfg.schema, err)
			}
			s.cfg.logger.InfoContext(ctx, "pgstore: applied migration", "schema", s.cfg.schema, "version", m.Version, "migration", m.Name)
		}
		return nil
	})
}

// checkSchema fails with an error wrapping ErrSchemaVersion when the schema's recorded versions
// are not exactly this package's migrations.
func (s *Store) checkSchema(ctx context.Context) error {
	ms, err := Migrations(s.cfg.schema)
	if err != nil {
		return err
	}
	applied, err := s.appliedVersions(ctx, s.db)
	if err != nil {
		return err
	}
	missing, unknown := versionGaps(ms, applied)
	var problems []string
	if len(unknown) > 0 {
		problems = append(problems, fmt.Sprintf("it records migration versions %s, which this pgstore does not know: a newer hubsync migrated the database, and this one refuses to run on a schema it does not know (run the newer one)", joinInts(unknown)))
	}
	if len(missing) > 0 {
		var names []string
		for _, m := range ms {
			if slices.Contains(missing, m.Version) {
				names = append(names, fmt.Sprintf("%04d_%s", m.Version, m.Name))
			}
		}
		problems = append(problems, fmt.Sprintf("migration versions %s (%s) are not applied: apply pgstore.Migrations(%q) with the migration tool, or start with WithAutoMigrate(true)",
			joinInts(missing), strings.Join(names, ", "), s.cfg.schema))
	}
	if len(problems) > 0 {
		return fmt.Errorf("%w: schema %q: %s", ErrSchemaVersion, s.cfg.schema, strings.Join(problems, "; and "))
	}
	return nil
}

// versionGaps returns the versions of ms not in applied (missing) and those of applied not in ms
// (unknown), each in increasing order.
func versionGaps(ms []Migration, applied []int) (missing, unknown []int) {
	known := make([]int, len(ms))
	for i, m := range ms {
		known[i] = m.Version
		if !slices.Contains(applied, m.Version) {
			missing = append(missing, m.Version)
		}
	}
	for _, v := range applied {
		if !slices.Contains(known, v) {
			unknown = append(unknown, v)
		}
	}
	return missing, unknown
}

func joinInts(vs []int) string {
	s := make([]string, len(vs))
	for i, v := range vs {
		s[i] = strconv.Itoa(v)
	}
	return strings.Join(s, ", ")
}

var (
	migrationsTableSQL = sqlStmt(`SELECT to_regclass('{schema}.schema_migrations') IS NOT NULL`)
	appliedSQL         = sqlStmt(`SELECT version FROM {schema}.schema_migrations ORDER BY version`)
)

// appliedVersions returns the versions recorded in the schema's schema_migrations, in increasing
// order; none when the table or the schema does not exist.
func (s *Store) appliedVersions(ctx context.Context, db dbtx) ([]int, error) {
	var exists bool
	if err := db.QueryRow(ctx, s.sql(migrationsTableSQL)).Scan(&exists); err != nil {
		return nil, interpretError(fmt.Sprintf("reading the migrations of schema %q", s.cfg.schema), err)
	}
	if !exists {
		return nil, nil
	}
	rows, err := db.Query(ctx, s.sql(appliedSQL))
	if err != nil {
		return nil, interpretError(fmt.Sprintf("reading the migrations of schema %q", s.cfg.schema), err)
	}
	vs, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil {
		return nil, interpretError(fmt.Sprintf("reading the migrations of schema %q", s.cfg.schema), err)
	}
	out := make([]int, len(vs))
	for i, v := range vs {
		out[i] = int(v)
	}
	return out, nil
}

// SchemaVersion returns the highest migration version recorded in the store's schema, 0 when
// none is. A health check compares it with the last Version of Migrations: Open and New left it
// there (or refused to start), so a higher one means a newer hubsync migrated the schema since. It fails on a database error.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	vs, err := s.appliedVersions(ctx, s.db)
	if err != nil || len(vs) == 0 {
		return 0, err
	}
	return vs[len(vs)-1], nil
}
