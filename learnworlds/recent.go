package learnworlds

import (
	"container/list"
	"sync"
	"time"

	"github.com/hubsync/hubsync"
)

// ReuseReadsDefault is how long Update trusts a learner the adapter read moments before (by
// ListPage, GetByEmail or Update's own read) instead of reading it again: see School.ReuseReadsFor.
const ReuseReadsDefault = time.Minute

// recentMax bounds the learners the adapter remembers (about 5 pages of 200): enough for the
// manual sync's writes after a page and live inbound's write after its match, a few hundred KiB.
const recentMax = 1000

// recentKey names a learner of a school.
type recentKey struct {
	school hubsync.SchoolID
	id     string
}

type recentEntry struct {
	key recentKey
	u   User
	at  time.Time
}

// recentUsers remembers the learners read last, least recently read evicted first, so Update can
// send a learner's whole fields object (the API does not say whether PUT merges or replaces it)
// without reading the learner a second time. An entry is forgotten when hubsync writes the learner
// (what the write did to fields the answer may not show) and when a LearnWorlds webhook says the
// learner changed.
type recentUsers struct {
	mu  sync.Mutex
	max int
	m   map[recentKey]*list.Element
	lru list.List // front: read last
}

func newRecentUsers(max int) *recentUsers {
	return &recentUsers{max: max, m: map[recentKey]*list.Element{}}
}

// put remembers u (not a lead without an id) as read at at.
func (r *recentUsers) put(school hubsync.SchoolID, u User, at time.Time) {
	if u.ID == "" {
		return
	}
	k := recentKey{school, u.ID}
	r.mu.Lock()
	defer r.mu.Unlock()
	if el, ok := r.m[k]; ok {
		el.Value = recentEntry{k, u, at}
		r.lru.MoveToFront(el)
		return
	}
	r.m[k] = r.lru.PushFront(recentEntry{k, u, at})
	for r.lru.Len() > r.max {
		old := r.lru.Back()
		r.lru.Remove(old)
		delete(r.m, old.Value.(recentEntry).key)
	}
}

// get returns the learner id of school as read, when it was read no longer than fresh before now.
func (r *recentUsers) get(school hubsync.SchoolID, id string, now time.Time, fresh time.Duration) (User, bool) {
	if fresh <= 0 {
		return User{}, false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	el, ok := r.m[recentKey{school, id}]
	if !ok {
		return User{}, false
	}
	e := el.Value.(recentEntry)
	if age := now.Sub(e.at); age < 0 || age > fresh {
		return User{}, false
	}
	return e.u, true
}

// forget drops what is remembered of the learner id of school.
func (r *recentUsers) forget(school hubsync.SchoolID, id string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if el, ok := r.m[recentKey{school, id}]; ok {
		r.lru.Remove(el)
		delete(r.m, recentKey{school, id})
	}
}
