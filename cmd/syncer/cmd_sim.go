package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"syncer/internal/sim"
)

func cmdSim(ctx context.Context, e env, args []string) error {
	fs, _ := newFlags("sim", e)
	addr := fs.String("addr", "127.0.0.1:8089", "listen address")
	opts := sim.RegisterFlags(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := opts.Validate(); err != nil {
		return usageError{err.Error()}
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return usagef("--addr %s: %v", *addr, err)
	}
	s := sim.New(*opts)
	srv := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(e.stdout, "syncer sim: serving MGID, Gmedia and Firstlight on http://%s\n", ln.Addr())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	s.Close()
	shutCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutCtx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return nil
}
