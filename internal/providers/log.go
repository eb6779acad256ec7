package providers

import (
	"context"
	"log/slog"
)

type loggerKey struct{}

// ctxLogger is what the context carries: the logger, and whether its lines
// name the account the calls are made for already.
type ctxLogger struct {
	l     *slog.Logger
	named bool
}

// WithLogger returns ctx carrying l, the logger of the run the calls under
// ctx belong to. The runner sets it so a provider client's lines carry the
// run's job and run_id, which the client itself cannot know.
func WithLogger(ctx context.Context, l *slog.Logger) context.Context {
	return withLogger(ctx, ctxLogger{l: l})
}

// WithAccountLogger is WithLogger for a logger whose lines name the account
// the calls are made for already (a job's per-agency logger: the agency's
// name and login), so the client adds no attribute of its own for it and no
// line carries a key twice.
func WithAccountLogger(ctx context.Context, l *slog.Logger) context.Context {
	return withLogger(ctx, ctxLogger{l: l, named: true})
}

func withLogger(ctx context.Context, c ctxLogger) context.Context {
	if c.l == nil {
		return ctx
	}
	return context.WithValue(ctx, loggerKey{}, c)
}

// Logger is the logger ctx carries, or fallback (the client's own) outside
// a run. A nil fallback discards.
func Logger(ctx context.Context, fallback *slog.Logger) *slog.Logger {
	if c, ok := ctx.Value(loggerKey{}).(ctxLogger); ok {
		return c.l
	}
	if fallback == nil {
		return slog.New(slog.DiscardHandler)
	}
	return fallback
}

// NamesAccount reports whether the logger ctx carries names the account
// (WithAccountLogger).
func NamesAccount(ctx context.Context) bool {
	c, ok := ctx.Value(loggerKey{}).(ctxLogger)
	return ok && c.named
}
