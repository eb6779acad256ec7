package main

import (
	"context"
	"fmt"

	"syncer/internal/jobs"
)

// Placeholder until the tracked-check issue lands.
func (a *app) buildTrackedJob(name string) (jobs.Job, error) {
	return nil, fmt.Errorf("job %s is not built yet", name)
}

func cmdMawthoq(ctx context.Context, e env, args []string) error    { return usagef("not yet") }
func cmdFirstlight(ctx context.Context, e env, args []string) error { return usagef("not yet") }
