package sqlitestore_test

import (
	"maps"
	"path/filepath"
	"testing"

	"github.com/hubsync/hubsync/store/sqlitestore"
)

// TestSentMapsOlderFormats: sync states whose sent maps were stored as JSON (before format 1) or
// in format 1 read back as their maps, and the next write of each stores format 2 (version byte
// 0x02), which reads back the same.
func TestSentMapsOlderFormats(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	db := openHostDB(t, filepath.Join(t.TempDir(), "lms.db"))
	s, err := sqlitestore.New(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	format1 := string([]byte{0x01, 0x01, 5, 'e', 'm', 'a', 'i', 'l', 2, 'x', 9, 'f', 'i', 'r', 's', 't', 'n', 'a', 'm', 'e', 1, 0, 0, 0, 0, 0, 0, 0, 0, 0})
	if _, err := db.ExecContext(ctx, `INSERT INTO hubsync_sync_states (school, email, learner_id, contact_id,
		sent_to_hubspot, sent_to_lms, lifecycle_stage, updated_at) VALUES
		('a', 'json@example.com', 'l1', 'c1', '{"~":"1","email":"x","firstname":"AAAAAAAAAAAA"}', '', 'lead', 1),
		('a', 'v1@example.com', 'l2', 'c2', CAST(? AS BLOB), '', 'lead', 1)`, format1); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"~": "1", "email": "x", "firstname": "AAAAAAAAAAAA"}
	for _, email := range []string{"json@example.com", "v1@example.com"} {
		st, err := s.GetSyncState(ctx, "a", email)
		if err != nil {
			t.Fatal(err)
		}
		if !maps.Equal(st.SentToHubSpot, want) || st.SentToLMS != nil {
			t.Fatalf("%s: sent maps %v, %v; want %v and nil", email, st.SentToHubSpot, st.SentToLMS, want)
		}
		if err := s.PutSyncState(ctx, st); err != nil {
			t.Fatal(err)
		}
		var raw []byte
		if err := db.QueryRowContext(ctx, `SELECT sent_to_hubspot FROM hubsync_sync_states WHERE school = 'a' AND email = ?`, email).Scan(&raw); err != nil {
			t.Fatal(err)
		}
		if len(raw) == 0 || raw[0] != 0x02 {
			t.Fatalf("%s: stored again as %v, want format 2 (0x02 first)", email, raw)
		}
		back, err := s.GetSyncState(ctx, "a", email)
		if err != nil || !maps.Equal(back.SentToHubSpot, want) {
			t.Fatalf("%s: after the write: %v, %v; want %v", email, back.SentToHubSpot, err, want)
		}
	}
}
