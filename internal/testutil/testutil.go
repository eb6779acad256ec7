// Package testutil holds the helpers that the tests of several packages
// share, so each exists once: a settable clock, a buffer safe for concurrent
// writers, go-github's setup(t) for provider tests, and waits that end with a
// context or deadline (Barrier, Await, Receive). Test code only.
package testutil
