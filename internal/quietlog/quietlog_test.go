package quietlog

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
)

// TestDefaultDropsBelowWarn: INFO and DEBUG are dropped, WARN and ERROR reach the default
// logger's handler, attributes and groups included. Not parallel: it sets slog's default.
func TestDefaultDropsBelowWarn(t *testing.T) {
	var buf bytes.Buffer
	old := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})))
	t.Cleanup(func() { slog.SetDefault(old) })
	log := Default().With("school", "s1").WithGroup("g")
	log.Debug("hidden debug")
	log.Info("hidden info")
	log.Warn("shown warn", "k", 1)
	log.Error("shown error")
	out := buf.String()
	if strings.Contains(out, "hidden") || !strings.Contains(out, "shown warn") || !strings.Contains(out, "shown error") || !strings.Contains(out, "school=s1 g.k=1") {
		t.Errorf("logged:\n%s", out)
	}
}
