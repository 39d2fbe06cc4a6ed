package sqlitestore

import (
	"fmt"
	"regexp"
	"strings"
	"sync"
)

// This file holds the table prefix (WithTablePrefix) and how the store's SQL gets it. Every
// statement is written once, as a template naming each table and index {p}name, and registered
// at package initialisation with sqlText; the first store of a prefix builds the prefixed text of
// every template, once, into a slice shared by all stores of that prefix, and a statement is then
// s.sql(id): an index into that slice, no string built per call. With the prefix "" (Open's
// default) the statements name the tables the files of earlier versions have, and Open's writer
// and readers still prepare each statement once (their caches are keyed by the text).
//
// The prefix is how hubsync's tables share the host's database file with the host's own (see
// New). A separate file ATTACHed to the host's connections would keep the names apart too, but
// is not offered: in WAL mode SQLite does not make a transaction that writes to several attached
// files atomic across them (each file commits on its own), so a host's write and hubsync's job
// could commit one without the other after a crash, which is what the transactional outbox
// (WithTx) exists to rule out.

// sqlID names one registered SQL template.
type sqlID int

// sqlTemplates are the registered templates, indexed by sqlID; only appended to while the
// package initialises.
var sqlTemplates []string

// sqlText registers a template of SQL whose tables and indexes are written {p}name and returns
// its id. Call it only from package-level variable declarations.
func sqlText(template string) sqlID {
	sqlTemplates = append(sqlTemplates, template)
	return sqlID(len(sqlTemplates) - 1)
}

// prefixed returns template with the prefix p in place of each {p}.
func prefixed(template, p string) string { return strings.ReplaceAll(template, "{p}", p) }

// texts holds, for each prefix in use, the prefixed text of every template, by sqlID.
var texts sync.Map // string -> []string

// textsFor returns the prefixed texts of prefix p, building them at p's first use.
func textsFor(p string) []string {
	if v, ok := texts.Load(p); ok {
		return v.([]string)
	}
	out := make([]string, len(sqlTemplates))
	for i, t := range sqlTemplates {
		out[i] = prefixed(t, p)
	}
	v, _ := texts.LoadOrStore(p, out)
	return v.([]string)
}

// sql returns the text of statement id for the store's prefix.
func (s *Store) sql(id sqlID) string { return s.texts[id] }

// PrefixDefault is New's table prefix: the hubsync tables of a host's database file are named
// hubsync_settings, hubsync_jobs and so on. Open's default prefix is "" (the names of the files
// it made before prefixes existed).
const PrefixDefault = "hubsync_"

var prefixPattern = regexp.MustCompile(`^[a-z_][a-z0-9_]*$`)

// validatePrefix checks a table prefix (its error says what is wrong, for the caller to prefix): empty, or a lower-case letter or underscore followed by
// lower-case letters, digits and underscores, and not "sqlite_..." (SQLite reserves those names).
func validatePrefix(p string) error {
	switch {
	case p == "":
		return nil
	case !prefixPattern.MatchString(p):
		return fmt.Errorf("table prefix %q is not empty or [a-z_][a-z0-9_]* (lower-case letters, digits and underscores, not starting with a digit)", p)
	case strings.HasPrefix(p, "sqlite_"):
		return fmt.Errorf("table prefix %q starts with sqlite_, which SQLite reserves for its own tables", p)
	}
	return nil
}
