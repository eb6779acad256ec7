//go:build testcontainers

package testdb

import (
	"context"
	"errors"
	"time"

	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"
	tcpostgres "github.com/testcontainers/testcontainers-go/modules/postgres"
	"github.com/testcontainers/testcontainers-go/wait"
)

// startContainer runs a disposable Postgres when a Docker engine answers. The
// container lives as long as the test binary; Ryuk removes it afterwards.
//
// It is compiled only with -tags testcontainers (make test sets it when no
// Postgres answers and a Docker engine does): testcontainers' Docker client
// is most of a cold build, and a machine with a Postgres never uses it.
func startContainer() (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if !dockerReachable(ctx) {
		return "", errors.New("no Docker engine reachable")
	}
	c, err := tcpostgres.Run(ctx, "postgres:16-alpine",
		tcpostgres.WithDatabase("postgres"),
		tcpostgres.WithUsername("postgres"),
		tcpostgres.WithPassword("postgres"),
		testcontainers.WithWaitStrategy(wait.ForLog("database system is ready to accept connections").WithOccurrence(2)),
	)
	if err != nil {
		return "", err
	}
	return c.ConnectionString(ctx, "sslmode=disable")
}

func dockerReachable(ctx context.Context) (ok bool) {
	defer func() {
		if recover() != nil { // testcontainers panics on some broken Docker set-ups
			ok = false
		}
	}()
	cli, err := testcontainers.NewDockerClientWithOpts(ctx)
	if err != nil {
		return false
	}
	defer cli.Close()
	_, err = cli.Ping(ctx, client.PingOptions{})
	return err == nil
}
