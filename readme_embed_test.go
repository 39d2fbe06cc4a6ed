package hubsync_test

import (
	"context"
	"database/sql"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hubsync/hubsync"
	"github.com/hubsync/hubsync/store/sqlitestore"
)

// The Go of README.md's "Embedding it" section is the code between the two README markers below,
// so it compiles as written; TestREADMEEmbeddingCompiles fails when the two drift apart.

// README:begin

// embed runs hubsync inside the host: its tables beside the host's own (prefixed "hubsync_") in
// the host's *sql.DB, no second pool. pgstore.New(ctx, pool) does the same over a *pgxpool.Pool,
// and store.WithTx then takes a pgx.Tx.
func embed(ctx context.Context, db *sql.DB, lms hubsync.Learners, app hubsync.HubSpotApp, mux *http.ServeMux) (*sqlitestore.Store, *hubsync.Engine, error) {
	store, err := sqlitestore.New(ctx, db)
	if err != nil {
		return nil, nil, err
	}
	eng, err := hubsync.New(hubsync.Config{
		Store: store, Queue: store,
		Learners: lms, // your backend over your tables, or learnworlds.NewLearners(...)
		HubSpot:  app, // ClientID, ClientSecret, RedirectURL
	})
	if err != nil {
		return nil, nil, err
	}
	go eng.Run(ctx) // the workers
	mux.Handle("/hubspot/webhooks", eng.HubSpotWebhooks(hubsync.WebhookOptions{PublicURL: "https://lms.example.com/hubspot/webhooks"}))
	return store, eng, nil
}

// renameLearner is the host's own update and its sync job in one transaction: a rollback
// queues nothing, and once Commit returns a crash loses nothing.
func renameLearner(ctx context.Context, db *sql.DB, store *sqlitestore.Store, eng *hubsync.Engine,
	school hubsync.SchoolID, l hubsync.Learner) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback() // does nothing once committed
	if _, err := tx.ExecContext(ctx, `UPDATE learners SET first_name = ? WHERE id = ?`, l.Values["first_name"], l.ID); err != nil {
		return err
	}
	if err := eng.LearnerChangedTx(ctx, store.WithTx(tx), school, l); err != nil {
		return err // eng.RecordTx(ctx, store.WithTx(tx), school, activity) queues an activity
	}
	return tx.Commit()
}

// connectAndConfigure is a settings screen's side: connect, save settings, sync, show status.
func connectAndConfigure(ctx context.Context, eng *hubsync.Engine, school hubsync.SchoolID, code, state string) error {
	authorize, err := eng.AuthorizeURL(school) // send the admin there; HubSpot calls back with code, state
	if err != nil {
		return err
	}
	_ = authorize
	if _, err := eng.CompleteConnect(ctx, school, code, state); err != nil {
		return err
	}
	report, err := eng.SaveSettings(ctx, school, hubsync.Settings{Mappings: []hubsync.Mapping{
		{LMSField: "first_name", HubSpotProperty: "firstname"},
	}})
	if err != nil {
		return err
	}
	_ = report.Warning // set when rows are invalid: they are skipped, the others sync
	if err := eng.Record(ctx, school, hubsync.Activity{Kind: hubsync.EventEnrolled,
		Email: "ada@example.com", Subject: "Course 101", At: time.Now()}); err != nil {
		return err
	}
	if _, err := eng.StartManualSync(ctx, school, ""); err != nil { // eng.ManualSync, eng.CancelManualSync
		return err
	}
	status, err := eng.Status(ctx, school) // what a settings screen shows
	_ = status
	return err
}

// README:end

var (
	_ = embed
	_ = renameLearner
	_ = connectAndConfigure
)

func TestREADMEEmbeddingCompiles(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	self, err := os.ReadFile("readme_embed_test.go")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(readme), "\n## Embedding it\n")
	if !ok {
		t.Fatal(`README.md has no "## Embedding it" section`)
	}
	section, _, _ = strings.Cut(section, "\n## ")
	var blocks []string
	for _, m := range regexp.MustCompile("(?s)```go\n(.*?)```").FindAllStringSubmatch(section, -1) {
		blocks = append(blocks, strings.TrimSpace(m[1]))
	}
	_, code, _ := strings.Cut(string(self), "// README:begin\n")
	code, _, _ = strings.Cut(code, "// README:end")
	if got, want := strings.Join(blocks, "\n\n"), strings.TrimSpace(code); got != want {
		t.Errorf("README.md's Embedding it Go blocks differ from the code of readme_embed_test.go (copy it there as is):\n--- README\n%s\n--- code\n%s", got, want)
	}
}
