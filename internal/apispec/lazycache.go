package apispec

import (
	"sync/atomic"

	"github.com/pb33f/libopenapi-validator/cache"
)

// lazyCache is the validator's compiled-schema cache, made lazy. The library compiles ("warms")
// every schema of a document while it builds the validator, which is about 90% of the time Load
// would take (0.5 s for the LearnWorlds document, 4 s under the race detector) although a test
// touches few operations. While building is true, Load reports every key as present, so the warm-up
// compiles nothing; afterwards the cache behaves normally, and each schema is compiled on its first
// use and kept. The library's request, response and parameter validators all treat a missing or
// nil entry as a miss and compile (checked against libopenapi-validator v0.16.2; the lazy path is
// covered by every test of this package, which would fail on a nil entry being used).
type lazyCache struct {
	building atomic.Bool
	inner    cache.SchemaCache
}

var _ cache.SchemaCache = (*lazyCache)(nil)

// newLazyCache returns a cache in the building state.
func newLazyCache() *lazyCache {
	c := &lazyCache{inner: cache.NewDefaultCache()}
	c.building.Store(true)
	return c
}

// Load returns the cached entry; while building it claims a (nil) entry for every key.
func (c *lazyCache) Load(key uint64) (*cache.SchemaCacheEntry, bool) {
	if c.building.Load() {
		return nil, true
	}
	return c.inner.Load(key)
}

// Store keeps an entry, except while building.
func (c *lazyCache) Store(key uint64, value *cache.SchemaCacheEntry) {
	if c.building.Load() || value == nil {
		return
	}
	c.inner.Store(key, value)
}

// Range visits the stored entries.
func (c *lazyCache) Range(f func(key uint64, value *cache.SchemaCacheEntry) bool) {
	c.inner.Range(f)
}
