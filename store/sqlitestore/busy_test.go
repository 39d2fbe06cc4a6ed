package sqlitestore_test

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/hubsync/hubsync"
	"github.com/hubsync/hubsync/store/sqlitestore"
)

// busyTimeout is the short busy timeout of these tests.
const busyTimeout = 100 * time.Millisecond

// lockFile takes the file's write lock on a connection of its own (another process's, as far as
// the store can tell) and returns the function that lets it go.
func lockFile(t *testing.T, path string) (release func()) {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	conn, err := db.Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(t.Context(), "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	release = func() {
		once.Do(func() {
			if _, err := conn.ExecContext(context.Background(), "COMMIT"); err != nil {
				t.Error(err)
			}
			conn.Close()
		})
	}
	t.Cleanup(release)
	return release
}

var busyJob = hubsync.JobSpec{School: "s", Kind: "k", Priority: hubsync.PriorityLive}

// TestBusyPastTheTimeoutFailsEveryQueuedWrite: while another connection holds the file's write
// lock, every write of the store fails with ErrBusy, also those queued behind each other in this
// process, and none is done; once the lock is let go, writes go through. A write queued behind
// others used to wait for each of them to wait out its own busy timeout, and then for the lock:
// the audit's 9.4 s for a lock held 8 s with a busy timeout of 5 s.
func TestBusyPastTheTimeoutFailsEveryQueuedWrite(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "busy.db")
	s, err := sqlitestore.Open(ctx, path, sqlitestore.WithBusyTimeout(busyTimeout), sqlitestore.WithSynchronous(sqlitestore.SyncNormal))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	release := lockFile(t, path)
	errs := make(chan error, 4)
	for range cap(errs) {
		go func() { errs <- s.Enqueue(ctx, busyJob) }()
	}
	for range cap(errs) {
		if err := <-errs; !errors.Is(err, sqlitestore.ErrBusy) || !errors.Is(err, hubsync.ErrUnavailable) {
			t.Errorf("a write while the file is locked: %v, want ErrBusy, matching hubsync.ErrUnavailable", err)
		}
	}
	release()
	if err := s.Enqueue(ctx, busyJob); err != nil {
		t.Fatalf("a write after the lock is let go: %v", err)
	}
	if st, err := s.Stats(ctx, "s"); err != nil || st.Ready != 1 {
		t.Fatalf("stats = %+v, %v; want the one job written after the lock", st, err)
	}
}

// TestBusyTimeoutBoundsTheWaitForThisProcessWrites: a write waits at most the busy timeout for a
// transaction of the same store, too. Before, it waited for as long as that transaction ran (here
// for ever: the transaction ends only once the write has returned).
func TestBusyTimeoutBoundsTheWaitForThisProcessWrites(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s, err := sqlitestore.Open(ctx, filepath.Join(t.TempDir(), "busy.db"), sqlitestore.WithBusyTimeout(busyTimeout), sqlitestore.WithSynchronous(sqlitestore.SyncNormal))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	inTx, outside := make(chan struct{}), make(chan error, 1)
	go func() {
		<-inTx
		outside <- s.Enqueue(ctx, busyJob)
	}()
	err = s.RunInTx(ctx, func(ctx context.Context, st hubsync.Store, q hubsync.Queue) error {
		close(inTx)
		select {
		case err := <-outside:
			outside <- err
		case <-time.After(time.Minute): // a guard against the old behaviour, not a timing check
			t.Error("a write waited a minute for another transaction of the store, past the busy timeout")
		}
		return q.Enqueue(ctx, busyJob)
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := <-outside; !errors.Is(err, sqlitestore.ErrBusy) {
		t.Fatalf("the write outside the transaction: %v, want ErrBusy", err)
	}
	if st, err := s.Stats(ctx, "s"); err != nil || st.Ready != 1 {
		t.Fatalf("stats = %+v, %v; want only the transaction's job", st, err)
	}
}
