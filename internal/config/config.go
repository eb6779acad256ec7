// Package config is syncer's configuration: one struct, its defaults, loading
// from the environment and an optional YAML file, and validation. Every other
// package receives plain values from main; none reads the environment itself.
package config

import (
	"log/slog"
	"strconv"
	"time"

	"syncer/internal/money"
)

// Secret is a value that must never be printed. Its String and MarshalYAML
// forms are redacted; Value gives the real thing to the one place that sends it.
type Secret string

// Value returns the secret itself.
func (s Secret) Value() string { return string(s) }

// String redacts the secret.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return redactedMark
}

// GoString redacts %#v too, which would otherwise print the raw string.
func (s Secret) GoString() string { return strconv.Quote(s.String()) }

// MarshalYAML redacts, so marshalling a Config cannot leak.
func (s Secret) MarshalYAML() (any, error) { return s.String(), nil }

// MarshalJSON redacts: slog's JSON handler marshals structs field by field
// and would otherwise print the raw string.
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(strconv.Quote(s.String())), nil }

// LogValue redacts a Secret logged on its own with slog.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

const redactedMark = "[redacted]"

// HTTPOff as SYNCER_HTTP_ADDR turns the listener off. An empty variable
// cannot say it: every empty variable counts as unset (the default).
const HTTPOff = "off"

// HTTPEnabled reports whether `syncer run` listens on HTTPAddr.
func (c Config) HTTPEnabled() bool { return c.HTTPAddr != "" && c.HTTPAddr != HTTPOff }

// Config is the whole configuration.
type Config struct {
	DatabaseURL   Secret        // DATABASE_URL; may hold a password
	AutoMigrate   bool          // SYNCER_AUTO_MIGRATE: `run` applies pending migrations first (default true)
	ShutdownGrace time.Duration // SYNCER_SHUTDOWN_GRACE: how long a running job may finish after SIGTERM (default 30s)
	LogLevel      string        // SYNCER_LOG_LEVEL: debug|info|warn|error (default info)
	// HTTPAddr is where `syncer run` serves /metrics, /healthz, /readyz and
	// the status page (SYNCER_HTTP_ADDR, default 127.0.0.1:9188); HTTPOff
	// (or "" in the YAML file) disables it. See HTTPEnabled.
	HTTPAddr  string
	LogFormat string // SYNCER_LOG_FORMAT: text|json (json: one object per line; default text)
	// HashKey keys the stable hash of personal identifiers shown in bi views
	// (SYNCER_HASH_KEY). Required when a tracked-check job is enabled.
	HashKey Secret

	Jobs     map[string]Job // keyed by job name; every name in JobNames is present after Load
	Backfill Backfill
	// RetentionDetailDays (SYNCER_RETENTION_DETAIL_DAYS): keep every client
	// wallet snapshot for this many days, then only the daily rows; the
	// mgid-retention job drops whole months of detail. 0 (default): keep all.
	RetentionDetailDays int
	MGID                MGID
	Gmedia              Gmedia
	Firstlight          Firstlight
	TopUp               TopUp
	Transfer            Transfer
}

// Job is one job's schedule.
type Job struct {
	Enabled  bool          // JOB_<NAME>_ENABLED, e.g. JOB_MGID_BALANCES_ENABLED
	Schedule string        // JOB_<NAME>_SCHEDULE: 5-field cron, @every 10m, @hourly, @daily ...
	Timeout  time.Duration // JOB_<NAME>_TIMEOUT
}

// Backfill tunes `syncer backfill`.
type Backfill struct {
	Concurrency int // BACKFILL_CONCURRENCY: day windows in flight at once (default 4)
}

// MGID is the MGID agency API.
type MGID struct {
	BaseURL        string         // MGID_BASE_URL (default https://api.mgid.com)
	Timezone       string         // MGID_TIMEZONE: zone whose calendar days spend is reported in (default UTC)
	Location       *time.Location // Timezone, loaded by Validate
	LookbackDays   int            // MGID_LOOKBACK_DAYS: days before today that mgid-spend re-reads (default 7)
	RequestTimeout time.Duration  // MGID_REQUEST_TIMEOUT: per HTTP request (default 30s)
	// AgencyConcurrency is MGID_AGENCY_CONCURRENCY: agencies a process
	// works on at once in mgid-balances, mgid-spend and each backfill day
	// (default 4, for a 2-core box: the work waits on MGID and on COPY).
	AgencyConcurrency int
	// Agencies: one from MGID_LOGIN/MGID_PASSWORD, or several from the YAML file.
	Agencies []MGIDAgency
}

// MGIDAgency is one agency's login.
type MGIDAgency struct {
	Name     string // free label for logs; defaults to the login
	Login    string
	Password Secret
}

// Gmedia is the Gmedia CheckMawathoq API and the mawthoq-recheck job.
type Gmedia struct {
	TokenURL       string        // GMEDIA_TOKEN_URL
	CheckURL       string        // GMEDIA_CHECK_URL
	CheckMethod    string        // GMEDIA_CHECK_METHOD (default POST)
	ClientIDKey    string        // GMEDIA_CLIENT_ID_KEY: JSON key of the client id in the token request (default client_id; the spec's sample says clienr_id)
	ClientID       string        // GMEDIA_CLIENT_ID
	ClientSecret   Secret        // GMEDIA_CLIENT_SECRET
	RequestTimeout time.Duration // GMEDIA_REQUEST_TIMEOUT (default 15s)
	Check          TrackedCheck
}

// Firstlight is the Firstlight checkredeem API and the firstlight-redeem job.
type Firstlight struct {
	URL            string        // FIRSTLIGHT_URL: full URL of …/media/content/checkredeem
	IAMToken       Secret        // FIRSTLIGHT_IAM_TOKEN: static IAM bearer token, or
	TokenURL       string        // FIRSTLIGHT_TOKEN_URL: client-credentials token endpoint
	ClientID       string        // FIRSTLIGHT_CLIENT_ID
	ClientSecret   Secret        // FIRSTLIGHT_CLIENT_SECRET
	RequestTimeout time.Duration // FIRSTLIGHT_REQUEST_TIMEOUT (default 15s)
	// UserTokenDir: directory of files named after user token references
	// (FIRSTLIGHT_USER_TOKEN_DIR). A reference REF resolves from the
	// environment variable FIRSTLIGHT_USER_TOKEN_<REF> first, then this dir.
	UserTokenDir string
	Check        TrackedCheck
}

// TrackedCheck tunes a tracked-check job.
type TrackedCheck struct {
	RecheckAfter time.Duration // <P>_RECHECK_AFTER: default 24h (Mawthoq), 1h (Firstlight)
	Concurrency  int           // <P>_CONCURRENCY: requests in flight (default 8)
	RateLimit    float64       // <P>_RATE_LIMIT: requests per second, 0 = unlimited (default 10)
	BatchSize    int           // <P>_BATCH_SIZE: targets claimed at once (default 100)
	Lease        time.Duration // <P>_LEASE: how long a claim holds before another replica may take it (default 5m)
}

// Transfer guards every MGID transfer against a failover of the database.
type Transfer struct {
	// MinReplicas (SYNCER_TRANSFER_MIN_REPLICAS): before a transfer's
	// request leaves, at least this many standbys must have flushed its
	// journal row, so a failover cannot lose the record that money moved.
	// 0 (default): no wait, as with a single Postgres.
	MinReplicas int
	// ReplicaTimeout (SYNCER_TRANSFER_REPLICA_TIMEOUT): how long a transfer
	// waits for them (default 10s; never past the run's own deadline).
	ReplicaTimeout time.Duration
}

// TopUp is the opt-in auto top-up policy (YAML only; see README).
type TopUp struct {
	DryRun          bool         // default true: journal the plan, send nothing
	AccountType     string       // personal|bonus (default personal)
	MaxPerTransfer  money.Amount // cap on one transfer
	MaxPerClientDay money.Amount // cap on the sum sent to one client in a day (MGID_TIMEZONE days)
	MaxPerAgencyDay money.Amount // cap on the sum sent by one agency in a day
	Default         *TopUpRule   // applies to clients without their own rule; nil = none
	Clients         map[int64]TopUpRule
}

// TopUpRule: when a client's balance is below Min, top it up to Target.
type TopUpRule struct {
	Min    money.Amount
	Target money.Amount
}
