package observe_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"syncer/internal/observe"
	"syncer/internal/store"
	"syncer/internal/testdb"
)

// countingStore counts the reads that reach the database.
type countingStore struct {
	*store.DB
	freshness atomic.Int64
}

func (c *countingStore) SourceFreshness(ctx context.Context) ([]store.SourceFreshness, error) {
	c.freshness.Add(1)
	return c.DB.SourceFreshness(ctx)
}

// Any number of concurrent readers within the TTL cost one read; after
// the TTL the next reader reads again; a caller's own cancellation does
// not fail the shared read for the others.
func TestCachedStoreReadsOncePerTTL(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	fixture(t, db)
	cs := &countingStore{DB: db}
	now := time.Now()
	var mu sync.Mutex
	c := &observe.CachedStore{Store: cs, TTL: 5 * time.Second, Now: func() time.Time { mu.Lock(); defer mu.Unlock(); return now }}
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	_, _ = c.SourceFreshness(cancelled) // starts the read, gives up at once
	var wg sync.WaitGroup
	for range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f, err := c.SourceFreshness(context.Background())
			if err != nil || len(f) != 2 {
				t.Errorf("SourceFreshness = %d rows, %v", len(f), err)
			}
		}()
	}
	wg.Wait()
	if n := cs.freshness.Load(); n != 1 {
		t.Errorf("%d reads for 101 callers within the TTL, want 1", n)
	}
	mu.Lock()
	now = now.Add(6 * time.Second)
	mu.Unlock()
	if _, err := c.SourceFreshness(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := cs.freshness.Load(); n != 2 {
		t.Errorf("%d reads after the TTL, want 2", n)
	}
}
