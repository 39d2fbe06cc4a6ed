package hubsync

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/hubsync/hubsync/hubspot"
)

// The failure policy: what the engine does with work after an error, decided in one place.
//
// judge maps an error to a verdict and does nothing else; finish applies the verdict to a batch's
// jobs (ack, retry, release or dead-letter, pausing the school, deactivating its connection).
// The rules, in the order judge applies them:
//
//   - no error: the jobs are done (ack), and the school's outage count resets;
//   - the engine is shutting down: the jobs go back at once, no attempt counted;
//   - a fresh token was just stored after a 401: the jobs go back at once, the school pauses 1 s;
//   - PermanentError (from a Learners implementation): dead-lettered at once, with its reason;
//   - the stored connection changed under this engine's client (another process disconnected,
//     reconnected or deactivated the school): the jobs go back at once, the school pauses 1 s,
//     and the next batch sees the stored connection;
//   - ErrConnectionLost, ErrNotConnected: the jobs are kept (released) and the school is skipped
//     for connectionRecheck, since another engine may reconnect it;
//   - hubspot.ErrConnectionRevoked (HubSpot refused the refresh token): as above, and the school
//     is deactivated and told once;
//   - *hubspot.RateLimitError: the jobs go back, no attempt counted, and the school pauses until
//     the portal's window reopens (capped at RetryAfterMax); *RetryAfterError (an LMS asking to
//     wait): the same for the batch's lane only;
//   - a HubSpot 401 on an access token that had not expired: one refresh tells an expired token
//     from a revoked one, and its outcome is judged again;
//   - the service is unavailable (HubSpot 5xx or no answer, a dropped connection, a timeout,
//     anything matching ErrUnavailable, as learnworlds.APIError does for 429 and 5xx): the jobs go
//     back without counting an attempt and the batch's lane of the school pauses with a backoff
//     that grows with the lane's consecutive outages, so an outage of either API, of any length,
//     dead-letters nothing, and an LMS outage never holds back live HubSpot work;
//   - anything else is a problem with the work: retried with a growing backoff, counting an
//     attempt, and dead-lettered by the queue after its maximum attempts.

// connectionRecheck is how long a worker skips a school whose connection is lost or missing
// before it looks again (another engine may have reconnected it, as "hubsync connect" does while
// "hubsync serve" runs): a few seconds, so a reconnected school resumes at once, for the price of
// one dequeue and one connection read per school and recheck while it stays disconnected.
const connectionRecheck = 5 * time.Second

// unsealRecheck is how long a school whose stored tokens cannot be opened waits before it is
// looked at again (a restart with the right key is the usual fix, so this can be long).
const unsealRecheck = time.Minute

// action is what happens to a job.
type action int

const (
	actAck     action = iota // done
	actRetry                 // run again after the job's backoff, counting an attempt
	actRelease               // run again at verdict.runAt, no attempt counted
	actKill                  // dead-letter now
)

func (a action) String() string {
	return [...]string{"ack", "retry", "release", "kill"}[a]
}

// verdict is what to do with a batch's jobs after an error.
type verdict struct {
	act action
	// runAt is when released jobs run again (actRelease). Retried jobs use backoff(attempts).
	runAt time.Time
	// pauseUntil, when set, makes workers skip the batch's lane of the school until then, or the
	// whole school when whole is set (HubSpot's budget or the connection, which every lane uses).
	pauseUntil time.Time
	whole      bool
	// outage: the failure is an unavailable service; the school's outage count grows.
	outage bool
	// deactivate: the connection is lost; deactivate the school and tell it once.
	deactivate bool
	// recheck: a 401; refresh the token once and judge the outcome again.
	recheck bool
}

// failureInput is what judge knows besides the error.
type failureInput struct {
	now        time.Time
	outages    int // the school's consecutive outages before this one
	maxBackoff time.Duration
	stopping   bool // the run is shutting down
	rechecked  bool // the error is the outcome of a 401's recheck
}

// judge maps err to a verdict. It is pure.
func judge(err error, in failureInput) verdict {
	now := in.now
	var (
		rn *retryNow
		pe *PermanentError
		rl *hubspot.RateLimitError
		ra *RetryAfterError
		ae *hubspot.APIError
	)
	switch {
	case err == nil:
		return verdict{act: actAck}
	case in.stopping:
		return verdict{act: actRelease, runAt: now}
	case errors.As(err, &rn):
		// A HubSpot that refuses every fresh token must not spin the worker.
		return verdict{act: actRelease, runAt: now, pauseUntil: now.Add(time.Second), whole: true}
	case errors.As(err, &pe):
		return verdict{act: actKill}
	case errors.Is(err, errConnectionChanged):
		// The client is stale; the next batch rebuilds it from the store (checkConnection).
		return verdict{act: actRelease, runAt: now, pauseUntil: now.Add(time.Second), whole: true}
	case errors.Is(err, ErrUnseal):
		// The school's tokens cannot be opened (its key was not given to this process): nothing
		// of its work can run until an operator gives the key; wait without counting attempts.
		return verdict{act: actRelease, runAt: now, pauseUntil: now.Add(unsealRecheck), whole: true}
	case errors.Is(err, ErrConnectionLost), errors.Is(err, ErrNotConnected):
		return verdict{act: actRelease, runAt: now, pauseUntil: now.Add(connectionRecheck), whole: true}
	case errors.Is(err, hubspot.ErrConnectionRevoked):
		return verdict{act: actRelease, runAt: now, pauseUntil: now.Add(connectionRecheck), whole: true, deactivate: true}
	case errors.As(err, &rl):
		until := now.Add(capWait(rl.RetryAfter))
		return verdict{act: actRelease, runAt: until, pauseUntil: until, whole: true}
	case errors.As(err, &ra):
		until := now.Add(capWait(ra.Delay))
		return verdict{act: actRelease, runAt: until, pauseUntil: until}
	case errors.As(err, &ae) && ae.StatusCode == http.StatusUnauthorized && !in.rechecked:
		return verdict{act: actRelease, runAt: now, recheck: true}
	case unavailable(err):
		until := now.Add(backoff(in.outages, in.maxBackoff))
		return verdict{act: actRelease, runAt: until, pauseUntil: until, outage: true}
	}
	return verdict{act: actRetry}
}

// capWait bounds a wait asked for from outside to [0, RetryAfterMax].
func capWait(d time.Duration) time.Duration { return min(max(d, 0), RetryAfterMax) }

// unavailable reports whether err means a service or the network cannot take work now, as
// opposed to a problem with the work itself.
func unavailable(err error) bool {
	var ae *hubspot.APIError
	if errors.As(err, &ae) {
		return ae.StatusCode >= 500 || ae.StatusCode == 0
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return true
	}
	return errors.Is(err, ErrUnavailable) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) ||
		errors.Is(err, context.DeadlineExceeded)
}

// backoff is the wait before try n+1 of failing work: 1 s doubling, capped at max.
func backoff(n int, max time.Duration) time.Duration {
	d := time.Second
	for i := 0; i < n && d < max; i++ {
		d *= 2
	}
	return min(d, max)
}

// finish applies the failure policy to a batch of one school's jobs after err, with a context
// that outlives a cancelled run so leased work is always given back.
func (e *Engine) finish(ctx context.Context, jobs []Job, err error) {
	if len(jobs) == 0 {
		return
	}
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	school := jobs[0].School
	v := e.judgeBatch(fctx, school, laneOf(jobs[0].Kind), err, ctx.Err() != nil)
	if v.deactivate {
		e.connectionLost(fctx, school, err)
	}
	switch {
	case v.outage:
		e.log.Warn("hubsync: a service is unavailable; pausing the school", "school", school, "until", v.pauseUntil, "err", err)
	case v.act == actRetry:
		// A failure of the work or of the store (busy, full, a write refused midway): said once
		// per batch, or it would be silent until the jobs are dead-lettered.
		e.log.Warn("hubsync: a batch failed; its jobs are retried", "school", school, "jobs", len(jobs), "err", err)
	case v.act == actKill:
		e.log.Warn("hubsync: a batch failed for good; its jobs are dead-lettered", "school", school, "jobs", len(jobs), "err", err)
	}
	l := laneOf(jobs[0].Kind)
	switch {
	case v.pauseUntil.IsZero():
	case v.whole:
		e.schools.pause(school, v.pauseUntil)
	default:
		e.schools.pauseLane(school, l, v.pauseUntil)
	}
	if err == nil {
		e.schools.recovered(school, l)
	}
	now := e.clk.Now()
	e.metrics.finished(ctx, jobs, v.act, now)
	switch v.act {
	case actAck:
		if e.finishMany(fctx, jobs, "ack", e.cfg.Queue.AckMany) {
			return
		}
	case actRelease:
		release := func(ctx context.Context, jobs []Job) ([]int64, error) {
			return e.cfg.Queue.ReleaseMany(ctx, jobs, v.runAt)
		}
		if e.finishMany(fctx, jobs, "release", release) {
			return
		}
	}
	for _, j := range jobs {
		var ferr error
		switch v.act {
		case actAck:
			ferr = e.cfg.Queue.Ack(fctx, j)
		case actRelease:
			ferr = e.cfg.Queue.Release(fctx, j, v.runAt)
		case actKill:
			ferr = e.cfg.Queue.Kill(fctx, j, err.Error())
		default:
			ferr = e.cfg.Queue.Retry(fctx, j, now.Add(backoff(j.Attempts, e.cfg.MaxBackoff)), err.Error())
		}
		if ferr != nil && !errors.Is(ferr, ErrLeaseLost) {
			e.log.Error("hubsync: could not finish job", "school", j.School, "job", j.ID, "action", v.act, "err", ferr)
		}
	}
}

// finishMany finishes a batch's jobs with one call of the queue's batched op (AckMany or
// ReleaseMany): one write, one commit, instead of one per job. A job whose lease was lost is
// left to its new holder, as when the single-job op fails with ErrLeaseLost. It reports false
// when the call failed (nothing was finished), and the caller then finishes the jobs one by one.
func (e *Engine) finishMany(ctx context.Context, jobs []Job, action string, op func(context.Context, []Job) ([]int64, error)) bool {
	if _, err := op(ctx, jobs); err != nil {
		e.log.Warn("hubsync: could not finish a batch in one write; finishing its jobs one by one",
			"school", jobs[0].School, "jobs", len(jobs), "action", action, "err", err)
		return false
	}
	return true
}

// judgeBatch judges err for lane l of school, running the one recheck a 401 asks for, and counts an
// outage.
func (e *Engine) judgeBatch(ctx context.Context, school SchoolID, l lane, err error, stopping bool) verdict {
	in := failureInput{now: e.clk.Now(), outages: e.schools.outages(school, l), maxBackoff: e.cfg.MaxBackoff, stopping: stopping}
	v := judge(err, in)
	if v.recheck {
		in.rechecked = true
		v = judge(e.recheckToken(ctx, school, err), in)
	}
	if v.outage {
		e.schools.outage(school, l)
	}
	return v
}

// settle applies the connection side of the policy to an error met outside a job (a settings
// screen reading the schema): a 401 is rechecked, a refused refresh token deactivates the school.
// It returns the error the caller should see (wrapping ErrConnectionLost for a lost connection).
func (e *Engine) settle(ctx context.Context, school SchoolID, err error) error {
	if err == nil {
		return nil
	}
	in := failureInput{now: e.clk.Now(), maxBackoff: e.cfg.MaxBackoff}
	v := judge(err, in)
	if v.recheck {
		err = e.recheckToken(ctx, school, err)
		in.rechecked = true
		v = judge(err, in)
	}
	if v.deactivate {
		e.connectionLost(ctx, school, err)
		e.schools.pause(school, v.pauseUntil)
		return fmt.Errorf("%w: %w", ErrConnectionLost, err)
	}
	return err
}

// recheckToken handles a 401: HubSpot refused an access token that had not expired by our
// clock (revoked, or the app uninstalled). One refresh tells the two apart: refused, the
// connection is lost (the verdict deactivates the school); granted, the new token is stored and
// the work is retried at once without counting an attempt (retryNow). Any other outcome returns
// cause.
func (e *Engine) recheckToken(ctx context.Context, school SchoolID, cause error) error {
	conn, err := e.cfg.Store.GetConnection(ctx, school)
	if err != nil {
		return cause
	}
	tok, err := e.oauth.Refresh(ctx, conn.Token.RefreshToken)
	if errors.Is(err, hubspot.ErrConnectionRevoked) {
		e.schools.forgetClient(school, nil)
		return err
	}
	if err != nil {
		return cause
	}
	gen, err := e.persistToken(ctx, school, conn.Generation, tok)
	if err != nil {
		e.schools.forgetClient(school, nil) // rebuilt from the store next time
		return cause
	}
	if p := e.schools.client(school); p != nil {
		// The client keeps its rate limiter and takes the fresh token.
		refresh := tok.RefreshToken
		if refresh == "" {
			refresh = conn.Token.RefreshToken
		}
		conn.Token = Token{AccessToken: tok.AccessToken, RefreshToken: refresh, Expiry: tok.Expiry}
		p.tokens.swap(e.tokenSource(school, p, conn))
		p.setGeneration(gen)
	}
	return &retryNow{cause: cause}
}

// retryNow says a fresh token was stored: put the jobs back for an immediate retry without
// counting an attempt.
type retryNow struct{ cause error }

func (r *retryNow) Error() string { return "hubsync: retry with a fresh token: " + r.cause.Error() }
func (r *retryNow) Unwrap() error { return r.cause }

// schemaRefused reports whether HubSpot refused a record because of the property schema (a
// property that does not exist, or is read-only) rather than because of the record's values.
// PROPERTY_DOESNT_EXIST is documented; the code for a read-only property is not (the fake answers
// READ_ONLY_VALUE), so HubSpot's message is read too. A wrong guess costs one requeue: the engine
// requeues only when the fresh schema really makes a row invalid.
func schemaRefused(err error) bool {
	var ae *hubspot.APIError
	if !errors.As(err, &ae) {
		return false
	}
	codes := []string{ae.SubCategory}
	for _, d := range ae.Errors {
		codes = append(codes, d.Code, d.SubCategory)
	}
	for _, c := range codes {
		switch c {
		case "PROPERTY_DOESNT_EXIST", "READ_ONLY_VALUE":
			return true
		}
	}
	m := strings.ToLower(ae.Message)
	return strings.Contains(m, "does not exist") || strings.Contains(m, "read only") || strings.Contains(m, "read-only")
}
