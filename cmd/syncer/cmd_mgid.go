package main

import (
	"context"
	"fmt"

	"syncer/internal/jobs"
)

// Placeholder until the transfers issue lands.
func (a *app) buildTopUpJob() (jobs.Job, error) {
	return nil, fmt.Errorf("mgid-topup is not built yet")
}

func cmdMGID(ctx context.Context, e env, args []string) error { return usagef("not yet") }
