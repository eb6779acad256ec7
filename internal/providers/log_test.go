package providers

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
)

func TestLoggerPrefersTheRunsLogger(t *testing.T) {
	t.Parallel()
	var own, run bytes.Buffer
	fallback := slog.New(slog.NewTextHandler(&own, nil))
	ctx := WithLogger(context.Background(), slog.New(slog.NewTextHandler(&run, nil)).With("run_id", 7))

	Logger(ctx, fallback).Info("in a run")
	Logger(context.Background(), fallback).Info("outside")
	Logger(context.Background(), nil).Info("discarded") // must not panic

	if !strings.Contains(run.String(), `msg="in a run" run_id=7`) || strings.Contains(run.String(), "outside") {
		t.Errorf("run log %q", run.String())
	}
	if !strings.Contains(own.String(), "outside") || strings.Contains(own.String(), "in a run") {
		t.Errorf("own log %q", own.String())
	}
}
