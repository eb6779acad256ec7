package observe

import (
	"context"
	"fmt"
	"sync"
	"time"

	"syncer/internal/store"
)

// PoolConns is the size of the page's and /metrics' own pool: small and
// apart from the jobs' pool, so viewers and scrapers never hold a connection
// a job needs.
const PoolConns = 2

// CacheableStore is every read the page and the collectors make.
type CacheableStore interface {
	PageStore
	OperatorStore
}

// CachedStore serves the page's and /metrics' reads from a cache of TTL,
// so that any number of viewers and scrapers costs the database one read
// of each kind per TTL. Concurrent callers of a read share one query
// (singleflight). A query runs on its own deadline (Timeout), detached from
// the caller's context, so a viewer who closes the tab does not fail the
// read for the others; each caller still gives up at its own deadline.
// Failures are cached too: an unreachable database is asked once per TTL.
//
// Wire it over a small pool of its own (store.OpenSmall with PoolConns):
// then no scrape storm can take a connection a job needs. The defaults mean
// a Prometheus scrape every 15 s and a page refreshing every 30 s see
// numbers at most 5 s old.
type CachedStore struct {
	Store   CacheableStore
	TTL     time.Duration // default 5s
	Timeout time.Duration // per query; default 3s
	Now     func() time.Time

	mu      sync.Mutex
	entries map[string]*cacheEntry
}

type cacheEntry struct {
	done chan struct{} // closed when val and err are set
	at   time.Time
	val  any
	err  error
}

func cachedRead[T any](c *CachedStore, ctx context.Context, key string, read func(ctx context.Context) (T, error)) (T, error) {
	now := time.Now
	if c.Now != nil {
		now = c.Now
	}
	ttl := c.TTL
	if ttl <= 0 {
		ttl = 5 * time.Second
	}
	c.mu.Lock()
	if c.entries == nil {
		c.entries = map[string]*cacheEntry{}
	}
	e, ok := c.entries[key]
	if ok {
		select {
		case <-e.done:
			if now().Sub(e.at) > ttl {
				ok = false // expired: read again
			}
		default: // in flight: share it
		}
	}
	if !ok {
		e = &cacheEntry{done: make(chan struct{})}
		c.entries[key] = e
		timeout := c.Timeout
		if timeout <= 0 {
			timeout = 3 * time.Second
		}
		go func() {
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
			defer cancel()
			e.val, e.err = read(rctx)
			e.at = now()
			close(e.done)
		}()
	}
	c.mu.Unlock()
	var zero T
	select {
	case <-e.done:
		if e.err != nil {
			return zero, e.err
		}
		return e.val.(T), nil
	case <-ctx.Done():
		return zero, ctx.Err()
	}
}

func (c *CachedStore) SourceFreshness(ctx context.Context) ([]store.SourceFreshness, error) {
	return cachedRead(c, ctx, "freshness", c.Store.SourceFreshness)
}

func (c *CachedStore) LastFinishedRuns(ctx context.Context) (map[string]store.LastRun, error) {
	return cachedRead(c, ctx, "finished", c.Store.LastFinishedRuns)
}

func (c *CachedStore) LatestRuns(ctx context.Context) (map[string]store.LastRun, error) {
	return cachedRead(c, ctx, "latest", c.Store.LatestRuns)
}

func (c *CachedStore) OpenTransferCounts(ctx context.Context) (map[string]int64, error) {
	return cachedRead(c, ctx, "open", c.Store.OpenTransferCounts)
}

func (c *CachedStore) TrackedOutcomes(ctx context.Context) ([]store.TrackedOutcome, error) {
	return cachedRead(c, ctx, "tracked", c.Store.TrackedOutcomes)
}

func (c *CachedStore) RunStreaks(ctx context.Context) (map[string]store.RunStreak, error) {
	return cachedRead(c, ctx, "streaks", c.Store.RunStreaks)
}

func (c *CachedStore) MissingCoverageCounts(ctx context.Context) ([]store.MissingCoverage, error) {
	return cachedRead(c, ctx, "missing", c.Store.MissingCoverageCounts)
}

func (c *CachedStore) Coverage(ctx context.Context, from, to time.Time) ([]store.CoverageDay, error) {
	return cachedRead(c, ctx, fmt.Sprintf("coverage %s %s", from.Format(time.DateOnly), to.Format(time.DateOnly)),
		func(ctx context.Context) ([]store.CoverageDay, error) { return c.Store.Coverage(ctx, from, to) })
}

func (c *CachedStore) UnknownTransfers(ctx context.Context, limit int) ([]store.Transfer, error) {
	return cachedRead(c, ctx, fmt.Sprintf("unknown %d", limit),
		func(ctx context.Context) ([]store.Transfer, error) { return c.Store.UnknownTransfers(ctx, limit) })
}
