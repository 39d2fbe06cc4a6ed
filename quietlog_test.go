package hubsync_test

import (
	"bytes"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/hubsync/hubsync/store/sqlitestore"
)

// TestNoLoggerMeansWarnAndAbove: an engine and a SQLite store given no logger write no INFO
// line to the process's default logger (a migration applied, a school connected); a warning
// still reaches it. Not parallel: it replaces slog's default, before the parallel tests run.
func TestNoLoggerMeansWarnAndAbove(t *testing.T) {
	var buf syncBuf
	old := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})))
	t.Cleanup(func() { slog.SetDefault(old) })

	st, err := sqlitestore.Open(t.Context(), filepath.Join(t.TempDir(), "quiet.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	h := newHarness(t)
	cfg := h.config(h.store, h.lms)
	cfg.Logger = nil
	h.eng = h.engine(cfg)
	h.connect()
	if out := buf.String(); strings.Contains(out, "level=INFO") || strings.Contains(out, "level=DEBUG") {
		t.Errorf("INFO or DEBUG on the default logger:\n%s", out)
	}
	slog.Default().Warn("probe") // the default logger itself still takes everything
	if !strings.Contains(buf.String(), "probe") {
		t.Fatal("the default logger lost its output")
	}
}

// syncBuf is a bytes.Buffer safe for the engine's goroutines.
type syncBuf struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuf) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuf) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
