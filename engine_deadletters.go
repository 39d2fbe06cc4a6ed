package hubsync

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
)

// Dead letters: the jobs the queue gave up on (retried to death, or killed for a permanent
// error), listed masked, replayed or discarded by an operator. A replayed job runs through the
// same handlers as any job: a once-only timeline event asks the store's once-ledger again, so a
// replay never sends one twice (a report that lost the ledger to another is skipped; the one that
// owns it is sent again with its deterministic event id, which HubSpot takes as already
// delivered).

// DeadLetter is a dead-lettered job as an operator sees it: emails masked everywhere.
type DeadLetter struct {
	ID   int64   `json:"id"`
	Kind JobKind `json:"kind"`
	// Key, LastError and Payload have every email address masked (MaskEmail).
	Key        string          `json:"key"`
	Attempts   int             `json:"attempts"`
	LastError  string          `json:"last_error"`
	EnqueuedAt time.Time       `json:"enqueued_at"`
	Payload    json.RawMessage `json:"payload,omitempty"`
}

// DeadFilter picks dead letters for ReplayDead and DiscardDead. Set exactly one of ID, All or
// Reason; Kind narrows All and Reason further.
type DeadFilter struct {
	// ID picks one dead letter.
	ID int64
	// All picks every dead letter of the school.
	All bool
	// Reason picks those whose last error contains it (case-insensitive).
	Reason string
	// Kind, when set, keeps only dead letters of that kind.
	Kind JobKind
}

func (f DeadFilter) validate() error {
	n := 0
	for _, set := range []bool{f.ID != 0, f.All, f.Reason != ""} {
		if set {
			n++
		}
	}
	if n != 1 {
		return fmt.Errorf("%w: dead letter filter: set exactly one of ID, All and Reason", ErrInvalidValue)
	}
	return nil
}

func (f DeadFilter) match(j Job) bool {
	return (f.Kind == "" || j.Kind == f.Kind) &&
		(f.All || (f.ID != 0 && j.ID == f.ID) ||
			(f.Reason != "" && strings.Contains(strings.ToLower(j.LastError), strings.ToLower(f.Reason))))
}

// DeadLetters lists the school's dead letters, oldest death first, masked.
func (e *Engine) DeadLetters(ctx context.Context, school SchoolID) ([]DeadLetter, error) {
	jobs, err := e.cfg.Queue.DeadLetters(ctx, school)
	if err != nil {
		return nil, err
	}
	out := make([]DeadLetter, len(jobs))
	for i, j := range jobs {
		out[i] = deadLetter(j)
	}
	return out, nil
}

// DeadLetter returns one of the school's dead letters, masked; ErrNotFound when the school has
// no dead job with that id.
func (e *Engine) DeadLetter(ctx context.Context, school SchoolID, id int64) (DeadLetter, error) {
	jobs, err := e.pickDead(ctx, school, DeadFilter{ID: id})
	if err != nil {
		return DeadLetter{}, err
	}
	return deadLetter(jobs[0]), nil
}

// ReplayDead moves the school's dead letters f picks back to the queue, ready now with their
// attempts reset, wakes the workers, and returns how many went back. An ID the school has no dead
// job for is ErrNotFound; a filter setting none or several of ID, All and Reason is
// ErrInvalidValue.
func (e *Engine) ReplayDead(ctx context.Context, school SchoolID, f DeadFilter) (int, error) {
	n, err := e.eachDead(ctx, school, f, e.cfg.Queue.Replay)
	if n > 0 {
		e.log.Info("hubsync: dead letters replayed", "school", school, "jobs", n)
		e.notify()
	}
	return n, err
}

// DiscardDead deletes for good the school's dead letters f picks and returns how many went;
// errors as ReplayDead.
func (e *Engine) DiscardDead(ctx context.Context, school SchoolID, f DeadFilter) (int, error) {
	n, err := e.eachDead(ctx, school, f, e.cfg.Queue.Discard)
	if n > 0 {
		e.log.Info("hubsync: dead letters discarded", "school", school, "jobs", n)
	}
	return n, err
}

func (e *Engine) eachDead(ctx context.Context, school SchoolID, f DeadFilter, do func(context.Context, int64) error) (int, error) {
	jobs, err := e.pickDead(ctx, school, f)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, j := range jobs {
		switch err := do(ctx, j.ID); {
		case errors.Is(err, ErrNotFound):
			// replayed or discarded meanwhile by someone else
		case err != nil:
			return n, err
		default:
			n++
		}
	}
	return n, nil
}

// pickDead returns the school's dead jobs f picks; ErrNotFound for an ID it has no dead job for.
func (e *Engine) pickDead(ctx context.Context, school SchoolID, f DeadFilter) ([]Job, error) {
	if err := f.validate(); err != nil {
		return nil, err
	}
	jobs, err := e.cfg.Queue.DeadLetters(ctx, school)
	if err != nil {
		return nil, err
	}
	var out []Job
	for _, j := range jobs {
		if f.match(j) {
			out = append(out, j)
		}
	}
	if f.ID != 0 && len(out) == 0 {
		return nil, fmt.Errorf("hubsync: dead letter %d of %s: %w", f.ID, school, ErrNotFound)
	}
	return out, nil
}

func deadLetter(j Job) DeadLetter {
	d := DeadLetter{ID: j.ID, Kind: j.Kind, Key: MaskEmails(j.Key), Attempts: j.Attempts,
		LastError: MaskEmails(j.LastError), EnqueuedAt: j.EnqueuedAt}
	if len(j.Payload) > 0 {
		d.Payload = maskPayload(j.Payload)
	}
	return d
}

// maskPayload masks every email in a JSON payload; a payload that is not JSON is shown as a JSON
// string, masked.
func maskPayload(b []byte) json.RawMessage {
	var v any
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		s, _ := json.Marshal(MaskEmails(string(b)))
		return s
	}
	out, err := json.Marshal(maskAny(v))
	if err != nil {
		s, _ := json.Marshal(MaskEmails(string(b)))
		return s
	}
	return out
}

func maskAny(v any) any {
	switch x := v.(type) {
	case string:
		return MaskEmails(x)
	case []any:
		for i := range x {
			x[i] = maskAny(x[i])
		}
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, val := range x {
			out[MaskEmails(k)] = maskAny(val)
		}
		return out
	}
	return v
}

// emailPattern finds addresses in text; "|", braces and quotes end one, as they separate the
// parts of job keys and JSON.
var emailPattern = regexp.MustCompile(`[A-Za-z0-9!#$%&*+/=?^_~.-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+`)

// MaskEmails masks (MaskEmail) every email address in s: for text from outside, such as an error
// or a payload, that may hold some.
func MaskEmails(s string) string {
	if !strings.Contains(s, "@") {
		return s
	}
	return emailPattern.ReplaceAllStringFunc(s, MaskEmail)
}
