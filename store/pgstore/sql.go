package pgstore

import (
	"strings"

	"github.com/jackc/pgx/v5"
)

// Every statement names the store's schema explicitly, so it runs the same on a connection of
// the host's pool, whatever that connection's search_path: a template writes schemaMarker before
// each table and sequence name, and is registered once (sqlStmt) at package initialisation. Open
// and New then replace the marker by the quoted schema in every template once (statements), and a
// call looks its text up by index (Store.sql): no string work per call, and one stable text per
// statement and schema, which is what pgx's statement cache is keyed by. Functions (unnest,
// pg_advisory_xact_lock...) and types are PostgreSQL's own, found in pg_catalog before any
// schema of the search_path.

// stmt is the index of a registered statement template.
type stmt int

// schemaMarker stands, in a template, for the store's quoted schema ("hubsync"): it is written
// before each table or sequence name, as in `SELECT ... FROM {schema}.jobs`, or inside a
// regclass literal, `nextval('{schema}.job_seq')`. Schema names are plain lower-case
// identifiers (see WithSchema), so the quoted name needs no escaping inside a string literal.
const schemaMarker = "{schema}"

// stmtTemplates holds the registered templates, indexed by stmt. It is only appended to during
// package initialisation.
var stmtTemplates []string

// sqlStmt registers a statement template and returns its index. Call it only from a package-level
// variable's initialiser.
func sqlStmt(template string) stmt {
	stmtTemplates = append(stmtTemplates, template)
	return stmt(len(stmtTemplates) - 1)
}

// qualify returns template with every schemaMarker replaced by the quoted schema.
func qualify(template, schema string) string {
	return strings.ReplaceAll(template, schemaMarker, pgx.Identifier{schema}.Sanitize())
}

// statements returns the text of every registered statement for schema, indexed by stmt.
func statements(schema string) []string {
	out := make([]string, len(stmtTemplates))
	for i, t := range stmtTemplates {
		out[i] = qualify(t, schema)
	}
	return out
}

// sql returns the text of statement id for the store's schema.
func (s *Store) sql(id stmt) string { return s.cfg.sql[id] }
