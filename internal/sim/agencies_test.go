package sim_test

import (
	"flag"
	"io"
	"strings"
	"testing"

	"syncer/internal/sim"
)

// TestAgenciesFlags: --agencies N generates N agencies after any --agency,
// --agency-fault breaks only the named one, and a fault for an agency that
// does not exist or an unknown mode is refused.
func TestAgenciesFlags(t *testing.T) {
	t.Parallel()
	parse := func(args ...string) (*sim.Options, error) {
		fs := flag.NewFlagSet("sim", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		o := sim.RegisterFlags(fs)
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		return o, o.Validate()
	}
	o, err := parse("--agencies", "1000", "--agency-fault", "agency-0002=5xx", "--agency-fault", "agency-0999=wrong-password")
	if err != nil {
		t.Fatal(err)
	}
	if len(o.Agencies) != 1000 || o.Agencies[0] != sim.GeneratedAgency(0) || o.Agencies[999].Login != "agency-1000" || o.Agencies[999].ID != 101000 {
		t.Fatalf("agencies: %d, first %+v, last %+v", len(o.Agencies), o.Agencies[0], o.Agencies[len(o.Agencies)-1])
	}
	if o.AgencyFaults["agency-0002"] != sim.Agency5xx || o.AgencyFaults["agency-0999"] != sim.AgencyWrongPassword || len(o.AgencyFaults) != 2 {
		t.Errorf("faults: %v", o.AgencyFaults)
	}
	for _, tc := range []struct{ name, arg, want string }{
		{"unknown mode", "agency-0001=teapot", "unknown agency fault"},
		{"no login", "=5xx", "want LOGIN=MODE"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := parse("--agencies", "3", "--agency-fault", tc.arg); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("--agency-fault %s: %v, want %q", tc.arg, err, tc.want)
			}
		})
	}
	if _, err := parse("--agencies", "3", "--agency-fault", "agency-0007=garbage"); err == nil || !strings.Contains(err.Error(), "no such agency") {
		t.Errorf("a fault for a missing agency: %v", err)
	}
	if _, err := parse("--agencies", "0"); err == nil {
		t.Error("--agencies 0 accepted")
	}
}
