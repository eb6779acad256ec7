package config

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"syncer/internal/money"
)

// validConfig enables every job and fills everything they need, so each case
// below breaks exactly one rule. Its secrets are canaries that no error may show.
func validConfig() Config {
	c := Defaults()
	c.DatabaseURL = "postgres://app:canary-db-123@db/syncer"
	c.HashKey = "canary-hash-key-123"
	for name, j := range c.Jobs {
		j.Enabled = true
		c.Jobs[name] = j
	}
	c.MGID.Timezone = "Europe/Moscow"
	c.MGID.Agencies = []MGIDAgency{{Name: "main", Login: "a@example.com", Password: "canary-pass-123"}}
	c.Gmedia.TokenURL = "https://gmedia.example/token"
	c.Gmedia.CheckURL = "https://gmedia.example/CheckMawathoq"
	c.Gmedia.ClientID = "gm-id"
	c.Gmedia.ClientSecret = "canary-gmedia-123"
	c.Firstlight.URL = "https://fl.example/media/content/checkredeem"
	c.Firstlight.IAMToken = "canary-iam-123"
	c.TopUp.MaxPerTransfer = money.MustParse("500")
	c.TopUp.MaxPerClientDay = money.MustParse("1000")
	c.TopUp.MaxPerAgencyDay = money.MustParse("5000")
	c.TopUp.Default = &TopUpRule{Min: money.MustParse("50"), Target: money.MustParse("200")}
	c.TopUp.Clients = map[int64]TopUpRule{5001: {Min: money.MustParse("0"), Target: money.MustParse("10.50")}}
	return c
}

func TestValidateAcceptsValidConfig(t *testing.T) {
	t.Parallel()
	c := validConfig()
	if err := c.Validate(); err != nil {
		t.Fatalf("Validate(validConfig) = %v", err)
	}
	if c.MGID.Location == nil || c.MGID.Location.String() != "Europe/Moscow" {
		t.Errorf("Location = %v, want Europe/Moscow", c.MGID.Location)
	}

	c = validConfig()
	c.Firstlight.IAMToken = ""
	c.Firstlight.TokenURL = "https://fl.example/token"
	c.Firstlight.ClientID = "fl-id"
	c.Firstlight.ClientSecret = "canary-fl-123"
	if err := c.Validate(); err != nil {
		t.Errorf("Validate with Firstlight client credentials = %v", err)
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	amount := money.MustParse
	disable := func(c *Config, name string) {
		j := c.Jobs[name]
		j.Enabled = false
		c.Jobs[name] = j
	}
	setJob := func(name string, f func(*Job)) func(*Config) {
		return func(c *Config) { j := c.Jobs[name]; f(&j); c.Jobs[name] = j }
	}
	tests := []struct {
		name   string
		mutate func(*Config)
		want   string // a substring of the error, starting with the setting's name
	}{
		{"database url", func(c *Config) { c.DatabaseURL = "" }, "DATABASE_URL: required"},
		{"shutdown grace", func(c *Config) { c.ShutdownGrace = -time.Second }, "SYNCER_SHUTDOWN_GRACE: must not be negative"},
		{"log level", func(c *Config) { c.LogLevel = "verbose" }, `SYNCER_LOG_LEVEL: "verbose" is not one of`},
		{"log format", func(c *Config) { c.LogFormat = "xml" }, `SYNCER_LOG_FORMAT: "xml" is not one of text, json`},
		{"negative min replicas", func(c *Config) { c.Transfer.MinReplicas = -1 }, "SYNCER_TRANSFER_MIN_REPLICAS: -1 is outside 0..32"},
		{"too many min replicas", func(c *Config) { c.Transfer.MinReplicas = 33 }, "SYNCER_TRANSFER_MIN_REPLICAS: 33 is outside 0..32"},
		{"replica timeout zero", func(c *Config) { c.Transfer.ReplicaTimeout = 0 }, "SYNCER_TRANSFER_REPLICA_TIMEOUT: 0s is outside"},
		{"cron field out of range", setJob(JobMGIDSpend, func(j *Job) { j.Schedule = "61 * * * *" }), `JOB_MGID_SPEND_SCHEDULE: "61 * * * *": `},
		{"bad @every", setJob(JobMGIDBalances, func(j *Job) { j.Schedule = "@every soon" }), `JOB_MGID_BALANCES_SCHEDULE: "@every soon"`},
		{"@every zero", setJob(JobMGIDBalances, func(j *Job) { j.Schedule = "@every 0s" }), `JOB_MGID_BALANCES_SCHEDULE: "@every 0s": the interval must be positive`},
		{"@every negative", setJob(JobMGIDSpend, func(j *Job) { j.Schedule = "@every -5s" }), `JOB_MGID_SPEND_SCHEDULE: "@every -5s": the interval must be positive`},
		{"@every below a second", setJob(JobMGIDSpend, func(j *Job) { j.Schedule = "@every 300ms" }), `JOB_MGID_SPEND_SCHEDULE: "@every 300ms": fires more often than once a second`},
		{"six fields", setJob(JobFirstlightRedeem, func(j *Job) { j.Schedule = "0 0 * * * *" }), "JOB_FIRSTLIGHT_REDEEM_SCHEDULE"},
		{"empty schedule", setJob(JobMGIDTopUp, func(j *Job) { j.Schedule = "" }), "JOB_MGID_TOPUP_SCHEDULE"},
		{"schedule of a disabled job", func(c *Config) {
			disable(c, JobMawthoqRecheck)
			setJob(JobMawthoqRecheck, func(j *Job) { j.Schedule = "nope" })(c)
		}, "JOB_MAWTHOQ_RECHECK_SCHEDULE"},
		{"job timeout", setJob(JobMGIDBalances, func(j *Job) { j.Timeout = 0 }), "JOB_MGID_BALANCES_TIMEOUT: must be positive"},
		{"job missing", func(c *Config) { delete(c.Jobs, JobMGIDTopUp) }, "jobs.mgid-topup: missing"},
		{"unknown job", func(c *Config) { c.Jobs["mgid-spent"] = Job{} }, "jobs.mgid-spent: unknown job"},
		{"time zone", func(c *Config) { c.MGID.Timezone = "Mars/Olympus" }, `MGID_TIMEZONE: "Mars/Olympus" is not a known time zone`},
		{"local time zone", func(c *Config) { c.MGID.Timezone = "Local" }, `MGID_TIMEZONE: "Local" is not allowed`},
		{"lookback below", func(c *Config) { c.MGID.LookbackDays = -1 }, "MGID_LOOKBACK_DAYS: -1 is outside 0..365"},
		{"lookback above", func(c *Config) { c.MGID.LookbackDays = 366 }, "MGID_LOOKBACK_DAYS: 366 is outside 0..365"},
		{"retention below", func(c *Config) { c.RetentionDetailDays = -1 }, "SYNCER_RETENTION_DETAIL_DAYS: -1 is outside 0..3650"},
		{"retention above", func(c *Config) { c.RetentionDetailDays = 3651 }, "SYNCER_RETENTION_DETAIL_DAYS: 3651 is outside 0..3650"},
		{"backfill below", func(c *Config) { c.Backfill.Concurrency = 0 }, "BACKFILL_CONCURRENCY: 0 is outside 1..64"},
		{"backfill above", func(c *Config) { c.Backfill.Concurrency = 65 }, "BACKFILL_CONCURRENCY: 65 is outside 1..64"},
		{"mgid request timeout", func(c *Config) { c.MGID.RequestTimeout = 0 }, "MGID_REQUEST_TIMEOUT: must be positive"},
		{"no agency", func(c *Config) { c.MGID.Agencies = nil }, "MGID_LOGIN/MGID_PASSWORD: missing credentials"},
		{"no agency, only topup on", func(c *Config) {
			c.MGID.Agencies = nil
			disable(c, JobMGIDBalances)
			disable(c, JobMGIDSpend)
		}, "MGID_LOGIN/MGID_PASSWORD: missing credentials: no MGID agency configured (needed by mgid-topup)"},
		{"agency without password", func(c *Config) { c.MGID.Agencies[0].Password = "" }, `MGID_LOGIN/MGID_PASSWORD: missing credentials for agency 1 ("main")`},
		{"agency without login", func(c *Config) { c.MGID.Agencies[0].Login = "" }, "MGID_LOGIN/MGID_PASSWORD: missing credentials for agency 1"},
		{"agency twice", func(c *Config) { c.MGID.Agencies = append(c.MGID.Agencies, c.MGID.Agencies[0]) }, `mgid.agencies: login "a@example.com" is listed twice`},
		{"base url scheme", func(c *Config) { c.MGID.BaseURL = "ftp://user:canary-url-123@api.mgid.com" }, `MGID_BASE_URL: "ftp://user:xxxxx@api.mgid.com" is not an absolute http(s) URL`},
		{"base url relative", func(c *Config) { c.MGID.BaseURL = "api.mgid.com" }, "MGID_BASE_URL: \"api.mgid.com\" is not an absolute"},
		{"base url unparseable", func(c *Config) { c.MGID.BaseURL = "http://a b:canary-url-123@%zz" }, "MGID_BASE_URL: not a valid URL"},
		{"base url empty", func(c *Config) { c.MGID.BaseURL = "" }, "MGID_BASE_URL: required by mgid-balances, mgid-spend, mgid-topup"},
		{"gmedia token url", func(c *Config) { c.Gmedia.TokenURL = "" }, "GMEDIA_TOKEN_URL: required by mawthoq-recheck"},
		{"gmedia check url", func(c *Config) { c.Gmedia.CheckURL = "/CheckMawathoq" }, "GMEDIA_CHECK_URL"},
		{"gmedia client id", func(c *Config) { c.Gmedia.ClientID = "" }, "GMEDIA_CLIENT_ID: required by mawthoq-recheck"},
		{"gmedia client secret", func(c *Config) { c.Gmedia.ClientSecret = "" }, "GMEDIA_CLIENT_SECRET: required by mawthoq-recheck"},
		{"gmedia check method", func(c *Config) { c.Gmedia.CheckMethod = "PUT" }, `GMEDIA_CHECK_METHOD: "PUT" is not GET or POST`},
		{"gmedia client id key", func(c *Config) { c.Gmedia.ClientIDKey = "" }, "GMEDIA_CLIENT_ID_KEY: required"},
		{"gmedia request timeout", func(c *Config) { c.Gmedia.RequestTimeout = -1 }, "GMEDIA_REQUEST_TIMEOUT: must be positive"},
		{"hash key for mawthoq", func(c *Config) { c.HashKey = ""; disable(c, JobFirstlightRedeem) }, "SYNCER_HASH_KEY: required (a random string of at least 16 bytes) (needed by mawthoq-recheck)"},
		{"hash key for firstlight", func(c *Config) { c.HashKey = ""; disable(c, JobMawthoqRecheck) }, "SYNCER_HASH_KEY: required (a random string of at least 16 bytes) (needed by firstlight-redeem)"},
		{"short hash key", func(c *Config) { c.HashKey = "canary-short" }, "SYNCER_HASH_KEY: 12 bytes is too short"},
		{"mawthoq recheck after", func(c *Config) { c.Gmedia.Check.RecheckAfter = 0 }, "MAWTHOQ_RECHECK_AFTER: must be positive"},
		{"mawthoq concurrency", func(c *Config) { c.Gmedia.Check.Concurrency = 0 }, "MAWTHOQ_CONCURRENCY: must be at least 1"},
		{"mawthoq rate limit", func(c *Config) { c.Gmedia.Check.RateLimit = -1 }, "MAWTHOQ_RATE_LIMIT: must be 0 (unlimited) or a positive number"},
		{"mawthoq batch size", func(c *Config) { c.Gmedia.Check.BatchSize = 0 }, "MAWTHOQ_BATCH_SIZE: must be at least 1"},
		{"mawthoq lease", func(c *Config) { c.Gmedia.Check.Lease = 0 }, "MAWTHOQ_LEASE: must be positive"},
		{"mawthoq lease below timeout", func(c *Config) { c.Gmedia.Check.Lease = 10 * time.Second }, "MAWTHOQ_LEASE: 10s is shorter than GMEDIA_REQUEST_TIMEOUT (15s)"},
		{"firstlight recheck after", func(c *Config) { c.Firstlight.Check.RecheckAfter = -time.Hour }, "FIRSTLIGHT_RECHECK_AFTER: must be positive"},
		{"firstlight concurrency", func(c *Config) { c.Firstlight.Check.Concurrency = -2 }, "FIRSTLIGHT_CONCURRENCY: must be at least 1"},
		{"firstlight rate limit", func(c *Config) { c.Firstlight.Check.RateLimit = -0.5 }, "FIRSTLIGHT_RATE_LIMIT"},
		{"firstlight batch size", func(c *Config) { c.Firstlight.Check.BatchSize = 0 }, "FIRSTLIGHT_BATCH_SIZE: must be at least 1"},
		{"firstlight lease", func(c *Config) { c.Firstlight.Check.Lease = 0 }, "FIRSTLIGHT_LEASE: must be positive"},
		{"firstlight request timeout", func(c *Config) { c.Firstlight.RequestTimeout = 0 }, "FIRSTLIGHT_REQUEST_TIMEOUT: must be positive"},
		{"firstlight url", func(c *Config) { c.Firstlight.URL = "" }, "FIRSTLIGHT_URL: required by firstlight-redeem"},
		{"firstlight no iam token", func(c *Config) { c.Firstlight.IAMToken = "" }, "FIRSTLIGHT_IAM_TOKEN: required by firstlight-redeem, or FIRSTLIGHT_TOKEN_URL"},
		{"firstlight both token ways", func(c *Config) { c.Firstlight.TokenURL = "https://fl.example/token" }, "FIRSTLIGHT_IAM_TOKEN: set either it or FIRSTLIGHT_TOKEN_URL"},
		{"firstlight token url without secret", func(c *Config) {
			c.Firstlight.IAMToken = ""
			c.Firstlight.TokenURL = "https://fl.example/token"
			c.Firstlight.ClientID = "id"
		}, "FIRSTLIGHT_CLIENT_SECRET: required with FIRSTLIGHT_TOKEN_URL"},
		{"firstlight secret without id", func(c *Config) {
			c.Firstlight.IAMToken = ""
			c.Firstlight.TokenURL = "https://fl.example/token"
			c.Firstlight.ClientSecret = "canary-fl-123"
		}, "FIRSTLIGHT_CLIENT_ID: required with FIRSTLIGHT_TOKEN_URL"},
		{"firstlight id without token url", func(c *Config) {
			c.Firstlight.IAMToken = ""
			c.Firstlight.ClientID = "id"
			c.Firstlight.ClientSecret = "canary-fl-123"
		}, "FIRSTLIGHT_TOKEN_URL: required by firstlight-redeem"},
		{"account type", func(c *Config) { c.TopUp.AccountType = "credit" }, `topup.account_type: "credit" is not personal or bonus`},
		{"negative cap", func(c *Config) { c.TopUp.MaxPerTransfer = amount("-1") }, "topup.max_per_transfer: -1.00 must be positive"},
		{"cap with 3 places", func(c *Config) { c.TopUp.MaxPerClientDay = amount("10.005") }, "topup.max_per_client_day: 10.005 has more than 2 decimal places"},
		{"cap missing", func(c *Config) { c.TopUp.MaxPerAgencyDay = money.Amount{} }, "topup.max_per_agency_day: required by mgid-topup"},
		{"no rule", func(c *Config) { c.TopUp.Default = nil; c.TopUp.Clients = nil }, "topup.default/topup.clients: required by mgid-topup: at least one rule"},
		{"default min not below target", func(c *Config) { c.TopUp.Default.Min = amount("200") }, "topup.default: min 200.00 must be below target 200.00"},
		{"client min above target", func(c *Config) { c.TopUp.Clients[5001] = TopUpRule{amount("20"), amount("10")} }, "topup.clients.5001: min 20.00 must be below target 10.00"},
		{"negative min", func(c *Config) { c.TopUp.Clients[5001] = TopUpRule{amount("-5"), amount("10")} }, "topup.clients.5001.min: -5.00 must not be negative"},
		{"target with 4 places", func(c *Config) { c.TopUp.Default.Target = amount("200.0001") }, "topup.default.target: 200.0001 has more than 2 decimal places"},
		{"client id", func(c *Config) { c.TopUp.Clients[0] = TopUpRule{amount("1"), amount("2")} }, "topup.clients.0: 0 is not an MGID client id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := validConfig()
			tt.mutate(&c)
			err := c.Validate()
			if err == nil {
				t.Fatalf("Validate succeeded, want %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q\ndoes not contain %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "canary") {
				t.Errorf("error shows a secret: %v", err)
			}
		})
	}
}

func TestValidateDisabledJobsNeedNothing(t *testing.T) {
	t.Parallel()
	c := Defaults()
	c.DatabaseURL = "postgres://localhost/syncer"
	for name, j := range c.Jobs {
		j.Enabled = false
		c.Jobs[name] = j
	}
	c.MGID.BaseURL = "" // only the MGID jobs need it
	if err := c.Validate(); err != nil {
		t.Errorf("Validate with every job disabled = %v", err)
	}
}

func TestValidateCollectsEveryProblem(t *testing.T) {
	t.Parallel()
	c := validConfig()
	c.DatabaseURL = ""
	c.MGID.LookbackDays = 1000
	c.Gmedia.ClientSecret = ""
	err := c.Validate()
	for _, want := range []string{"DATABASE_URL", "MGID_LOOKBACK_DAYS", "GMEDIA_CLIENT_SECRET"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not mention %s", err, want)
		}
	}
	var joined interface{ Unwrap() []error }
	if !errors.As(err, &joined) || len(joined.Unwrap()) != 3 {
		t.Errorf("want 3 joined problems, got %v", err)
	}
}

func TestRequireHashKey(t *testing.T) {
	t.Parallel()
	tests := []struct {
		key  Secret
		want string // "" = ok
	}{
		{"", "SYNCER_HASH_KEY: required"},
		{"canary-15-bytes", "SYNCER_HASH_KEY: 15 bytes is too short"},
		{"0123456789abcdef", ""},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%d bytes", len(tt.key)), func(t *testing.T) {
			t.Parallel()
			c := Config{HashKey: tt.key}
			err := c.RequireHashKey()
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("RequireHashKey(%d bytes) = %v", len(tt.key), err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("RequireHashKey(%d bytes) = %v, want %q", len(tt.key), err, tt.want)
			case err != nil && tt.key != "" && strings.Contains(err.Error(), string(tt.key)):
				t.Errorf("error shows the key: %v", err)
			}
		})
	}
}

// Retention is off by default: its job is not scheduled until
// SYNCER_RETENTION_DETAIL_DAYS says how many days to keep.
func TestRetentionJobFollowsDetailDays(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		days int
		want bool
	}{{0, false}, {90, true}} {
		c := validConfig()
		c.RetentionDetailDays = tc.days
		if err := c.Validate(); err != nil {
			t.Fatal(err)
		}
		if got := c.Jobs[JobMGIDRetention].Enabled; got != tc.want {
			t.Errorf("detail days %d: retention job enabled = %v, want %v", tc.days, got, tc.want)
		}
	}
}

// A reading command (jobs, gaps, check) needs only DATABASE_URL, and keeps
// each job's enabled flag; a bad schedule is still refused.
func TestValidateForReadingKeepsEnabledFlags(t *testing.T) {
	t.Parallel()
	c := Defaults()
	c.DatabaseURL = "postgres://localhost/syncer"
	c.MGID.Agencies = nil
	if err := c.Validate(); err == nil {
		t.Fatal("Validate without MGID credentials succeeded; the test needs it to fail")
	}
	if err := c.ValidateForReading(); err != nil {
		t.Fatalf("ValidateForReading = %v", err)
	}
	if !c.Jobs[JobMGIDSpend].Enabled || c.Jobs[JobMGIDTopUp].Enabled || c.Jobs[JobMGIDRetention].Enabled {
		t.Errorf("enabled flags changed: %+v", c.Jobs)
	}
	j := c.Jobs[JobMGIDSpend]
	j.Schedule = "@every 0s"
	c.Jobs[JobMGIDSpend] = j
	if err := c.ValidateForReading(); err == nil || !strings.Contains(err.Error(), "JOB_MGID_SPEND_SCHEDULE") {
		t.Errorf("ValidateForReading with @every 0s = %v", err)
	}
}
