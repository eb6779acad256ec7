package config

import "testing"

// Each job is in the registry once, its defaults are what Defaults gives,
// and its traits are coherent: a per-agency job splits across replicas.
func TestRegistry(t *testing.T) {
	d := Defaults()
	seen := map[string]bool{}
	for _, s := range Registry {
		if seen[s.Name] {
			t.Errorf("%s is registered twice", s.Name)
		}
		seen[s.Name] = true
		if d.Jobs[s.Name] != s.Default {
			t.Errorf("%s: Defaults has %+v, the registry %+v", s.Name, d.Jobs[s.Name], s.Default)
		}
		if s.Traits.PerAgency && !s.Traits.SplitsAcrossReplicas {
			t.Errorf("%s is per-agency but does not split across replicas", s.Name)
		}
		if got := Traits(s.Name); got != s.Traits {
			t.Errorf("Traits(%s) = %+v, want %+v", s.Name, got, s.Traits)
		}
	}
	if len(d.Jobs) != len(Registry) || len(JobNames) != len(Registry) {
		t.Errorf("Defaults has %d jobs, JobNames %d, the registry %d", len(d.Jobs), len(JobNames), len(Registry))
	}
	if got := Traits("no-such-job"); got != (JobTraits{}) {
		t.Errorf("an unknown job has traits %+v", got)
	}
}
