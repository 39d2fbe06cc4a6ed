package apispec

import (
	"testing"

	"github.com/pb33f/libopenapi-validator/cache"
)

func TestLazyCache(t *testing.T) {
	t.Parallel()
	c := newLazyCache()
	if _, ok := c.Load(1); !ok {
		t.Error("while building, Load(1) reported a miss; the warm-up would compile every schema")
	}
	c.Store(1, &cache.SchemaCacheEntry{})
	c.building.Store(false)
	if e, ok := c.Load(1); ok || e != nil {
		t.Errorf("Store while building was kept: %v, %v", e, ok)
	}
	c.Store(2, &cache.SchemaCacheEntry{})
	c.Store(3, nil)
	if _, ok := c.Load(2); !ok {
		t.Error("Store after building was not kept")
	}
	if _, ok := c.Load(3); ok {
		t.Error("a nil entry was kept")
	}
}

// TestSchemasCompiledOnFirstUse checks that a document's schemas are compiled when an exchange first
// needs them, cached, and give the same verdict the second time.
func TestSchemasCompiledOnFirstUse(t *testing.T) {
	t.Parallel()
	s := loadInline(t)
	count := func() int {
		n := 0
		for _, d := range s.docs {
			if d.name == "a.json" {
				d.schemas.Range(func(uint64, *cache.SchemaCacheEntry) bool { n++; return true })
			}
		}
		return n
	}
	if n := count(); n != 0 {
		t.Fatalf("%d schemas compiled before any exchange, want 0", n)
	}
	for i := range 2 {
		req, resp := exchange("POST", "/things/batch/upsert", "application/json", `{"inputs":[{"id":1,"properties":{}}]}`, 200, `{"status":"COMPLETE","results":[]}`)
		if err := s.Check(req, resp); err == nil {
			t.Fatalf("round %d: bad body accepted", i)
		}
	}
	if n := count(); n == 0 {
		t.Errorf("no schema cached after two exchanges")
	}
}
