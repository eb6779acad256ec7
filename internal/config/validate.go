package config

import (
	"errors"
	"fmt"
	"math"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // MGID_TIMEZONE must load the same in a distroless image as on a laptop

	"syncer/internal/money"
)

// MinHashKeyLen is the shortest SYNCER_HASH_KEY accepted: the key is all that
// stops someone with the bi views from hashing every account number and
// reversing the table, so it must not be guessable.
const MinHashKeyLen = 16

// problems collects every validation failure so an operator fixes them in one
// round. Each message starts with the setting's name.
type problems []error

func (p *problems) add(setting, format string, args ...any) {
	*p = append(*p, fmt.Errorf("%s: %s", setting, fmt.Sprintf(format, args...)))
}

// Validate checks c and returns every problem at once (errors.Join). It also
// loads MGID.Location from MGID.Timezone. Settings a disabled job needs are
// only required when the job is enabled.
func (c *Config) Validate() error {
	var p problems
	if c.DatabaseURL == "" {
		p.add("DATABASE_URL", "required")
	}
	if c.ShutdownGrace < 0 {
		p.add("SYNCER_SHUTDOWN_GRACE", "must not be negative, got %s", c.ShutdownGrace)
	}
	if !slices.Contains([]string{"debug", "info", "warn", "error"}, c.LogLevel) {
		p.add("SYNCER_LOG_LEVEL", "%q is not one of debug, info, warn, error", c.LogLevel)
	}
	if err := validateListenAddr(c.HTTPAddr); err != nil {
		p.add("SYNCER_HTTP_ADDR", "%q: %v", c.HTTPAddr, err)
	}
	if !slices.Contains([]string{"text", "json"}, c.LogFormat) {
		p.add("SYNCER_LOG_FORMAT", "%q is not one of text, json", c.LogFormat)
	}
	c.validateJobs(&p)
	if n := c.Backfill.Concurrency; n < 1 || n > 64 {
		p.add("BACKFILL_CONCURRENCY", "%d is outside 1..64", n)
	}
	c.validateRetention(&p)
	c.validateMGID(&p)
	c.validateGmedia(&p)
	c.validateFirstlight(&p)
	c.validateTopUp(&p)
	c.validateTransfer(&p)
	for _, s := range Registry {
		if s.Requires != nil && c.enabled(s.Name) {
			s.Requires(c, &p, s.Name)
		}
	}
	return errors.Join(p...)
}

// RequireHashKey reports whether SYNCER_HASH_KEY is usable; the track commands
// call it on their own, without a full Validate.
func (c *Config) RequireHashKey() error {
	switch n := len(c.HashKey); {
	case n == 0:
		return errors.New("SYNCER_HASH_KEY: required (a random string of at least 16 bytes)")
	case n < MinHashKeyLen:
		return fmt.Errorf("SYNCER_HASH_KEY: %d bytes is too short; use at least %d", n, MinHashKeyLen)
	}
	return nil
}

func (c *Config) enabled(name string) bool { return c.Jobs[name].Enabled }

func (c *Config) validateJobs(p *problems) {
	for _, name := range JobNames {
		env := JobEnvPrefix(name)
		j, ok := c.Jobs[name]
		if !ok {
			p.add("jobs."+name, "missing (Config.Jobs must hold every job; start from Defaults)")
			continue
		}
		if err := CheckSchedule(j.Schedule); err != nil {
			p.add(env+"SCHEDULE", "%q: %v", j.Schedule, err)
		}
		if j.Timeout <= 0 {
			p.add(env+"TIMEOUT", "must be positive, got %s", j.Timeout)
		}
	}
	for name := range c.Jobs {
		if !slices.Contains(JobNames, name) {
			p.add("jobs."+name, "unknown job (known jobs: %s)", strings.Join(JobNames, ", "))
		}
	}
}

// MaxRetentionDetailDays bounds SYNCER_RETENTION_DETAIL_DAYS: ten years.
const MaxRetentionDetailDays = 3650

func (c *Config) validateRetention(p *problems) {
	if n := c.RetentionDetailDays; n < 0 || n > MaxRetentionDetailDays {
		p.add("SYNCER_RETENTION_DETAIL_DAYS", "%d is outside 0..%d (0 keeps every snapshot)", n, MaxRetentionDetailDays)
		return
	}
	if c.RetentionDetailDays == 0 {
		// Retention is off: the job would have nothing to do, so it is not
		// scheduled, whatever JOB_MGID_RETENTION_ENABLED says.
		if j, ok := c.Jobs[JobMGIDRetention]; ok {
			j.Enabled = false
			c.Jobs[JobMGIDRetention] = j
		}
	}
}

func (c *Config) validateMGID(p *problems) {
	m := &c.MGID
	if m.Timezone == "Local" {
		// Local depends on the host: replicas would disagree on what "today" is.
		p.add("MGID_TIMEZONE", `"Local" is not allowed; name the zone, e.g. Europe/Moscow`)
	} else if loc, err := time.LoadLocation(m.Timezone); err != nil {
		p.add("MGID_TIMEZONE", "%q is not a known time zone", m.Timezone)
	} else {
		m.Location = loc
	}
	if m.LookbackDays < 0 || m.LookbackDays > 365 {
		p.add("MGID_LOOKBACK_DAYS", "%d is outside 0..365", m.LookbackDays)
	}
	if m.RequestTimeout <= 0 {
		p.add("MGID_REQUEST_TIMEOUT", "must be positive, got %s", m.RequestTimeout)
	}
	if m.AgencyConcurrency < 1 || m.AgencyConcurrency > 64 {
		p.add("MGID_AGENCY_CONCURRENCY", "%d is outside 1..64", m.AgencyConcurrency)
	}
	var needed []string
	for _, s := range Registry {
		if s.NeedsMGID && c.enabled(s.Name) {
			needed = append(needed, s.Name)
		}
	}
	if len(needed) == 0 {
		return
	}
	by := strings.Join(needed, ", ")
	checkURL(p, "MGID_BASE_URL", m.BaseURL, by)
	if len(m.Agencies) == 0 {
		p.add("MGID_LOGIN/MGID_PASSWORD", "missing credentials: no MGID agency configured (needed by %s)", by)
	}
	seen := make(map[string]bool)
	for i, a := range m.Agencies {
		if a.Login == "" || a.Password == "" {
			p.add("MGID_LOGIN/MGID_PASSWORD", "missing credentials for agency %d (%q)", i+1, a.Name)
		}
		if a.Login != "" && seen[a.Login] {
			p.add("mgid.agencies", "login %q is listed twice", a.Login)
		}
		seen[a.Login] = true
	}
}

func (c *Config) validateGmedia(p *problems) {
	g := &c.Gmedia
	if g.CheckMethod != "GET" && g.CheckMethod != "POST" {
		p.add("GMEDIA_CHECK_METHOD", "%q is not GET or POST", g.CheckMethod)
	}
	if g.ClientIDKey == "" {
		p.add("GMEDIA_CLIENT_ID_KEY", "required")
	}
	if g.RequestTimeout <= 0 {
		p.add("GMEDIA_REQUEST_TIMEOUT", "must be positive, got %s", g.RequestTimeout)
	}
	validateCheck(p, "MAWTHOQ_", g.Check, "GMEDIA_REQUEST_TIMEOUT", g.RequestTimeout)
}

// requireGmedia checks what a job calling Gmedia needs (JobSpec.Requires).
func (c *Config) requireGmedia(p *problems, by string) {
	g := &c.Gmedia
	checkURL(p, "GMEDIA_TOKEN_URL", g.TokenURL, by)
	checkURL(p, "GMEDIA_CHECK_URL", g.CheckURL, by)
	if g.ClientID == "" {
		p.add("GMEDIA_CLIENT_ID", "required by %s", by)
	}
	if g.ClientSecret == "" {
		p.add("GMEDIA_CLIENT_SECRET", "required by %s", by)
	}
	if err := c.RequireHashKey(); err != nil {
		*p = append(*p, fmt.Errorf("%w (needed by %s)", err, by))
	}
}

func (c *Config) validateFirstlight(p *problems) {
	f := &c.Firstlight
	if f.RequestTimeout <= 0 {
		p.add("FIRSTLIGHT_REQUEST_TIMEOUT", "must be positive, got %s", f.RequestTimeout)
	}
	validateCheck(p, "FIRSTLIGHT_", f.Check, "FIRSTLIGHT_REQUEST_TIMEOUT", f.RequestTimeout)
}

// requireFirstlight checks what a job calling Firstlight needs
// (JobSpec.Requires).
func (c *Config) requireFirstlight(p *problems, by string) {
	f := &c.Firstlight
	checkURL(p, "FIRSTLIGHT_URL", f.URL, by)
	grant := f.TokenURL != "" || f.ClientID != "" || f.ClientSecret != ""
	switch {
	case f.IAMToken != "" && grant:
		p.add("FIRSTLIGHT_IAM_TOKEN", "set either it or FIRSTLIGHT_TOKEN_URL/FIRSTLIGHT_CLIENT_ID/FIRSTLIGHT_CLIENT_SECRET, not both")
	case f.IAMToken == "" && !grant:
		p.add("FIRSTLIGHT_IAM_TOKEN", "required by %s, or FIRSTLIGHT_TOKEN_URL with FIRSTLIGHT_CLIENT_ID and FIRSTLIGHT_CLIENT_SECRET", by)
	case grant:
		checkURL(p, "FIRSTLIGHT_TOKEN_URL", f.TokenURL, by)
		if f.ClientID == "" {
			p.add("FIRSTLIGHT_CLIENT_ID", "required with FIRSTLIGHT_TOKEN_URL")
		}
		if f.ClientSecret == "" {
			p.add("FIRSTLIGHT_CLIENT_SECRET", "required with FIRSTLIGHT_TOKEN_URL")
		}
	}
	if err := c.RequireHashKey(); err != nil {
		*p = append(*p, fmt.Errorf("%w (needed by %s)", err, by))
	}
}

// validateCheck checks a tracked-check block; env is its prefix (MAWTHOQ_).
func validateCheck(p *problems, env string, t TrackedCheck, timeoutEnv string, requestTimeout time.Duration) {
	if t.RecheckAfter <= 0 {
		p.add(env+"RECHECK_AFTER", "must be positive, got %s", t.RecheckAfter)
	}
	if t.Concurrency < 1 {
		p.add(env+"CONCURRENCY", "must be at least 1, got %d", t.Concurrency)
	}
	if t.RateLimit < 0 || math.IsNaN(t.RateLimit) || math.IsInf(t.RateLimit, 0) {
		p.add(env+"RATE_LIMIT", "must be 0 (unlimited) or a positive number, got %v", t.RateLimit)
	}
	if t.BatchSize < 1 {
		p.add(env+"BATCH_SIZE", "must be at least 1, got %d", t.BatchSize)
	}
	switch {
	case t.Lease <= 0:
		p.add(env+"LEASE", "must be positive, got %s", t.Lease)
	case requestTimeout > 0 && t.Lease < requestTimeout:
		// A lease that expires mid-request lets another replica check the
		// same target at the same time.
		p.add(env+"LEASE", "%s is shorter than %s (%s)", t.Lease, timeoutEnv, requestTimeout)
	}
}

func (c *Config) validateTopUp(p *problems) {
	t := &c.TopUp
	if t.AccountType != "personal" && t.AccountType != "bonus" {
		p.add("topup.account_type", "%q is not personal or bonus", t.AccountType)
	}
	for _, cp := range t.caps() {
		switch {
		case cp.v.Sign() < 0:
			p.add(cp.key, "%s must be positive", cp.v)
		case !cp.v.MaxPlaces(2):
			p.add(cp.key, "%s has more than 2 decimal places", cp.v)
		}
	}
	if t.Default != nil {
		validateRule(p, "topup.default", *t.Default)
	}
	ids := make([]int64, 0, len(t.Clients))
	for id := range t.Clients {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		key := fmt.Sprintf("topup.clients.%d", id)
		if id <= 0 {
			p.add(key, "%d is not an MGID client id", id)
		}
		validateRule(p, key, t.Clients[id])
	}
}

// requireTopUp checks what a job sending top-ups needs (JobSpec.Requires):
// every cap set and at least one rule.
func (c *Config) requireTopUp(p *problems, by string) {
	t := &c.TopUp
	for _, cp := range t.caps() {
		if cp.v.Sign() == 0 {
			p.add(cp.key, "required by %s", by)
		}
	}
	if t.Default == nil && len(t.Clients) == 0 {
		p.add("topup.default/topup.clients", "required by %s: at least one rule", by)
	}
}

type topUpCap struct {
	key string
	v   money.Amount
}

func (t *TopUp) caps() []topUpCap {
	return []topUpCap{
		{"topup.max_per_transfer", t.MaxPerTransfer},
		{"topup.max_per_client_day", t.MaxPerClientDay},
		{"topup.max_per_agency_day", t.MaxPerAgencyDay},
	}
}

func validateRule(p *problems, key string, r TopUpRule) {
	if r.Min.Sign() < 0 {
		p.add(key+".min", "%s must not be negative", r.Min)
	}
	if r.Min.Cmp(r.Target) >= 0 {
		p.add(key, "min %s must be below target %s", r.Min, r.Target)
	}
	for _, a := range []struct {
		name string
		v    money.Amount
	}{{"min", r.Min}, {"target", r.Target}} {
		if !a.v.MaxPlaces(2) {
			p.add(key+"."+a.name, "%s has more than 2 decimal places", a.v)
		}
	}
}

// checkURL requires an absolute http(s) URL. The value is shown without its
// userinfo password, and not at all when it does not parse.
func checkURL(p *problems, env, raw, neededBy string) {
	if raw == "" {
		p.add(env, "required by %s", neededBy)
		return
	}
	u, err := url.Parse(raw)
	if err != nil {
		p.add(env, "not a valid URL")
		return
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		p.add(env, "%q is not an absolute http(s) URL", u.Redacted())
	}
}

// validateListenAddr accepts "" (no listener) or host:port with a port in
// 0..65535; port 0 picks a free one (tests).
func validateListenAddr(addr string) error {
	if addr == "" || addr == HTTPOff {
		return nil
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return errors.New("want host:port such as 127.0.0.1:9188 or :9188, or off to disable")
	}
	if strings.ContainsAny(host, " /") {
		return fmt.Errorf("host %q is not a host name or IP address", host)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("port %q is not a number in 0..65535", port)
	}
	return nil
}

// MaxTransferMinReplicas bounds SYNCER_TRANSFER_MIN_REPLICAS: more than
// Postgres's max_wal_senders could ever stream to is a typo.
const MaxTransferMinReplicas = 32

// MaxTransferReplicaTimeout bounds SYNCER_TRANSFER_REPLICA_TIMEOUT: a wait
// longer than this is an outage, better failed and seen.
const MaxTransferReplicaTimeout = 5 * time.Minute

func (c *Config) validateTransfer(p *problems) {
	t := c.Transfer
	if t.MinReplicas < 0 || t.MinReplicas > MaxTransferMinReplicas {
		p.add("SYNCER_TRANSFER_MIN_REPLICAS", "%d is outside 0..%d (0: no standby needed)", t.MinReplicas, MaxTransferMinReplicas)
	}
	if t.ReplicaTimeout <= 0 || t.ReplicaTimeout > MaxTransferReplicaTimeout {
		p.add("SYNCER_TRANSFER_REPLICA_TIMEOUT", "%s is outside (0, %s]", t.ReplicaTimeout, MaxTransferReplicaTimeout)
	}
}
