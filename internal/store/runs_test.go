package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"syncer/internal/store"
	"syncer/internal/testdb"
)

// LastSuccess and RunningTick say "none" with ErrNotFound, as every other
// lookup in the store does, and find the run once there is one.
func TestRunLookupsNotFound(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	ctx := context.Background()
	if _, err := db.LastSuccess(ctx, "j"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("LastSuccess with no run: %v, want ErrNotFound", err)
	}
	if _, err := db.RunningTick(ctx, "j"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("RunningTick with no run: %v, want ErrNotFound", err)
	}

	tick := time.Date(2026, 12, 5, 3, 0, 0, 0, time.UTC)
	id, err := db.StartRun(ctx, store.RunStart{Job: "j", Trigger: "schedule", ScheduledFor: &tick, Replica: "t"})
	if err != nil {
		t.Fatal(err)
	}
	got, err := db.RunningTick(ctx, "j")
	if err != nil || got == nil || !got.Equal(tick) {
		t.Fatalf("RunningTick of a running tick: %v, %v; want %s", got, err, tick)
	}
	// A success that read nothing is not a success for freshness.
	if err := db.FinishRun(ctx, id, store.RunFinish{Status: "succeeded"}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.LastSuccess(ctx, "j"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("LastSuccess after an unobserved success: %v, want ErrNotFound", err)
	}
	if _, err := db.RunningTick(ctx, "j"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("RunningTick after the run finished: %v, want ErrNotFound", err)
	}
	id, err = db.StartRun(ctx, store.RunStart{Job: "j", Trigger: "manual", Replica: "t"})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.FinishRun(ctx, id, store.RunFinish{Status: "succeeded", Observed: true}); err != nil {
		t.Fatal(err)
	}
	at, err := db.LastSuccess(ctx, "j")
	if err != nil || time.Since(at) > time.Minute {
		t.Fatalf("LastSuccess after an observed success: %s, %v", at, err)
	}
}
