package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
)

// Exit statuses.
const (
	exitOK      = 0
	exitFailed  = 1 // a job or operation failed
	exitBadArgs = 2 // invalid configuration or command line; nothing was written
)

// env is the outside world a command sees; tests pass their own.
type env struct {
	stdout, stderr io.Writer
	environ        []string
	stdin          io.Reader
}

// usageError is invalid input: exit status 2, before anything is written.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

type command struct {
	name, args, help string
	run              func(ctx context.Context, e env, args []string) error
}

func commands() []command {
	return []command{
		{"run", "", "the daemon: migrate, then run every enabled job on its schedule", cmdRun},
		{"once", "JOB...", "run jobs now, in the foreground", cmdOnce},
		{"backfill", "JOB --from YYYY-MM-DD --to YYYY-MM-DD | --gaps", "run a job for each past day, resumable", cmdBackfill},
		{"gaps", "[--from DATE] [--to DATE] [--source S]", "missing days of each source (bi.coverage), merged into windows", cmdGaps},
		{"jobs", "[--json]", "each job's schedule, next run, last run and outcome", cmdJobs},
		{"check", "[--json] [--days N]", "exit 1 if a job is stale or failing, a day is missing, a transfer or the schema needs you", cmdCheck},
		{"migrate", "up|down|status", "manage the database schema", cmdMigrate},
		{"views", "", "row counts of every bi view (what dashboards see)", cmdViews},
		{"config", "check", "validate the configuration and print it, secrets redacted", cmdConfig},
		{"sim", "[--addr HOST:PORT] [flags]", "serve the simulated provider APIs", cmdSim},
		{"mawthoq", "track add|remove|list|import | rehash", "Mawthoq licence checks to track; rehash rotates SYNCER_HASH_KEY", cmdMawthoq},
		{"firstlight", "track add|remove|list|import", "Firstlight redeem checks to track", cmdFirstlight},
		{"mgid", "transfer|transfers list|reconcile|resolve", "MGID money transfers", cmdMGID},
		{"version", "", "the version, VCS revision, build time and Go version of this binary", cmdVersion},
	}
}

func run(ctx context.Context, args []string, e env) int {
	if e.stdin == nil {
		e.stdin = os.Stdin
	}
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(e.stderr)
		if len(args) == 0 {
			return exitBadArgs
		}
		return exitOK
	}
	for _, c := range commands() {
		if c.name == args[0] {
			err := c.run(ctx, e, args[1:])
			return report(e, c.name, err)
		}
	}
	fmt.Fprintf(e.stderr, "syncer: unknown command %q\n\n", args[0])
	usage(e.stderr)
	return exitBadArgs
}

func report(e env, name string, err error) int {
	var ue usageError
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, flag.ErrHelp):
		return exitOK
	case errors.As(err, &ue):
		fmt.Fprintf(e.stderr, "syncer %s: %s\n", name, ue.msg)
		return exitBadArgs
	case errors.Is(err, errSilentFailure):
		return exitFailed
	}
	fmt.Fprintf(e.stderr, "syncer %s: %v\n", name, err)
	return exitFailed
}

// errSilentFailure: the command already printed why it failed.
var errSilentFailure = errors.New("failed")

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: syncer COMMAND [flags]\n\ncommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-10s %-46s %s\n", c.name, c.args, c.help)
	}
	fmt.Fprintln(w, "\nEvery command takes --config FILE (or SYNCER_CONFIG); see README.md for settings.")
}

// newFlags makes a command's flag set with the shared --config flag. Flag
// errors come back as usage errors (exit 2) instead of the flag package's exit.
func newFlags(name string, e env) (*flag.FlagSet, *string) {
	fs := flag.NewFlagSet("syncer "+name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	path := fs.String("config", "", "YAML configuration file (default $SYNCER_CONFIG)")
	return fs, path
}

func parseFlags(fs *flag.FlagSet, args []string) error {
	// Allow flags after positional arguments: `once mgid-spend --config x`.
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return err
			}
			return usageError{err.Error()}
		}
		args = fs.Args()
		if len(args) == 0 {
			break
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
	return fs.Parse(append([]string{"--"}, pos...))
}

func lookupEnv(environ []string, key string) string {
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok && k == key {
			return v
		}
	}
	return ""
}

// newLogger logs at level (SYNCER_LOG_LEVEL) as text or, for format "json"
// (SYNCER_LOG_FORMAT), as one JSON object per line.
func newLogger(w io.Writer, level, format string) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(level))
	o := &slog.HandlerOptions{Level: l}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, o))
	}
	return slog.New(slog.NewTextHandler(w, o))
}
