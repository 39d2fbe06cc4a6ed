package storetest

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hubsync/hubsync"
)

var concurrencyCases = []testCase{
	{"ClaimOnceRace", testClaimOnceRace},
	{"WebhookSeenRace", testWebhookRace},
	{"ForgetRace", testForgetRace},
	{"ConnectionGenerationRace", testConnectionGenerationRace},
	{"DequeueRace", testDequeueRace},
	{"WorkersExactlyOnce", testWorkers},
	{"HeartbeatAgainstDequeuers", testHeartbeatRace},
}

const racers = 16

func testClaimOnceRace(t *testing.T, x fixture) {
	for round := range 5 {
		key := fmt.Sprintf("signed_up:l%d@example.com", round)
		owners := make([]string, racers)
		errs := make([]error, racers)
		raceN(racers, func(i int) {
			owners[i], errs[i] = x.s.ClaimOnce(x.ctx, "a", key, fmt.Sprintf("occ-%d", i))
		})
		for i := range racers {
			must(t, "ClaimOnce", errs[i])
			if owners[i] != owners[0] {
				t.Fatalf("racing ClaimOnce callers saw owners %q and %q; want one winner", owners[0], owners[i])
			}
		}
		if !strings.HasPrefix(owners[0], "occ-") {
			t.Fatalf("owner %q is none of the racing occurrences", owners[0])
		}
	}
}

func testWebhookRace(t *testing.T, x fixture) {
	for round := range 5 {
		var firsts atomic.Int32
		errs := make([]error, racers)
		raceN(racers, func(i int) {
			first, err := x.s.MarkWebhookSeen(x.ctx, "hubspot", fmt.Sprintf("evt-%d", round), epoch)
			errs[i] = err
			if first {
				firsts.Add(1)
			}
		})
		for _, err := range errs {
			must(t, "MarkWebhookSeen", err)
		}
		if n := firsts.Load(); n != 1 {
			t.Fatalf("%d racing MarkWebhookSeen callers got first=true, want exactly 1", n)
		}
	}
}

// testConnectionGenerationRace: racing PutConnections each get a generation of their own, so
// after n of them the school's generation has risen by at least n, and the connection stored is
// one of theirs.
func testConnectionGenerationRace(t *testing.T, x fixture) {
	must(t, "PutConnection", x.s.PutConnection(x.ctx, hubsync.Connection{School: "a", Active: true}))
	g0 := generation(t, x, "a")
	errs := make([]error, racers)
	raceN(racers, func(i int) {
		if i%4 == 3 {
			errs[i] = x.s.DeleteConnection(x.ctx, "a")
			return
		}
		errs[i] = x.s.PutConnection(x.ctx, hubsync.Connection{School: "a", Active: true, Token: hubsync.Token{AccessToken: fmt.Sprint("at-", i)}})
	})
	for _, err := range errs {
		must(t, "racing PutConnection or DeleteConnection", err)
	}
	must(t, "PutConnection after the race", x.s.PutConnection(x.ctx, hubsync.Connection{School: "a", Active: true, Token: hubsync.Token{AccessToken: "last"}}))
	c, err := x.s.GetConnection(x.ctx, "a")
	must(t, "GetConnection", err)
	if c.Generation < g0+racers+1 {
		t.Fatalf("after %d racing puts and deletes and one more put the generation is %d, up from %d; want at least %d (each write its own generation)",
			racers, c.Generation, g0, g0+racers+1)
	}
	mustEqual(t, "connection stored last", c.Token.AccessToken, "last")
}

func testDequeueRace(t *testing.T, x fixture) {
	const n = 60
	var specs []hubsync.JobSpec
	for i := range n {
		specs = append(specs, hubsync.JobSpec{School: hubsync.SchoolID(fmt.Sprintf("s%d", i%3)), Kind: "push", Key: fmt.Sprint(i), Payload: []byte(fmt.Sprint(i))})
	}
	enqueue(t, x, specs...)
	var mu sync.Mutex
	leased := map[int64]int{}
	errs := make([]error, racers)
	raceN(racers, func(i int) {
		for {
			jobs, err := x.q.Dequeue(x.ctx, hubsync.DequeueOptions{Worker: fmt.Sprint("w", i), Max: 2, Lease: lease})
			if err != nil {
				errs[i] = err
				return
			}
			if len(jobs) == 0 {
				return
			}
			mu.Lock()
			for _, j := range jobs {
				leased[j.ID]++
			}
			mu.Unlock()
		}
	})
	for _, err := range errs {
		must(t, "racing Dequeue", err)
	}
	if len(leased) != n {
		t.Fatalf("racing workers leased %d distinct jobs, want %d", len(leased), n)
	}
	for id, c := range leased {
		if c != 1 {
			t.Fatalf("job %d was leased %d times at once", id, c)
		}
	}
}

// testWorkers runs producers and workers at once: every change of every key is enqueued while
// workers dequeue and ack. It checks that no job runs twice, no two jobs of one key are leased at
// once, one key's jobs run in enqueue order, and each key's latest state is delivered.
func testWorkers(t *testing.T, x fixture) {
	const (
		schools   = 2
		keys      = 10 // per school
		changes   = 8  // per key
		producers = 2
		workers   = 6
	)
	type keyID struct {
		school hubsync.SchoolID
		key    string
	}
	var (
		mu        sync.Mutex
		inFlight  = map[keyID]bool{}
		lastSeq   = map[keyID]int{}
		seenIDs   = map[string]bool{} // payloads
		failures  []string
		inWorkers atomic.Int32
		produced  = make(chan struct{})
		wake      = make(chan struct{}, 1)
	)
	fail := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		if len(failures) < 10 {
			failures = append(failures, fmt.Sprintf(format, args...))
		}
	}
	var prodWG sync.WaitGroup
	for p := range producers {
		prodWG.Add(1)
		go func() {
			defer prodWG.Done()
			for seq := 1; seq <= changes; seq++ {
				for s := range schools {
					for k := p; k < keys; k += producers { // each key has one producer: its seqs rise
						school := hubsync.SchoolID(fmt.Sprintf("s%d", s))
						spec := hubsync.JobSpec{School: school, Kind: "push", Key: fmt.Sprintf("k%d", k),
							Payload: []byte(strconv.Itoa(seq)), Priority: hubsync.Priority(k % 2)}
						if err := x.q.Enqueue(x.ctx, spec); err != nil {
							fail("Enqueue: %v", err)
							return
						}
						select {
						case wake <- struct{}{}:
						default:
						}
					}
				}
			}
		}()
	}
	go func() { prodWG.Wait(); close(produced) }()

	var (
		workWG     sync.WaitGroup
		runs, acks atomic.Int64
		finished   = make(chan struct{})
		finish     sync.Once
	)
	for w := range workers {
		workWG.Add(1)
		go func() {
			defer workWG.Done()
			for {
				prodDone := false
				select {
				case <-produced:
					prodDone = true
				default:
				}
				a0 := acks.Load()
				inWorkers.Add(1)
				jobs, err := x.q.Dequeue(x.ctx, hubsync.DequeueOptions{Worker: fmt.Sprint("w", w), Max: 4, Lease: time.Hour})
				if err != nil {
					inWorkers.Add(-1)
					fail("Dequeue: %v", err)
					finish.Do(func() { close(finished) })
					return
				}
				if len(jobs) == 0 {
					// Drained when every change was enqueued before this Dequeue began, no other
					// worker holds a job, and no Ack landed meanwhile that could unblock a key.
					// When an Ack did land, look again at once rather than wait: the wake-up it
					// sent may have gone to another worker. Only a worker that saw another one
					// busy waits, and the last to go idle never does, so nobody waits forever.
					if n := inWorkers.Add(-1); prodDone && n == 0 {
						if acks.Load() == a0 {
							finish.Do(func() { close(finished) })
							return
						}
						continue
					}
					prodCh := produced
					if prodDone {
						prodCh = nil
					}
					select {
					case <-wake:
					case <-prodCh:
					case <-finished:
						return
					}
					continue
				}
				for _, j := range jobs {
					id := keyID{j.School, j.Key}
					seq, _ := strconv.Atoi(string(j.Payload))
					mu.Lock()
					if inFlight[id] {
						failures = append(failures, fmt.Sprintf("two jobs of %v leased at once", id))
					}
					inFlight[id] = true
					pay := fmt.Sprintf("%v/%d", id, seq)
					if seenIDs[pay] {
						failures = append(failures, fmt.Sprintf("%s ran twice", pay))
					}
					seenIDs[pay] = true
					if seq <= lastSeq[id] {
						failures = append(failures, fmt.Sprintf("%v ran change %d after %d", id, seq, lastSeq[id]))
					}
					lastSeq[id] = seq
					mu.Unlock()
				}
				for _, j := range jobs {
					mu.Lock()
					delete(inFlight, keyID{j.School, j.Key})
					mu.Unlock()
					if err := x.q.Ack(x.ctx, j); err != nil {
						fail("Ack: %v", err)
					}
					runs.Add(1)
				}
				acks.Add(1)
				inWorkers.Add(-1)
				select {
				case wake <- struct{}{}:
				default:
				}
			}
		}()
	}
	workWG.Wait()
	if len(failures) > 0 {
		t.Fatalf("%d problems, first: %s", len(failures), strings.Join(failures, "; "))
	}
	for s := range schools {
		for k := range keys {
			id := keyID{hubsync.SchoolID(fmt.Sprintf("s%d", s)), fmt.Sprintf("k%d", k)}
			if lastSeq[id] != changes {
				t.Fatalf("%v: the last change delivered was %d, want %d (the latest state)", id, lastSeq[id], changes)
			}
		}
		stats(t, x, hubsync.SchoolID(fmt.Sprintf("s%d", s)), hubsync.QueueStats{})
	}
	t.Logf("%d enqueues ran as %d jobs", schools*keys*changes, runs.Load())
}

// testHeartbeatRace: one worker renews its lease of a key's job while others keep trying to
// dequeue the key; never do two hold it. While the heartbeats come before the lease ends, nobody
// else gets the job (nor the key's next one). Once they come late, a racer may take the job
// over, and from then on the old holder's Extend reports it lost: an Extend that began after a
// racer's Dequeue returned the job never succeeds.
func testHeartbeatRace(t *testing.T, x fixture) {
	const (
		dequeuers = 4
		onTime    = 30 // heartbeats 10 s apart under a 15 s lease
		late      = 30 // at most this many heartbeats 20 s apart
	)
	enqueue(t, x, live("a", "k", "held"))
	holder := dequeueShort(t, x, "holder", 1, 1)[0]
	enqueue(t, x, live("a", "k", "next"))

	var (
		mu       sync.Mutex
		failures []string
		taken    atomic.Bool
		takeover hubsync.Job
		lateOn   = make(chan struct{}) // closed when heartbeats start coming late
		done     = make(chan struct{}) // closed when the heartbeats stopped
	)
	fail := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		if len(failures) < 10 {
			failures = append(failures, fmt.Sprintf(format, args...))
		}
	}
	var wg sync.WaitGroup
	for w := range dequeuers {
		wg.Go(func() {
			for !taken.Load() {
				jobs, err := x.q.Dequeue(x.ctx, hubsync.DequeueOptions{Worker: fmt.Sprint("racer", w), Max: 10, Lease: heartbeat})
				if err != nil {
					fail("racer %d: Dequeue: %v", w, err)
					return
				}
				if len(jobs) == 0 {
					continue
				}
				select {
				case <-lateOn:
				default:
					// Every heartbeat until this Dequeue returned came before the lease ended.
					fail("racer %d leased %d jobs (first %q) while the holder's heartbeats were on time", w, len(jobs), jobs[0].Payload)
				}
				if len(jobs) != 1 || jobs[0].ID != holder.ID {
					fail("racer %d leased %d jobs (first %q), want the held job alone", w, len(jobs), jobs[0].Payload)
				}
				if !taken.CompareAndSwap(false, true) {
					fail("racer %d took over the job after another racer had", w)
					return
				}
				mu.Lock()
				takeover = jobs[0]
				mu.Unlock()
				return
			}
		})
	}
	heartbeatOnce := func(step time.Duration) (lost bool) {
		x.clk.Advance(step)
		takenBefore := taken.Load()
		got, err := x.q.Extend(x.ctx, []hubsync.Job{holder}, x.clk.Now().Add(heartbeat))
		if err != nil {
			fail("holder: Extend: %v", err)
			return true
		}
		if len(got) == 0 && takenBefore {
			fail("holder's Extend succeeded after a racer had taken the job over")
		}
		return len(got) > 0
	}
	wg.Go(func() {
		defer close(done)
		for i := range onTime {
			if heartbeatOnce(10 * time.Second) {
				fail("holder: heartbeat %d, on time, reported the job lost", i)
				close(lateOn)
				return
			}
		}
		close(lateOn)
		for i := range late {
			if heartbeatOnce(20 * time.Second) {
				t.Logf("the job was taken over at late heartbeat %d", i)
				return
			}
		}
		// The racers never won a race: stop heartbeating and let them take the job over.
		t.Logf("no racer won against %d late heartbeats", late)
		x.clk.Advance(20 * time.Second)
	})
	wg.Wait()
	<-done
	if len(failures) > 0 {
		t.Fatalf("%d problems, first: %s", len(failures), strings.Join(failures, "; "))
	}
	if !taken.Load() {
		t.Fatal("no racer took the job over once the heartbeats stopped")
	}
	mustEqual(t, "lost to the old holder after the takeover", extend(t, x, []hubsync.Job{holder}, x.clk.Now().Add(heartbeat)), []int64{holder.ID})
	if err := x.q.Ack(x.ctx, holder); !errors.Is(err, hubsync.ErrLeaseLost) {
		t.Fatalf("old holder's Ack after the takeover: err = %v, want hubsync.ErrLeaseLost", err)
	}
	mustEqual(t, "the new holder's heartbeat", extend(t, x, []hubsync.Job{takeover}, x.clk.Now().Add(heartbeat)), []int64(nil))
	must(t, "new holder's Ack", x.q.Ack(x.ctx, takeover))
	next := dequeueShort(t, x, "w", 10, 1)[0]
	mustEqual(t, "the key's next job", string(next.Payload), "next")
}
