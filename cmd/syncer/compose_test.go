package main

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/compose-spec/compose-go/v2/cli"

	"syncer/internal/config"
)

// docker-compose.yml must stay in step with the configuration: the services
// exist, and the daemon's environment is a valid syncer configuration with
// no misspelt variable.
func TestComposeFileMatchesConfiguration(t *testing.T) {
	t.Parallel()
	path, _ := filepath.Abs("../../docker-compose.yml")
	opts, err := cli.NewProjectOptions([]string{path}, cli.WithName("syncer"), cli.WithOsEnv)
	if err != nil {
		t.Fatal(err)
	}
	p, err := opts.LoadProject(context.Background())
	if err != nil {
		t.Fatalf("parse docker-compose.yml: %v", err)
	}
	var names []string
	for n := range p.Services {
		names = append(names, n)
	}
	sort.Strings(names)
	if want := []string{"postgres", "sim", "syncer"}; !equal(names, want) {
		t.Fatalf("services %v, want %v", names, want)
	}
	svc := p.Services["syncer"]
	var environ []string
	for k, v := range svc.Environment {
		if v == nil {
			t.Errorf("syncer service variable %s has no value", k)
			continue
		}
		environ = append(environ, k+"="+*v)
	}
	cfg, err := config.LoadEnviron("", environ)
	if err != nil {
		t.Fatalf("the syncer service's environment: %v", err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("the syncer service's configuration is invalid: %v", err)
	}
	if got := cfg.MGID.BaseURL; got != "http://sim:8089" {
		t.Errorf("MGID_BASE_URL %q does not point at the sim service", got)
	}
	if cmd := p.Services["sim"].Command; len(cmd) < 3 || cmd[0] != "sim" || cmd[2] != "0.0.0.0:8089" {
		t.Errorf("sim service command %v", cmd)
	}
	if _, err := os.Stat("../../Dockerfile"); err != nil {
		t.Errorf("the services build from a Dockerfile: %v", err)
	}
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
