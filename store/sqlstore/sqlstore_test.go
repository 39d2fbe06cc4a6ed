package sqlstore_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hubsync/hubsync"
	"github.com/hubsync/hubsync/store/sqlstore"
	"github.com/hubsync/hubsync/store/storetest"
)

// memFactory is a sqlstore.Store over a fresh memDriver: the conformance suite run through the
// seam with a driver that holds no logic of its own beyond the Executor contract.
func memFactory(t testing.TB, cfg storetest.Config) (hubsync.Store, hubsync.Queue) {
	s, _ := newMemStore(cfg)
	return s, s
}

func newMemStore(cfg storetest.Config) (*sqlstore.Store, memDriver) {
	d := newMemDriver()
	c := sqlstore.Config{Sealer: cfg.Sealer, MaxAttempts: cfg.MaxAttempts}
	if cfg.Clock != nil {
		c.Clock = cfg.Clock
	}
	return sqlstore.New(d, c), d
}

// TestConformance: a driver written from the Executor's contract passes storetest.Run.
func TestConformance(t *testing.T) {
	storetest.Run(t, memFactory)
	storetest.RunSealing(t, func(t testing.TB, cfg storetest.Config) (hubsync.Store, hubsync.Queue) {
		s, d := newMemStore(cfg)
		rawsMu.Lock()
		defer rawsMu.Unlock()
		raws[s] = d
		return s, s
	}, func(t testing.TB, s hubsync.Store) string {
		rawsMu.Lock()
		d := raws[s.(*sqlstore.Store)]
		rawsMu.Unlock()
		var b strings.Builder
		for _, c := range d.raw() {
			fmt.Fprintf(&b, "%+v\n", c)
		}
		for _, c := range d.rawLMS() {
			fmt.Fprintf(&b, "%+v\n", c)
		}
		return b.String()
	})
}

// raws maps each sealing store to its driver (the suite's factory and raw reader are separate
// functions).
var (
	rawsMu sync.Mutex
	raws   = map[*sqlstore.Store]memDriver{}
)

// failing is a memDriver whose SettingsGet fails with err, and which calls errRefused refusing.
type failing struct {
	memDriver
	err error
}

var errRefused = errors.New("disk full")

func (d failing) Executor() sqlstore.Executor {
	return failingExec{d.memDriver.Executor().(*memExec), d.err}
}
func (d failing) Refusing(err error) bool { return errors.Is(err, errRefused) }

type failingExec struct {
	*memExec
	err error
}

func (x failingExec) SettingsGet(context.Context, string) ([]byte, error) { return nil, x.err }

// TestErrors: the Store's one translation of a driver's errors: prefixed with the driver's name,
// saying what was being done, the cause kept, ErrNotFound kept, and a refusal matching
// hubsync.ErrUnavailable; bad arguments never reach the driver.
func TestErrors(t *testing.T) {
	ctx := t.Context()
	for _, c := range []struct {
		err         error
		unavailable bool
	}{
		{hubsync.ErrNotFound, false},
		{errRefused, true},
		{fmt.Errorf("wrapped: %w", errRefused), true},
		{errors.New("syntax error"), false},
	} {
		s := sqlstore.New(failing{newMemDriver(), c.err}, sqlstore.Config{})
		_, err := s.GetSettings(ctx, "a")
		if !errors.Is(err, c.err) || errors.Is(err, hubsync.ErrUnavailable) != c.unavailable ||
			!strings.HasPrefix(err.Error(), `memstore: reading settings of school "a": `) {
			t.Errorf("driver error %v: GetSettings error %v; want it kept, prefixed, unavailable %v", c.err, err, c.unavailable)
		}
	}
	s, _ := newMemStore(storetest.Config{})
	for name, err := range map[string]error{
		"PutSettings":   s.PutSettings(ctx, "", hubsync.Settings{}),
		"PutConnection": s.PutConnection(ctx, hubsync.Connection{Token: hubsync.Token{AccessToken: "tok-secret"}}),
		"PutSyncState":  s.PutSyncState(ctx, hubsync.SyncState{School: "a", Email: "  "}),
		"PutCheckpoint": s.PutCheckpoint(ctx, hubsync.Checkpoint{School: "a"}),
		"AppendSyncLog": s.AppendSyncLog(ctx, hubsync.SyncLogEntry{Email: "jane@example.com"}),
		"Enqueue":       s.Enqueue(ctx, hubsync.JobSpec{School: "a"}),
		"Dequeue":       func() error { _, err := s.Dequeue(ctx, hubsync.DequeueOptions{Max: -1}); return err }(),
		"ClaimOnce":     func() error { _, err := s.ClaimOnce(ctx, "a", "", "occ"); return err }(),
		"MarkWebhook":   func() error { _, err := s.MarkWebhookSeen(ctx, "hubspot", "", time.Time{}); return err }(),
	} {
		if !errors.Is(err, hubsync.ErrInvalidValue) || !strings.HasPrefix(err.Error(), "memstore: ") ||
			strings.Contains(err.Error(), "tok-secret") || strings.Contains(err.Error(), "jane@") {
			t.Errorf("%s: err = %v; want a memstore error wrapping ErrInvalidValue, no token or email", name, err)
		}
	}
	if names, _ := s.ListSchools(ctx); len(names) != 0 {
		t.Errorf("bad input reached the driver: schools %v", names)
	}
}
