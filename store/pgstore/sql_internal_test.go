package pgstore

import (
	"regexp"
	"strings"
	"testing"
)

// TestStatementsNameTheSchema checks, without a database, that no registered statement names one
// of the store's tables or sequences without the schema marker: unqualified, it would run against
// whatever the connection's search_path finds (a host's own table of that name, say). The names
// come from the migrations, so a new table is checked too. The conformance suite over a host pool
// (TestConformanceHostPool) checks the same by running every statement.
func TestStatementsNameTheSchema(t *testing.T) {
	files, err := loadMigrations()
	if err != nil {
		t.Fatal(err)
	}
	created := regexp.MustCompile(`CREATE (?:TABLE|SEQUENCE) IF NOT EXISTS \{schema\}\.([a-z_]+)`)
	names := []string{"schema_migrations"} // created by migrationSQL, around every file
	for _, f := range files {
		for _, m := range created.FindAllStringSubmatch(f.sql, -1) {
			names = append(names, m[1])
		}
		if bare := regexp.MustCompile(`(?m)^\s*CREATE (TABLE|SEQUENCE) [a-z_]`).FindString(f.sql); bare != "" {
			t.Errorf("migration %s creates an object without the schema marker: %q", f.name, bare)
		}
	}
	if len(names) < 10 {
		t.Fatalf("found only %d tables and sequences in the migrations: %v", len(names), names)
	}
	alt := strings.Join(names, "|")
	unqualified := regexp.MustCompile(`(?i)\b(?:FROM|INTO|UPDATE|JOIN|TABLE)\s+(` + alt + `)\b|nextval\('(` + alt + `)'\)`)
	for i, tmpl := range stmtTemplates {
		if m := unqualified.FindString(tmpl); m != "" {
			t.Errorf("statement %d names %q without the schema marker:\n%s", i, m, tmpl)
		}
	}
	if got := statements("hubsync")[appliedSQL]; !strings.Contains(got, `FROM "hubsync".schema_migrations`) {
		t.Errorf("the statements for schema hubsync read %q", got)
	}
}
