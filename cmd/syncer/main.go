// Command syncer keeps a history of provider data in Postgres for BI.
// See README.md for the commands and their configuration.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	// SIGHUP (a closed terminal, a `kill -HUP` meant as "reload") stops the
	// daemon like SIGTERM, with the shutdown grace: its default would kill
	// the process at once and leave its run 'running'. Configuration is
	// not reloaded; restart to apply a change.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	code := run(ctx, os.Args[1:], env{stdout: os.Stdout, stderr: os.Stderr, environ: os.Environ()})
	stop()
	os.Exit(code)
}
