// Package testutil holds the helpers that the tests of several packages
// share, so each exists once: a settable clock, a buffer safe for concurrent
// writers, and go-github's setup(t) for provider tests. Test code only.
package testutil
