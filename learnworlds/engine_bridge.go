package learnworlds

import (
	"context"
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
//   - userUpdated also records a sign-up (once per learner: the engine's ledger keeps only the
//     first, with the learner's creation time), since LearnWorlds sends the same event for a
//     registration and a profile change;
//   - productBought / paymentCreated record a purchase and a first purchase (again once per
//     learner by the ledger) and set the learner's last purchase date; enrolledFreeCourse an
//     enrolment; courseCompleted and learningProgramCompleted a completion; awardedCertificate a
//     certificate; subscriptionPaymentPlanBought / Canceled a subscription start / cancellation;
//     userTagAdded / userTagDeleted a tag change (LearnWorlds sends the full tag list, no delta,
//     so the event names the list after the change).
//
// The delivery is marked seen first; what follows only queues work locally (no LearnWorlds call:
// the learner comes from the payload), so a delivery marked seen is not lost to a failed call.
// When queueing fails the handler answers 500 and logs the dedupe key. A nil dedupe skips
// deduplication (the engine's occurrence ids still keep timeline events single); a nil log
// discards.
func (l *Learners) EngineWebhooks(school hubsync.SchoolID, v Verifier, sink Sink, dedupe Deduper, log *slog.Logger) http.Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return WebhookHandler(v, log, func(ctx context.Context, ev Event) error {
		if dedupe != nil {
			now := time.Now()
			if s, err := l.school(school); err == nil {
				now = s.Client.clk.Now() // the school's injected clock
			}
			first, err := dedupe.MarkWebhookSeen(ctx, "learnworlds", string(school)+"|"+ev.DedupeKey, now)
			if err != nil {
				return err
			}
			if !first {
				return nil
			}
		}
		if err := l.feed(ctx, school, ev, sink); err != nil {
			log.Error("learnworlds: webhook not queued", "school", school, "type", ev.Type, "dedupe_key", ev.DedupeKey, "err", err)
			return err
		}
		return nil
	})
}

// feed turns one event into engine calls.
func (l *Learners) feed(ctx context.Context, school hubsync.SchoolID, ev Event, sink Sink) error {
	if ev.User == nil || ev.User.Email == "" {
		return nil // leads and unknown events without a learner: nothing to sync
	}
	s, err := l.school(school)
	if err != nil {
		return err
	}
	u := *ev.User
	learner := hubsync.Learner{
		ID: u.ID, Email: u.Email, Username: u.Username, Values: learnerValues(u, s.idx),
		Tags: append([]string(nil), u.Tags...), Created: u.CreatedTime(),
		MarketingConsent: u.SubscribedForMarketingEmails != nil && *u.SubscribedForMarketingEmails,
	}
	if ev.Payment != nil && (ev.Type == EventProductBought || ev.Type == EventPaymentCreated) && s.LastPurchaseDate {
		learner.Values["last_purchase_date"] = ev.Payment.When()
	}
	if err := sink.LearnerChanged(ctx, school, learner); err != nil {
		return err
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
		a := base
		a.Kind = hubsync.EventSignedUp
		if !learner.Created.IsZero() {
			a.At = learner.Created
		}
		acts = append(acts, a)
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
	for _, a := range acts {
		if err := sink.Record(ctx, school, a); err != nil {
			return err
		}
	}
	return nil
}
