package learnworlds

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/hubsync/hubsync"
)

// Sink receives what a school's LearnWorlds webhooks say: *hubsync.Engine implements it.
type Sink interface {
	LearnerChanged(ctx context.Context, school hubsync.SchoolID, l hubsync.Learner) error
	Record(ctx context.Context, school hubsync.SchoolID, a hubsync.Activity) error
}

// TxSink is a Sink that can queue its work on a Queue of the caller's transaction (see
// hubsync.Transactor), so the work commits with the caller's writes: *hubsync.Engine implements
// it.
type TxSink interface {
	Sink
	LearnerChangedTx(ctx context.Context, q hubsync.Queue, school hubsync.SchoolID, l hubsync.Learner) error
	RecordTx(ctx context.Context, q hubsync.Queue, school hubsync.SchoolID, a hubsync.Activity) error
}

var _ TxSink = (*hubsync.Engine)(nil)

// Deduper remembers webhook deliveries: hubsync.Store implements it.
type Deduper interface {
	MarkWebhookSeen(ctx context.Context, source, eventID string, at time.Time) (first bool, err error)
}

// EngineWebhooks returns the handler for one school's LearnWorlds webhooks, for a school synced
// through the public API: it checks the signature (WebhookHandler), drops a delivery it has seen
// before (LearnWorlds sends no event id, so the dedupe key is the body's hash; a stale redelivery
// of an old profile must not overwrite a newer one), and feeds the engine:
//
//   - every event that carries a user reports the learner's state (LearnerChanged);
//   - userUpdated, which LearnWorlds sends for a registration and for a profile change alike,
//     records a sign-up, at the learner's creation time, only when it is a registration: the
//     learner was created within RegistrationWindow (and once per learner: the engine's ledger
//     keeps only the first). A profile change of an older learner, the echo of hubsync's own
//     write included, records none;
//   - productBought / paymentCreated record a purchase and a first purchase (again once per
//     learner by the ledger) and set the learner's last purchase date; enrolledFreeCourse an
//     enrolment; courseCompleted and learningProgramCompleted a completion; awardedCertificate a
//     certificate; subscriptionPaymentPlanBought / Canceled a subscription start / cancellation;
//     userTagAdded / userTagDeleted a tag change (LearnWorlds sends the full tag list, no delta,
//     so the event names the list after the change).
//
// The handler answers 200 only once the delivery's work is queued durably. The learner comes from
// the payload; the only LearnWorlds call is the payments read of School.LastPurchaseDate, for an
// event that carries no payment, made before anything is marked or queued. When dedupe is a
// hubsync.Transactor and sink a TxSink (the engine's Store, such as sqlitestore, pgstore or the
// in-memory store, and the *hubsync.Engine whose Queue is that store's), the delivery is marked
// seen and its work queued in one transaction: either both happen or neither, so when queueing
// fails the handler answers 500, nothing is remembered, and LearnWorlds' redelivery is taken as
// the first. Otherwise the work is queued first and the delivery marked after: nothing is lost
// either, but a redelivery cannot be recognised before its work is queued again, which the
// engine makes harmless for once-only events (its ledger) and unchanged values (only differing
// ones are sent), not for a stale profile replacing a newer one not yet sent. A delivery is never
// marked seen before its work is queued. When queueing fails the handler answers 500 and logs the
// dedupe key. A nil dedupe skips deduplication (the engine's occurrence ids still keep timeline
// events single); a nil log discards.
func (l *Learners) EngineWebhooks(school hubsync.SchoolID, v Verifier, sink Sink, dedupe Deduper, log *slog.Logger) http.Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return WebhookHandler(v, log, func(ctx context.Context, ev Event) error {
		w, err := l.work(ctx, school, ev)
		if err == nil {
			err = l.deliver(ctx, school, ev.DedupeKey, w, sink, dedupe)
		}
		if err != nil {
			log.Error("learnworlds: webhook not queued", "school", school, "type", ev.Type, "dedupe_key", ev.DedupeKey, "err", err)
			return err
		}
		return nil
	})
}

// RegistrationWindow is how recently a learner must have been created for a userUpdated webhook
// about it to count as its registration. LearnWorlds sends userUpdated when a learner registers
// and whenever a profile changes (the learner's edit, an admin's, the echo of hubsync's own
// write), and nothing in the payload but the learner's creation time tells a registration apart.
// A registration is delivered right away; the window leaves a day for redeliveries after a
// failure. A profile change of a learner created earlier records no sign-up, and one inside the
// window after the registration records none either, since the engine keeps one sign-up per
// learner.
const RegistrationWindow = 24 * time.Hour

// registered reports whether a userUpdated about a learner created at created, handled at now, is
// the learner's registration (see RegistrationWindow). A creation time ahead of now (clocks
// differ) counts; an unknown one does not.
func registered(created, now time.Time) bool {
	return !created.IsZero() && now.Sub(created) <= RegistrationWindow
}

// webhookWork is what one delivery tells the engine: the learner's state (nil for an event
// without a learner) and the activities to record.
type webhookWork struct {
	learner *hubsync.Learner
	acts    []hubsync.Activity
}

// send hands the work to sink. A repeatable event refused because the school's queue is full
// (hubsync.ErrQueueFull; the engine logs it and still queues the event's lifecycle stage) does not
// fail the delivery: failing it would roll back, or make LearnWorlds redeliver, the rest of the
// delivery, a once-only event included.
func (w webhookWork) send(ctx context.Context, school hubsync.SchoolID, sink Sink) error {
	if w.learner != nil {
		if err := sink.LearnerChanged(ctx, school, *w.learner); err != nil {
			return err
		}
	}
	for _, a := range w.acts {
		if err := sink.Record(ctx, school, a); err != nil && !errors.Is(err, hubsync.ErrQueueFull) {
			return err
		}
	}
	return nil
}

// txSink is a TxSink bound to one transaction's Queue.
type txSink struct {
	sink TxSink
	q    hubsync.Queue
}

func (t txSink) LearnerChanged(ctx context.Context, school hubsync.SchoolID, l hubsync.Learner) error {
	return t.sink.LearnerChangedTx(ctx, t.q, school, l)
}

func (t txSink) Record(ctx context.Context, school hubsync.SchoolID, a hubsync.Activity) error {
	return t.sink.RecordTx(ctx, t.q, school, a)
}

// deliver queues a delivery's work and marks it seen: in one transaction when dedupe and sink
// allow it, else the work first (see EngineWebhooks).
func (l *Learners) deliver(ctx context.Context, school hubsync.SchoolID, key string, w webhookWork, sink Sink, dedupe Deduper) error {
	if dedupe == nil {
		return w.send(ctx, school, sink)
	}
	now := time.Now()
	if s, err := l.school(school); err == nil {
		now = s.Client.clk.Now() // the school's injected clock
	}
	id := string(school) + "|" + key
	if tx, ok := dedupe.(hubsync.Transactor); ok {
		if ts, ok := sink.(TxSink); ok {
			return tx.RunInTx(ctx, func(ctx context.Context, s hubsync.Store, q hubsync.Queue) error {
				first, err := s.MarkWebhookSeen(ctx, "learnworlds", id, now)
				if err != nil || !first {
					return err
				}
				return w.send(ctx, school, txSink{sink: ts, q: q})
			})
		}
	}
	if err := w.send(ctx, school, sink); err != nil {
		return err
	}
	_, err := dedupe.MarkWebhookSeen(ctx, "learnworlds", id, now)
	return err
}

// work turns one event into what the engine is told. An event without a user's email (an unknown
// event without data.user) tells nothing; a lead is told as a learner without an id.
func (l *Learners) work(ctx context.Context, school hubsync.SchoolID, ev Event) (webhookWork, error) {
	if ev.User == nil || ev.User.Email == "" {
		return webhookWork{}, nil // no learner: nothing to sync
	}
	s, err := l.school(school)
	if err != nil {
		return webhookWork{}, err
	}
	var learner hubsync.Learner
	if ev.Payment != nil && (ev.Type == EventProductBought || ev.Type == EventPaymentCreated) && s.LastPurchaseDate {
		learner = s.convert(*ev.User)
		learner.Values["last_purchase_date"] = ev.Payment.When()
	} else {
		// With LastPurchaseDate the value is read (one call): a learner without it would have
		// the engine clear the date it sent before.
		if learner, err = s.learner(ctx, *ev.User); err != nil {
			return webhookWork{}, err
		}
	}
	at := s.Client.clk.Now().UTC()
	if ev.At > 0 && !math.IsInf(ev.At, 0) {
		sec, frac := math.Modf(ev.At)
		at = time.Unix(int64(sec), int64(frac*1e9)).UTC()
	}
	base := hubsync.Activity{Email: learner.Email, LearnerID: learner.ID, At: at, SourceID: ev.DedupeKey}
	var acts []hubsync.Activity
	add := func(k hubsync.EventKind, subject, subjectID string) {
		a := base
		a.Kind, a.Subject, a.SubjectID = k, subject, subjectID
		acts = append(acts, a)
	}
	switch ev.Type {
	case EventUserUpdated:
		if registered(learner.Created, s.Client.clk.Now()) {
			a := base
			a.Kind, a.At = hubsync.EventSignedUp, learner.Created
			acts = append(acts, a)
		}
	case EventProductBought, EventPaymentCreated:
		subject, id := "", ""
		if ev.Payment != nil {
			subject, id = ev.Payment.Product.Name, ev.Payment.Product.ID
		}
		add(hubsync.EventPurchaseMade, subject, id)
		add(hubsync.EventFirstPurchase, subject, id)
		if ev.Payment != nil {
			acts[len(acts)-2].Amount = ev.Payment.Price
			acts[len(acts)-1].Amount = ev.Payment.Price
		}
	case EventEnrolledFreeCourse:
		if ev.Course != nil {
			add(hubsync.EventEnrolled, ev.Course.Title, ev.Course.ID)
		}
	case EventCourseCompleted, EventLearningProgramCompleted:
		if ev.Course != nil {
			add(hubsync.EventCourseCompleted, ev.Course.Title, ev.Course.ID)
		}
	case EventAwardedCertificate:
		if ev.Certificate != nil {
			add(hubsync.EventCertificateAwarded, ev.Certificate.Title, ev.Certificate.ID)
		}
	case EventSubscriptionPaymentPlanBought:
		subject, id := "", ""
		if ev.Payment != nil {
			subject, id = ev.Payment.Product.Name, ev.Payment.Product.ID
		}
		add(hubsync.EventSubscriptionStarted, subject, id)
	case EventSubscriptionPaymentPlanCanceled:
		subject, id := "", ""
		if ev.Product != nil {
			subject, id = ev.Product.Title, ev.Product.ID
		}
		add(hubsync.EventSubscriptionCancelled, subject, id)
	case EventUserTagAdded, EventUserTagDeleted:
		tags := append([]string(nil), learner.Tags...)
		sort.Strings(tags)
		kind := hubsync.EventTagAdded
		if ev.Type == EventUserTagDeleted {
			kind = hubsync.EventTagRemoved
		}
		add(kind, strings.Join(tags, ", "), "")
	}
	return webhookWork{learner: &learner, acts: acts}, nil
}
