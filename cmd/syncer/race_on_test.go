//go:build race

package main

// raceBuild: this test binary was built with -race, so the syncer binary the
// tests run is too. It then reuses the packages go test just compiled: on a
// cold build cache a plain build would compile every dependency a second time.
const raceBuild = true
