package main

import (
	"testing"

	"syncer/internal/config"
	"syncer/internal/jobs"
)

// Every job in config.Registry has a constructor here, and nothing else
// does; each builds a job that answers to its registered name.
func TestEveryRegisteredJobIsWired(t *testing.T) {
	if len(jobBuilders) != len(config.Registry) {
		t.Errorf("%d constructors for %d registered jobs", len(jobBuilders), len(config.Registry))
	}
	a := &app{cfg: config.Defaults(), runner: &jobs.Runner{}}
	for _, s := range config.Registry {
		build, ok := jobBuilders[s.Name]
		if !ok {
			t.Errorf("%s has no constructor", s.Name)
			continue
		}
		j, err := build(a)
		if err != nil {
			t.Errorf("%s: %v", s.Name, err)
			continue
		}
		if j.Name() != s.Name {
			t.Errorf("the constructor of %s builds %s", s.Name, j.Name())
		}
	}
}
