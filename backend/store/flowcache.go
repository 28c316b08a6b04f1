package store

import (
	"sync"

	"github.com/switchyard/switchyard/backend/flow"
)

// flowCache keeps decoded flow versions and the current version of each
// flow, so that starting jobs by the thousand does not read and decode the
// flow each time. A stored version never changes; the current version only
// changes through this store's own writes (the process owns its database),
// which update the cache once committed. A read that raced with a write is
// not cached (gen tells).
type flowCache struct {
	mu       sync.RWMutex
	gen      uint64
	current  map[string]int
	versions map[flowKey]*flow.Flow
}

type flowKey struct {
	id      string
	version int
}

// maxCachedVersions bounds the cache; flows are few, so reaching it means
// churn, and starting over is fine.
const maxCachedVersions = 4096

func newFlowCache() *flowCache {
	return &flowCache{current: map[string]int{}, versions: map[flowKey]*flow.Flow{}}
}

func (c *flowCache) currentVersion(id string) (version int, gen uint64, ok bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	version, ok = c.current[id]
	return version, c.gen, ok
}

// noteCurrent caches a current version read from the database, unless a
// write happened since gen.
func (c *flowCache) noteCurrent(id string, version int, gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen == gen {
		c.current[id] = version
	}
}

func (c *flowCache) version(id string, version int) *flow.Flow {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.versions[flowKey{id, version}]
}

func (c *flowCache) noteVersion(f *flow.Flow) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.versions) >= maxCachedVersions {
		clear(c.versions)
	}
	c.versions[flowKey{f.ID, f.Version}] = f
}

// wrote records a committed write: the flow's current version is now
// version (0: the flow was deleted).
func (c *flowCache) wrote(id string, version int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	if version > 0 {
		c.current[id] = version
	} else {
		delete(c.current, id)
	}
}
