package config

import (
	"slices"
	"time"
)

// Job names, as used in configuration keys, the runs table and the CLI. A job
// is added here, in Registry below, in cmd/syncer's jobBuilders (its
// constructor; a test fails until it is there) and in its own file in
// internal/jobs; everything else iterates Registry.
const (
	JobMGIDBalances     = "mgid-balances"
	JobMGIDSpend        = "mgid-spend"
	JobMGIDTopUp        = "mgid-topup"
	JobMawthoqRecheck   = "mawthoq-recheck"
	JobFirstlightRedeem = "firstlight-redeem"
	JobMGIDRetention    = "mgid-retention"
)

// JobSpec is one job's static part: its name, its defaults, how the runner
// treats it and the interval its fresh data is expected in. Registry lists
// every job once; defaults, file keys, validation, the CLI's job names and
// the recorded schedules iterate it. Constructors bind in cmd/syncer (the
// wiring), since config may not import the jobs it describes.
type JobSpec struct {
	Name    string
	Default Job // schedule, timeout and enabled before any file or variable
	Traits  JobTraits
	// NeedsMGID: enabled, the job needs MGID's URL and an agency's
	// credentials (Validate).
	NeedsMGID bool
	// Requires, when set, checks the settings the job needs once enabled
	// (Validate calls it with the job's name, for its messages).
	Requires func(c *Config, p *problems, by string)
	// Recheck, when set, is the tracked recheck period a target waits
	// between checks: a round checks only targets due again, so fresh data
	// is expected within a tick plus this, not within a tick.
	Recheck func(Config) time.Duration
}

// JobTraits is how the runner treats a job's runs.
type JobTraits struct {
	// CommitsAsItGoes: the job commits as it goes rather than all or
	// nothing, so a failed run keeps what it committed and the runner
	// records the rows it counted (see jobs.Job).
	CommitsAsItGoes bool
	// SplitsAcrossReplicas: replicas may run the job at once because it
	// splits its work between them itself; its lock is shared and ticks are
	// not claimed.
	SplitsAcrossReplicas bool
	// PerAgency: the split unit is an MGID agency; such runs are fenced as
	// an exclusive job's are.
	PerAgency bool
}

// Registry is every job, in the stable order the CLI and the status page
// list them.
var Registry = []JobSpec{
	{Name: JobMGIDBalances, NeedsMGID: true, Default: Job{Enabled: true, Schedule: "@every 15m", Timeout: 5 * time.Minute},
		// Each agency commits alone; replicas share a tick's agencies.
		Traits: JobTraits{CommitsAsItGoes: true, SplitsAcrossReplicas: true, PerAgency: true}},
	{Name: JobMGIDSpend, NeedsMGID: true, Default: Job{Enabled: true, Schedule: "0 * * * *", Timeout: 10 * time.Minute},
		Traits: JobTraits{CommitsAsItGoes: true, SplitsAcrossReplicas: true, PerAgency: true}},
	// A transfer's journal row commits before its request leaves.
	{Name: JobMGIDTopUp, NeedsMGID: true, Requires: (*Config).requireTopUp, Default: Job{Enabled: false, Schedule: "@every 15m", Timeout: 5 * time.Minute},
		Traits: JobTraits{CommitsAsItGoes: true}},
	// The tracked checks commit each batch and claim their targets with
	// FOR UPDATE SKIP LOCKED.
	{Name: JobMawthoqRecheck, Requires: (*Config).requireGmedia, Default: Job{Enabled: false, Schedule: "*/10 * * * *", Timeout: 30 * time.Minute},
		Traits:  JobTraits{CommitsAsItGoes: true, SplitsAcrossReplicas: true},
		Recheck: func(c Config) time.Duration { return c.Gmedia.Check.RecheckAfter }},
	{Name: JobFirstlightRedeem, Requires: (*Config).requireFirstlight, Default: Job{Enabled: false, Schedule: "*/10 * * * *", Timeout: 30 * time.Minute},
		Traits:  JobTraits{CommitsAsItGoes: true, SplitsAcrossReplicas: true},
		Recheck: func(c Config) time.Duration { return c.Firstlight.Check.RecheckAfter }},
	// Runs only when SYNCER_RETENTION_DETAIL_DAYS is set (Validate).
	{Name: JobMGIDRetention, Default: Job{Enabled: true, Schedule: "30 3 * * *", Timeout: 30 * time.Minute}},
}

// JobNames lists every job in Registry's order.
var JobNames = func() []string {
	out := make([]string, len(Registry))
	for i, s := range Registry {
		out[i] = s.Name
	}
	return out
}()

// TrackedJobs are the jobs with a recheck period: the tracked checks, whose
// runs' detail counts checks by outcome.
func TrackedJobs() []string {
	var out []string
	for _, s := range Registry {
		if s.Recheck != nil {
			out = append(out, s.Name)
		}
	}
	return out
}

// Spec is the registry's entry for a job name.
func Spec(name string) (JobSpec, bool) {
	i := slices.IndexFunc(Registry, func(s JobSpec) bool { return s.Name == name })
	if i < 0 {
		return JobSpec{}, false
	}
	return Registry[i], true
}

// Traits is how the runner treats the named job; an unknown name (a test's
// job) has none: all or nothing, exclusive.
func Traits(name string) JobTraits {
	s, _ := Spec(name)
	return s.Traits
}
