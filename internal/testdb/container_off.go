//go:build !testcontainers

package testdb

import "errors"

// startContainer without the testcontainers tag: the fallback is not compiled
// in, so say how to get it rather than skip.
func startContainer() (string, error) {
	return "", errors.New("the testcontainers fallback is not compiled in " +
		"(make test adds -tags testcontainers when a Docker engine answers; or run go test -tags testcontainers)")
}
