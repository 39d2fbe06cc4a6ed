package main

import (
	"testing"
	"time"

	"github.com/hubsync/hubsync/hubspot/hubspottest"
	"github.com/hubsync/hubsync/learnworlds/learnworldstest"
)

// BenchmarkSyncRealLimits runs "hubsync sync" over 5,000 learners with the fakes at the real
// services' limits (HubSpot 110 requests / 10 s, LearnWorlds 30 / 10 s) and the command's default
// budgets, and reports learners per second. It takes about half a minute; run it on demand:
//
//	go test -run '^$' -bench BenchmarkSyncRealLimits -benchtime 1x ./cmd/hubsync
func BenchmarkSyncRealLimits(b *testing.B) {
	for range b.N {
		b.StopTimer()
		f := &fixture{
			hs:  hubspottest.NewServer(hubspottest.WithRateLimit(110, 10*time.Second)),
			lw:  learnworldstest.NewServer(learnworldstest.WithRateLimit(30, 10*time.Second)),
			dir: b.TempDir(),
		}
		f.db = f.dir + "/hubsync.db"
		seedSchool(b, f.lw, learnerCount)
		f.connect(b)
		if r := f.run(b, "settings", "apply", "-f", f.writeFile(b, "settings.json", settingsFile)); r.code != 0 {
			b.Fatalf("settings apply: exit %d\n%s", r.code, r.stderr)
		}
		b.StartTimer()
		start := time.Now()
		r := f.run(b, "sync")
		b.StopTimer()
		if r.code != 0 {
			b.Fatalf("sync: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
		}
		b.ReportMetric(float64(learnerCount)/time.Since(start).Seconds(), "learners/s")
		f.hs.Close()
		f.lw.Close()
	}
}
