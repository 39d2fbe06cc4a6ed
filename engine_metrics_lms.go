package hubsync

import (
	"context"
	"time"
)

// countedLearners is Config.Learners counting each call that reaches the LMS in hubsync.requests
// (service "lms"), by outcome (see lmsStatus). Catalog, which learnworlds answers without a
// request, is not counted. New wraps Config.Learners in it only when a MeterProvider is given.
type countedLearners struct {
	Learners
	m *metrics
}

// countedChangedLearners keeps the optional ChangedLearners of the wrapped Learners visible.
type countedChangedLearners struct {
	countedLearners
	changed ChangedLearners
}

// countLearners wraps l; a ChangedLearners stays one.
func countLearners(l Learners, m *metrics) Learners {
	c := countedLearners{Learners: l, m: m}
	if cl, ok := l.(ChangedLearners); ok {
		return countedChangedLearners{countedLearners: c, changed: cl}
	}
	return c
}

func (c countedLearners) count(ctx context.Context, err error) {
	c.m.request(ctx, svcLMS, lmsStatus(err))
}

func (c countedLearners) GetByEmail(ctx context.Context, school SchoolID, email string) (Learner, error) {
	l, err := c.Learners.GetByEmail(ctx, school, email)
	c.count(ctx, err)
	return l, err
}

func (c countedLearners) ListPage(ctx context.Context, school SchoolID, cursor string) (LearnerPage, error) {
	p, err := c.Learners.ListPage(ctx, school, cursor)
	c.count(ctx, err)
	return p, err
}

func (c countedLearners) Update(ctx context.Context, school SchoolID, id string, values map[string]any) (Learner, error) {
	l, err := c.Learners.Update(ctx, school, id, values)
	c.count(ctx, err)
	return l, err
}

func (c countedLearners) Create(ctx context.Context, school SchoolID, nl NewLearner) (Learner, error) {
	l, err := c.Learners.Create(ctx, school, nl)
	c.count(ctx, err)
	return l, err
}

func (c countedLearners) AddTags(ctx context.Context, school SchoolID, id string, tags []string) error {
	err := c.Learners.AddTags(ctx, school, id, tags)
	c.count(ctx, err)
	return err
}

// ChangedSince counts an iteration that ends in an error once, and one that completes as ok.
func (c countedChangedLearners) ChangedSince(ctx context.Context, school SchoolID, since time.Time) func(yield func(Learner, error) bool) {
	seq := c.changed.ChangedSince(ctx, school, since)
	return func(yield func(Learner, error) bool) {
		var last error
		seq(func(l Learner, err error) bool {
			last = err
			return yield(l, err)
		})
		c.count(ctx, last)
	}
}
