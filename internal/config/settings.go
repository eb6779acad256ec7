package config

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"syncer/internal/money"
)

// setting is one scalar setting: where it lives in the YAML file, which
// environment variable overrides it, and how to parse and show it. One table
// (settings) drives the file, the environment and Redacted, so a new setting
// is one line and the three cannot drift apart. Lists and maps (MGID agencies,
// top-up rules) are not scalars and are handled by hand.
type setting struct {
	key    string // path in the YAML file, e.g. "mgid.lookback_days"
	env    string // environment variable; "" for file-only settings
	secret bool   // may come from <env>_FILE; Redacted hides it
	parse  func(string) error
	// show renders the current value for Redacted; quoted forces a YAML
	// string so that "true" or "10" stay strings.
	show func() (value string, quoted bool)
}

// ref reaches a value in a Config. Job fields live in a map, whose values are
// not addressable, so a plain pointer does not do.
type ref[T any] struct {
	get func() T
	set func(T)
}

func ptr[T any](p *T) ref[T] {
	return ref[T]{get: func() T { return *p }, set: func(v T) { *p = v }}
}

func jobField[T any](c *Config, name string, field func(*Job) *T) ref[T] {
	return ref[T]{
		get: func() T { j := c.Jobs[name]; return *field(&j) },
		set: func(v T) {
			if c.Jobs == nil {
				c.Jobs = make(map[string]Job)
			}
			j := c.Jobs[name]
			*field(&j) = v
			c.Jobs[name] = j
		},
	}
}

// JobEnvPrefix is the environment prefix of a job's settings, e.g.
// JOB_MGID_BALANCES_ for mgid-balances.
func JobEnvPrefix(name string) string {
	return "JOB_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_")) + "_"
}

// settings lists every scalar setting of c in the order of the YAML file.
func settings(c *Config) []setting {
	s := []setting{
		secretSetting("database_url", "DATABASE_URL", ptr(&c.DatabaseURL), redactDatabaseURL),
		boolSetting("auto_migrate", "SYNCER_AUTO_MIGRATE", ptr(&c.AutoMigrate)),
		durationSetting("shutdown_grace", "SYNCER_SHUTDOWN_GRACE", ptr(&c.ShutdownGrace)),
		stringSetting("log_level", "SYNCER_LOG_LEVEL", ptr(&c.LogLevel)),
		stringSetting("http_addr", "SYNCER_HTTP_ADDR", ptr(&c.HTTPAddr)),
		stringSetting("log_format", "SYNCER_LOG_FORMAT", ptr(&c.LogFormat)),
		secretSetting("hash_key", "SYNCER_HASH_KEY", ptr(&c.HashKey), nil),
	}
	for _, name := range JobNames {
		key, env := "jobs."+name+".", JobEnvPrefix(name)
		s = append(s,
			boolSetting(key+"enabled", env+"ENABLED", jobField(c, name, func(j *Job) *bool { return &j.Enabled })),
			stringSetting(key+"schedule", env+"SCHEDULE", jobField(c, name, func(j *Job) *string { return &j.Schedule })),
			durationSetting(key+"timeout", env+"TIMEOUT", jobField(c, name, func(j *Job) *time.Duration { return &j.Timeout })),
		)
	}
	s = append(s,
		intSetting("backfill.concurrency", "BACKFILL_CONCURRENCY", ptr(&c.Backfill.Concurrency)),
		intSetting("retention.detail_days", "SYNCER_RETENTION_DETAIL_DAYS", ptr(&c.RetentionDetailDays)),

		urlSetting("mgid.base_url", "MGID_BASE_URL", ptr(&c.MGID.BaseURL)),
		stringSetting("mgid.timezone", "MGID_TIMEZONE", ptr(&c.MGID.Timezone)),
		intSetting("mgid.lookback_days", "MGID_LOOKBACK_DAYS", ptr(&c.MGID.LookbackDays)),
		durationSetting("mgid.request_timeout", "MGID_REQUEST_TIMEOUT", ptr(&c.MGID.RequestTimeout)),
		intSetting("mgid.agency_concurrency", "MGID_AGENCY_CONCURRENCY", ptr(&c.MGID.AgencyConcurrency)),

		urlSetting("gmedia.token_url", "GMEDIA_TOKEN_URL", ptr(&c.Gmedia.TokenURL)),
		urlSetting("gmedia.check_url", "GMEDIA_CHECK_URL", ptr(&c.Gmedia.CheckURL)),
		stringSetting("gmedia.check_method", "GMEDIA_CHECK_METHOD", ptr(&c.Gmedia.CheckMethod)),
		stringSetting("gmedia.client_id_key", "GMEDIA_CLIENT_ID_KEY", ptr(&c.Gmedia.ClientIDKey)),
		stringSetting("gmedia.client_id", "GMEDIA_CLIENT_ID", ptr(&c.Gmedia.ClientID)),
		secretSetting("gmedia.client_secret", "GMEDIA_CLIENT_SECRET", ptr(&c.Gmedia.ClientSecret), nil),
		durationSetting("gmedia.request_timeout", "GMEDIA_REQUEST_TIMEOUT", ptr(&c.Gmedia.RequestTimeout)),
	)
	s = append(s, checkSettings("gmedia.", "MAWTHOQ_", &c.Gmedia.Check)...)
	s = append(s,
		urlSetting("firstlight.url", "FIRSTLIGHT_URL", ptr(&c.Firstlight.URL)),
		secretSetting("firstlight.iam_token", "FIRSTLIGHT_IAM_TOKEN", ptr(&c.Firstlight.IAMToken), nil),
		urlSetting("firstlight.token_url", "FIRSTLIGHT_TOKEN_URL", ptr(&c.Firstlight.TokenURL)),
		stringSetting("firstlight.client_id", "FIRSTLIGHT_CLIENT_ID", ptr(&c.Firstlight.ClientID)),
		secretSetting("firstlight.client_secret", "FIRSTLIGHT_CLIENT_SECRET", ptr(&c.Firstlight.ClientSecret), nil),
		durationSetting("firstlight.request_timeout", "FIRSTLIGHT_REQUEST_TIMEOUT", ptr(&c.Firstlight.RequestTimeout)),
		stringSetting("firstlight.user_token_dir", "FIRSTLIGHT_USER_TOKEN_DIR", ptr(&c.Firstlight.UserTokenDir)),
	)
	s = append(s, checkSettings("firstlight.", "FIRSTLIGHT_", &c.Firstlight.Check)...)
	return append(s,
		boolSetting("topup.dry_run", "MGID_TOPUP_DRY_RUN", ptr(&c.TopUp.DryRun)),
		stringSetting("topup.account_type", "", ptr(&c.TopUp.AccountType)),
		moneySetting("topup.max_per_transfer", ptr(&c.TopUp.MaxPerTransfer)),
		moneySetting("topup.max_per_client_day", ptr(&c.TopUp.MaxPerClientDay)),
		moneySetting("topup.max_per_agency_day", ptr(&c.TopUp.MaxPerAgencyDay)),
		intSetting("transfer.min_replicas", "SYNCER_TRANSFER_MIN_REPLICAS", ptr(&c.Transfer.MinReplicas)),
		durationSetting("transfer.replica_timeout", "SYNCER_TRANSFER_REPLICA_TIMEOUT", ptr(&c.Transfer.ReplicaTimeout)),
	)
}

func checkSettings(key, env string, t *TrackedCheck) []setting {
	return []setting{
		durationSetting(key+"recheck_after", env+"RECHECK_AFTER", ptr(&t.RecheckAfter)),
		intSetting(key+"concurrency", env+"CONCURRENCY", ptr(&t.Concurrency)),
		floatSetting(key+"rate_limit", env+"RATE_LIMIT", ptr(&t.RateLimit)),
		intSetting(key+"batch_size", env+"BATCH_SIZE", ptr(&t.BatchSize)),
		durationSetting(key+"lease", env+"LEASE", ptr(&t.Lease)),
	}
}

func stringSetting(key, env string, r ref[string]) setting {
	return setting{key: key, env: env,
		parse: func(s string) error { r.set(s); return nil },
		show:  func() (string, bool) { return r.get(), true },
	}
}

// urlSetting is a string that Redacted shows without a userinfo password.
func urlSetting(key, env string, r ref[string]) setting {
	s := stringSetting(key, env, r)
	s.show = func() (string, bool) { return redactURL(r.get()), true }
	return s
}

// secretSetting is a Secret; show, when given, renders a partly redacted form.
func secretSetting(key, env string, r ref[Secret], show func(string) string) setting {
	if show == nil {
		show = func(s string) string { return Secret(s).String() }
	}
	return setting{key: key, env: env, secret: true,
		parse: func(s string) error { r.set(Secret(s)); return nil },
		show:  func() (string, bool) { return show(r.get().Value()), true },
	}
}

func boolSetting(key, env string, r ref[bool]) setting {
	return setting{key: key, env: env,
		parse: func(s string) error {
			v, err := strconv.ParseBool(s)
			if err != nil {
				return fmt.Errorf("%q is not true or false", s)
			}
			r.set(v)
			return nil
		},
		show: func() (string, bool) { return strconv.FormatBool(r.get()), false },
	}
}

func intSetting(key, env string, r ref[int]) setting {
	return setting{key: key, env: env,
		parse: func(s string) error {
			v, err := strconv.Atoi(s)
			if err != nil {
				return fmt.Errorf("%q is not a whole number", s)
			}
			r.set(v)
			return nil
		},
		show: func() (string, bool) { return strconv.Itoa(r.get()), false },
	}
}

func floatSetting(key, env string, r ref[float64]) setting {
	return setting{key: key, env: env,
		parse: func(s string) error {
			v, err := strconv.ParseFloat(s, 64)
			if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
				return fmt.Errorf("%q is not a number", s)
			}
			r.set(v)
			return nil
		},
		show: func() (string, bool) { return strconv.FormatFloat(r.get(), 'f', -1, 64), false },
	}
}

func durationSetting(key, env string, r ref[time.Duration]) setting {
	return setting{key: key, env: env,
		parse: func(s string) error {
			v, err := time.ParseDuration(s)
			if err != nil {
				return fmt.Errorf("%q is not a duration such as 30s, 5m or 24h", s)
			}
			r.set(v)
			return nil
		},
		show: func() (string, bool) { return formatDuration(r.get()), true },
	}
}

// moneySetting is an optional amount: "" (or a YAML null) leaves it unset (zero).
func moneySetting(key string, r ref[money.Amount]) setting {
	return setting{key: key,
		parse: func(s string) error {
			v, err := parseAmount(s, true)
			if err != nil {
				return err
			}
			r.set(v)
			return nil
		},
		show: func() (string, bool) {
			if r.get().Sign() == 0 {
				return "", true
			}
			return r.get().String(), true
		},
	}
}

func parseAmount(s string, optional bool) (money.Amount, error) {
	if s == "" && optional {
		return money.Amount{}, nil
	}
	v, err := money.Parse(s)
	if err != nil {
		return money.Amount{}, fmt.Errorf("%q is not an amount such as \"500.00\"", s)
	}
	return v, nil
}

// formatDuration drops the zero units time.Duration.String keeps ("24h0m0s"
// becomes "24h") so the printed configuration reads like the file.
func formatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
