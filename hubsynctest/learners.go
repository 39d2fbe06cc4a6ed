package hubsynctest

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/hubsync/hubsync"
)

// Learners is an in-memory LMS: a hubsync.Learners the way a host's own backend implements it,
// for tests and demos. It keeps learners per school in insertion order, refuses writes to fields
// its catalog marks read-only (ErrReadOnly), and enforces unique emails and usernames on create
// (ErrConflict). The zero value is not usable; call NewLearners.
type Learners struct {
	mu       sync.Mutex
	schools  map[hubsync.SchoolID]*lmsSchool
	pageSize int
	nextID   int
	stats    LearnerStats
}

// LearnerStats counts the calls the engine made, so tests can check that nothing was written
// twice or needlessly.
type LearnerStats struct {
	Gets, Lists, Updates, Creates, TagWrites int
	// WelcomeEmails counts learners created with SendWelcomeEmail.
	WelcomeEmails int
}

type lmsSchool struct {
	catalog []hubsync.LearnerField
	order   []string                    // emails, in insertion order
	byEmail map[string]*hubsync.Learner // hubsync.FoldEmail(email) -> learner
}

// NewLearners returns an empty in-memory LMS whose pages hold pageSize learners (0 means 200,
// LearnWorlds' maximum).
func NewLearners(pageSize int) *Learners {
	if pageSize <= 0 {
		pageSize = 200
	}
	return &Learners{schools: map[hubsync.SchoolID]*lmsSchool{}, pageSize: pageSize}
}

var _ hubsync.Learners = (*Learners)(nil)

func (l *Learners) school(id hubsync.SchoolID) *lmsSchool {
	s := l.schools[id]
	if s == nil {
		cat, _ := hubsync.LearnWorldsCatalog(hubsync.CatalogOptions{})
		s = &lmsSchool{catalog: cat, byEmail: map[string]*hubsync.Learner{}}
		l.schools[id] = s
	}
	return s
}

// SetCatalog replaces a school's field catalog (by default the LearnWorlds catalog without
// custom fields or billing).
func (l *Learners) SetCatalog(school hubsync.SchoolID, fields []hubsync.LearnerField) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.school(school).catalog = slices.Clone(fields)
}

// Put adds or replaces a learner, as the host's own code would. A learner without an ID gets one.
// It returns the learner as stored.
func (l *Learners) Put(school hubsync.SchoolID, ln hubsync.Learner) hubsync.Learner {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.school(school)
	key := hubsync.FoldEmail(ln.Email)
	if ln.ID == "" {
		if old := s.byEmail[key]; old != nil {
			ln.ID = old.ID
		} else {
			l.nextID++
			ln.ID = "u" + strconv.Itoa(l.nextID)
		}
	}
	ln.Values = maps.Clone(ln.Values)
	ln.Tags = slices.Clone(ln.Tags)
	if _, ok := s.byEmail[key]; !ok {
		s.order = append(s.order, key)
	}
	s.byEmail[key] = &ln
	return clone(ln)
}

// Get returns a learner by email, as stored.
func (l *Learners) Get(school hubsync.SchoolID, email string) (hubsync.Learner, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	x := l.school(school).byEmail[hubsync.FoldEmail(email)]
	if x == nil {
		return hubsync.Learner{}, false
	}
	return clone(*x), true
}

// Stats returns the call counts so far.
func (l *Learners) Stats() LearnerStats {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.stats
}

func clone(x hubsync.Learner) hubsync.Learner {
	x.Values = maps.Clone(x.Values)
	x.Tags = slices.Clone(x.Tags)
	return x
}

// Catalog implements hubsync.Learners.
func (l *Learners) Catalog(ctx context.Context, school hubsync.SchoolID) ([]hubsync.LearnerField, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.school(school).catalog), nil
}

// GetByEmail implements hubsync.Learners.
func (l *Learners) GetByEmail(ctx context.Context, school hubsync.SchoolID, email string) (hubsync.Learner, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.stats.Gets++
	x := l.school(school).byEmail[hubsync.FoldEmail(email)]
	if x == nil {
		return hubsync.Learner{}, fmt.Errorf("hubsynctest: learner %s: %w", hubsync.MaskEmail(email), hubsync.ErrNotFound)
	}
	return clone(*x), nil
}

// ListPage implements hubsync.Learners. The cursor is the index of the page's first learner.
func (l *Learners) ListPage(ctx context.Context, school hubsync.SchoolID, cursor string) (hubsync.LearnerPage, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.stats.Lists++
	s := l.school(school)
	start := 0
	if cursor != "" {
		n, err := strconv.Atoi(cursor)
		if err != nil || n < 0 {
			return hubsync.LearnerPage{}, fmt.Errorf("hubsynctest: bad cursor %q", cursor)
		}
		start = n
	}
	end := min(start+l.pageSize, len(s.order))
	page := hubsync.LearnerPage{Total: len(s.order)}
	for i := start; i < end; i++ {
		page.Learners = append(page.Learners, clone(*s.byEmail[s.order[i]]))
	}
	if end < len(s.order) {
		page.Next = strconv.Itoa(end)
	}
	return page, nil
}

func (s *lmsSchool) byID(id string) *hubsync.Learner {
	for _, x := range s.byEmail {
		if x.ID == id {
			return x
		}
	}
	return nil
}

// Update implements hubsync.Learners: only fields the catalog marks writable (email and username
// included) may be written.
func (l *Learners) Update(ctx context.Context, school hubsync.SchoolID, id string, values map[string]any) (hubsync.Learner, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.stats.Updates++
	s := l.school(school)
	x := s.byID(id)
	if x == nil {
		return hubsync.Learner{}, fmt.Errorf("hubsynctest: learner %q: %w", id, hubsync.ErrNotFound)
	}
	idx := hubsync.IndexFields(s.catalog)
	keys := slices.Sorted(maps.Keys(values))
	for _, k := range keys {
		if f, ok := idx[k]; !ok || !f.Writable {
			return hubsync.Learner{}, fmt.Errorf("hubsynctest: field %q: %w", k, hubsync.ErrReadOnly)
		}
	}
	for _, k := range keys {
		v := values[k]
		switch k {
		case "email":
			e, _ := v.(string)
			if e == "" {
				return hubsync.Learner{}, fmt.Errorf("hubsynctest: email must be a non-empty string")
			}
			if other := s.byEmail[hubsync.FoldEmail(e)]; other != nil && other != x {
				return hubsync.Learner{}, fmt.Errorf("hubsynctest: email taken: %w", hubsync.ErrConflict)
			}
			old := hubsync.FoldEmail(x.Email)
			delete(s.byEmail, old)
			x.Email = e
			s.byEmail[hubsync.FoldEmail(e)] = x
			for i, o := range s.order {
				if o == old {
					s.order[i] = hubsync.FoldEmail(e)
				}
			}
		case "username":
			x.Username, _ = v.(string)
		default:
			if x.Values == nil {
				x.Values = map[string]any{}
			}
			x.Values[k] = v
		}
	}
	return clone(*x), nil
}

// Create implements hubsync.Learners.
func (l *Learners) Create(ctx context.Context, school hubsync.SchoolID, n hubsync.NewLearner) (hubsync.Learner, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.stats.Creates++
	s := l.school(school)
	if err := hubsync.ValidateEmail(n.Email); err != nil {
		return hubsync.Learner{}, fmt.Errorf("hubsynctest: %w: %v", hubsync.ErrInvalidValue, err)
	}
	if s.byEmail[hubsync.FoldEmail(n.Email)] != nil {
		return hubsync.Learner{}, fmt.Errorf("hubsynctest: email taken: %w", hubsync.ErrConflict)
	}
	for _, x := range s.byEmail {
		if n.Username != "" && strings.EqualFold(x.Username, n.Username) {
			return hubsync.Learner{}, fmt.Errorf("hubsynctest: username taken: %w", hubsync.ErrConflict)
		}
	}
	if n.SendWelcomeEmail {
		l.stats.WelcomeEmails++
	}
	l.nextID++
	ln := &hubsync.Learner{ID: "u" + strconv.Itoa(l.nextID), Email: n.Email, Username: n.Username, Values: maps.Clone(n.Values), Tags: slices.Clone(n.Tags)}
	sort.Strings(ln.Tags)
	s.byEmail[hubsync.FoldEmail(n.Email)] = ln
	s.order = append(s.order, hubsync.FoldEmail(n.Email))
	return clone(*ln), nil
}

// AddTags implements hubsync.Learners.
func (l *Learners) AddTags(ctx context.Context, school hubsync.SchoolID, id string, tags []string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.stats.TagWrites++
	x := l.school(school).byID(id)
	if x == nil {
		return fmt.Errorf("hubsynctest: learner %q: %w", id, hubsync.ErrNotFound)
	}
	for _, t := range tags {
		if !slices.Contains(x.Tags, t) {
			x.Tags = append(x.Tags, t)
		}
	}
	sort.Strings(x.Tags)
	return nil
}
