package config

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestEnvOverridesFile(t *testing.T) {
	t.Parallel()
	path := writeTemp(t, "syncer.yaml", `
log_level: debug
jobs:
  mgid-balances: {enabled: true, schedule: "@every 1h", timeout: 1m}
mgid:
  lookback_days: 3
  agencies:
    - {login: file-a, password: pa}
    - {login: file-b, password: pb}
gmedia: {rate_limit: 1}
topup: {dry_run: false}
`)
	c, err := Load(path, getenv(map[string]string{
		"DATABASE_URL":                  "postgres://env/db",
		"SYNCER_LOG_LEVEL":              "warn",
		"SYNCER_AUTO_MIGRATE":           "false",
		"JOB_MGID_BALANCES_SCHEDULE":    "*/5 * * * *",
		"JOB_MGID_TOPUP_ENABLED":        "true",
		"JOB_FIRSTLIGHT_REDEEM_TIMEOUT": "90s",
		"MGID_LOOKBACK_DAYS":            "10",
		"MGID_LOGIN":                    "env-login",
		"MGID_PASSWORD":                 "env-pass",
		"MAWTHOQ_RATE_LIMIT":            "0.5",
		"FIRSTLIGHT_BATCH_SIZE":         "7",
		"MGID_TOPUP_DRY_RUN":            "true",
	}))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		got, want any
	}{
		{"DatabaseURL", c.DatabaseURL.Value(), "postgres://env/db"},
		{"LogLevel", c.LogLevel, "warn"},
		{"AutoMigrate", c.AutoMigrate, false},
		{"mgid-balances: env schedule, file timeout", c.Jobs[JobMGIDBalances], Job{true, "*/5 * * * *", time.Minute}},
		{"mgid-topup", c.Jobs[JobMGIDTopUp].Enabled, true},
		{"firstlight-redeem", c.Jobs[JobFirstlightRedeem].Timeout, 90 * time.Second},
		{"LookbackDays", c.MGID.LookbackDays, 10},
		{"Agencies replaced", c.MGID.Agencies, []MGIDAgency{{Name: "env-login", Login: "env-login", Password: "env-pass"}}},
		{"Gmedia.Check.RateLimit", c.Gmedia.Check.RateLimit, 0.5},
		{"Firstlight.Check.BatchSize", c.Firstlight.Check.BatchSize, 7},
		{"TopUp.DryRun", c.TopUp.DryRun, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if !reflect.DeepEqual(tt.got, tt.want) {
				t.Errorf("%s = %#v, want %#v", tt.name, tt.got, tt.want)
			}
		})
	}
}

func TestSecretFiles(t *testing.T) {
	t.Parallel()
	tests := []struct {
		env  string
		read func(Config) string
	}{
		{"DATABASE_URL", func(c Config) string { return c.DatabaseURL.Value() }},
		{"SYNCER_HASH_KEY", func(c Config) string { return c.HashKey.Value() }},
		{"MGID_PASSWORD", func(c Config) string { return c.MGID.Agencies[0].Password.Value() }},
		{"GMEDIA_CLIENT_SECRET", func(c Config) string { return c.Gmedia.ClientSecret.Value() }},
		{"FIRSTLIGHT_IAM_TOKEN", func(c Config) string { return c.Firstlight.IAMToken.Value() }},
		{"FIRSTLIGHT_CLIENT_SECRET", func(c Config) string { return c.Firstlight.ClientSecret.Value() }},
	}
	for _, tt := range tests {
		t.Run(tt.env, func(t *testing.T) {
			t.Parallel()
			path := writeTemp(t, "secret", "canary-file-123\n")
			c, err := Load("", getenv(map[string]string{tt.env + "_FILE": path, "MGID_LOGIN": "l"}))
			if err != nil {
				t.Fatal(err)
			}
			if got := tt.read(c); got != "canary-file-123" {
				t.Errorf("value = %q, want the file's contents without the newline", got)
			}

			_, err = Load("", getenv(map[string]string{tt.env + "_FILE": path, tt.env: "canary-env-123", "MGID_LOGIN": "l"}))
			if err == nil || !strings.Contains(err.Error(), tt.env+" and "+tt.env+"_FILE are both set") {
				t.Errorf("both set: err = %v", err)
			} else if strings.Contains(err.Error(), "canary") {
				t.Errorf("error shows a secret: %v", err)
			}

			_, err = Load("", getenv(map[string]string{tt.env + "_FILE": path + ".missing"}))
			if err == nil || !strings.Contains(err.Error(), tt.env+"_FILE") {
				t.Errorf("missing file: err = %v, want it to name %s_FILE", err, tt.env)
			}
		})
	}
}

func TestPasswordReferencedByFile(t *testing.T) {
	t.Parallel()
	path := writeTemp(t, "syncer.yaml", "mgid:\n  agencies: [{login: a, password: \"${MGID_PASSWORD}\"}]\n")
	c, err := Load(path, getenv(map[string]string{"MGID_PASSWORD": "pw"}))
	if err != nil {
		t.Fatal(err)
	}
	want := []MGIDAgency{{Name: "a", Login: "a", Password: "pw"}}
	if !reflect.DeepEqual(c.MGID.Agencies, want) {
		t.Errorf("Agencies = %#v, want %#v", c.MGID.Agencies, want)
	}
}

func TestLoadEnvironUnknownVariables(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		environ []string
		want    string // "" = no error
	}{
		{"known names", []string{"PATH=/bin", "JOB_MGID_SPEND_SCHEDULE=@hourly", "SYNCER_HASH_KEY_FILE=/dev/null", "SYNCER_CONFIG=/etc/s.yaml", "MGID_WHATEVER=1", "DATABASE_URL=postgres://h/db?sslmode=disable"}, ""},
		{"unknown job", []string{"JOB_MGID_BALANCE_ENABLED=true"}, "JOB_MGID_BALANCE_ENABLED: unknown variable (known jobs: mgid-balances"},
		{"unknown job field", []string{"JOB_MGID_BALANCES_ENABLD=true"}, "JOB_MGID_BALANCES_ENABLD: unknown variable (a job takes _ENABLED"},
		{"unknown SYNCER_", []string{"SYNCER_LOGLEVEL=debug"}, "SYNCER_LOGLEVEL: unknown variable"},
		{"_FILE of a non-secret", []string{"SYNCER_LOG_LEVEL_FILE=/x"}, "SYNCER_LOG_LEVEL_FILE: unknown variable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := LoadEnviron("", tt.environ)
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				if c.Jobs[JobMGIDSpend].Schedule != "@hourly" || c.DatabaseURL.Value() != "postgres://h/db?sslmode=disable" {
					t.Errorf("LoadEnviron did not apply the environment: %+v", c)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}
