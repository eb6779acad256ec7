package config

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"syncer/internal/money"
)

// getenv is a map-backed environment: tests never read the real one.
func getenv(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// writeTemp writes content to a fresh file and returns its path.
func writeTemp(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestDefaults(t *testing.T) {
	t.Parallel()
	d := Defaults()
	tests := []struct {
		name      string
		got, want any
	}{
		{"AutoMigrate", d.AutoMigrate, true},
		{"ShutdownGrace", d.ShutdownGrace, 30 * time.Second},
		{"LogLevel", d.LogLevel, "info"},
		{"Backfill.Concurrency", d.Backfill.Concurrency, 4},
		{"MGID.BaseURL", d.MGID.BaseURL, "https://api.mgid.com"},
		{"MGID.Timezone", d.MGID.Timezone, "UTC"},
		{"MGID.LookbackDays", d.MGID.LookbackDays, 7},
		{"MGID.RequestTimeout", d.MGID.RequestTimeout, 30 * time.Second},
		{"Gmedia.CheckMethod", d.Gmedia.CheckMethod, "POST"},
		{"Gmedia.ClientIDKey", d.Gmedia.ClientIDKey, "client_id"},
		{"Gmedia.RequestTimeout", d.Gmedia.RequestTimeout, 15 * time.Second},
		{"Gmedia.Check", d.Gmedia.Check, TrackedCheck{24 * time.Hour, 8, 10, 100, 5 * time.Minute}},
		{"Firstlight.RequestTimeout", d.Firstlight.RequestTimeout, 15 * time.Second},
		{"Firstlight.Check", d.Firstlight.Check, TrackedCheck{time.Hour, 8, 10, 100, 5 * time.Minute}},
		{"TopUp.DryRun", d.TopUp.DryRun, true},
		{"TopUp.AccountType", d.TopUp.AccountType, "personal"},
		{"TopUp.Default", d.TopUp.Default, (*TopUpRule)(nil)},
		{"jobs." + JobMGIDBalances, d.Jobs[JobMGIDBalances], Job{true, "@every 15m", 5 * time.Minute}},
		{"jobs." + JobMGIDSpend, d.Jobs[JobMGIDSpend], Job{true, "0 * * * *", 10 * time.Minute}},
		{"jobs." + JobMGIDTopUp, d.Jobs[JobMGIDTopUp], Job{false, "@every 15m", 5 * time.Minute}},
		{"jobs." + JobMawthoqRecheck, d.Jobs[JobMawthoqRecheck], Job{false, "*/10 * * * *", 30 * time.Minute}},
		{"jobs." + JobFirstlightRedeem, d.Jobs[JobFirstlightRedeem], Job{false, "*/10 * * * *", 30 * time.Minute}},
		{"job count", len(d.Jobs), len(JobNames)},
	}
	for _, tt := range tests {
		// Not parallel: the test goes on to change d once these have run.
		t.Run(tt.name, func(t *testing.T) {
			if !reflect.DeepEqual(tt.got, tt.want) {
				t.Errorf("%s = %#v, want %#v", tt.name, tt.got, tt.want)
			}
		})
	}

	// Defaults plus a database is a working configuration (the enabled MGID
	// jobs aside, which need an agency).
	d.DatabaseURL = "postgres://localhost/syncer"
	d.MGID.Agencies = []MGIDAgency{{Name: "a", Login: "a", Password: "p"}}
	if err := d.Validate(); err != nil {
		t.Errorf("Validate(Defaults + database + agency) = %v", err)
	}

	// Each call owns its map.
	d.Jobs[JobMGIDSpend] = Job{}
	if Defaults().Jobs[JobMGIDSpend].Schedule == "" {
		t.Error("Defaults shares its Jobs map between calls")
	}
}

const fullFile = `# a complete file
database_url: postgres://app:${DB_PASSWORD}@db.internal:5432/syncer
auto_migrate: false
shutdown_grace: 45s
log_level: debug
hash_key: ${HASH_KEY}
jobs:
  mgid-topup: {enabled: true, schedule: "@hourly", timeout: 2m}
  mawthoq-recheck:
    enabled: true
backfill: {concurrency: 2}
mgid:
  base_url: http://127.0.0.1:8080
  timezone: Europe/Moscow
  lookback_days: 3
  request_timeout: 10s
  agencies:
    - {name: main, login: a@example.com, password: "${AGENCY_A_PASSWORD}"}
    - {login: b@example.com, password: 'lit$eral$${NOT_A_VAR}'}
gmedia:
  token_url: http://127.0.0.1:8080/gmedia/token
  check_url: http://127.0.0.1:8080/gmedia/CheckMawathoq
  check_method: GET
  client_id_key: clienr_id
  client_id: gm-id
  client_secret: ${GMEDIA_SECRET}
  request_timeout: 5s
  recheck_after: 12h
  concurrency: 3
  rate_limit: 2.5
  batch_size: 50
  lease: 1m
firstlight:
  url: http://127.0.0.1:8080/media/content/checkredeem
  iam_token: iam-literal
  user_token_dir: /run/tokens
  rate_limit: 0
topup:
  dry_run: false
  account_type: bonus
  max_per_transfer: 500.00
  max_per_client_day: "1000.50"
  max_per_agency_day: 99999999999999.99
  default: {min: 50.00, target: "200.00"}
  clients:
    5001: {min: 10, target: 20.10}
    "5002": {min: 0, target: 100}
`

func TestLoadFile(t *testing.T) {
	t.Parallel()
	path := writeTemp(t, "syncer.yaml", fullFile)
	secretFile := writeTemp(t, "gm", "gm-secret-from-file\n")
	c, err := Load(path, getenv(map[string]string{
		"DB_PASSWORD":        "dbpw",
		"HASH_KEY":           "0123456789abcdef",
		"AGENCY_A_PASSWORD":  "pw-a",
		"GMEDIA_SECRET_FILE": secretFile, // ${VAR} also reads VAR_FILE
	}))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		got, want any
	}{
		{"DatabaseURL", c.DatabaseURL.Value(), "postgres://app:dbpw@db.internal:5432/syncer"},
		{"AutoMigrate", c.AutoMigrate, false},
		{"ShutdownGrace", c.ShutdownGrace, 45 * time.Second},
		{"LogLevel", c.LogLevel, "debug"},
		{"HashKey", c.HashKey.Value(), "0123456789abcdef"},
		{"mgid-topup", c.Jobs[JobMGIDTopUp], Job{true, "@hourly", 2 * time.Minute}},
		{"mawthoq-recheck keeps unset fields", c.Jobs[JobMawthoqRecheck], Job{true, "*/10 * * * *", 30 * time.Minute}},
		{"mgid-spend untouched", c.Jobs[JobMGIDSpend], Defaults().Jobs[JobMGIDSpend]},
		{"Backfill", c.Backfill.Concurrency, 2},
		{"MGID.BaseURL", c.MGID.BaseURL, "http://127.0.0.1:8080"},
		{"MGID.Timezone", c.MGID.Timezone, "Europe/Moscow"},
		{"MGID.LookbackDays", c.MGID.LookbackDays, 3},
		{"MGID.RequestTimeout", c.MGID.RequestTimeout, 10 * time.Second},
		{"MGID.Agencies", c.MGID.Agencies, []MGIDAgency{
			{Name: "main", Login: "a@example.com", Password: "pw-a"},
			{Name: "b@example.com", Login: "b@example.com", Password: "lit$eral${NOT_A_VAR}"},
		}},
		{"Gmedia", c.Gmedia, Gmedia{
			TokenURL: "http://127.0.0.1:8080/gmedia/token", CheckURL: "http://127.0.0.1:8080/gmedia/CheckMawathoq",
			CheckMethod: "GET", ClientIDKey: "clienr_id", ClientID: "gm-id", ClientSecret: "gm-secret-from-file",
			RequestTimeout: 5 * time.Second, Check: TrackedCheck{12 * time.Hour, 3, 2.5, 50, time.Minute},
		}},
		{"Firstlight.IAMToken", c.Firstlight.IAMToken.Value(), "iam-literal"},
		{"Firstlight.UserTokenDir", c.Firstlight.UserTokenDir, "/run/tokens"},
		{"Firstlight.Check", c.Firstlight.Check, TrackedCheck{time.Hour, 8, 0, 100, 5 * time.Minute}},
		{"TopUp.DryRun", c.TopUp.DryRun, false},
		{"TopUp.AccountType", c.TopUp.AccountType, "bonus"},
		{"TopUp.MaxPerTransfer", c.TopUp.MaxPerTransfer, money.MustParse("500")},
		{"TopUp.MaxPerClientDay", c.TopUp.MaxPerClientDay, money.MustParse("1000.5")},
		// Past float64's exact range: proves the literal text was parsed.
		{"TopUp.MaxPerAgencyDay", c.TopUp.MaxPerAgencyDay.String(), "99999999999999.99"},
		{"TopUp.Default", c.TopUp.Default, &TopUpRule{money.MustParse("50"), money.MustParse("200")}},
		{"TopUp.Clients", c.TopUp.Clients, map[int64]TopUpRule{
			5001: {money.MustParse("10"), money.MustParse("20.1")},
			5002: {money.MustParse("0"), money.MustParse("100")},
		}},
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

func TestLoadEmptyFileAndNoFile(t *testing.T) {
	t.Parallel()
	for name, path := range map[string]string{"no file": "", "empty file": writeTemp(t, "empty.yaml", "# nothing yet\n")} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			c, err := Load(path, nil)
			if err != nil {
				t.Fatalf("Load(%q): %v", path, err)
			}
			if !reflect.DeepEqual(c, Defaults()) {
				t.Errorf("Load(%q) = %+v, want Defaults", path, c)
			}
		})
	}
}

func TestLoadErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		file string // "" = no file
		env  map[string]string
		want []string // substrings of the error
	}{
		{"unknown top-level key", "log_level: info\nbogus: 1\n", nil, []string{"line 2", `unknown key "bogus" in the top level`}},
		{"unknown nested key", "gmedia:\n  client_id: x\n  client_secert: y\n", nil, []string{"line 3", `unknown key "client_secert" in gmedia`}},
		{"unknown job name", "jobs:\n  mgid-balance: {enabled: false}\n", nil, []string{"line 2", `unknown key "mgid-balance" in jobs`, "mgid-balances"}},
		{"unknown job field", "jobs:\n  mgid-spend: {enable: false}\n", nil, []string{"line 2", `unknown key "enable" in a job`}},
		{"job given twice", "jobs:\n  mgid-spend: {enabled: false}\n  mgid-spend: {enabled: true}\n", nil, []string{"line 3", `"mgid-spend" is given twice`}},
		{"job not a mapping", "jobs:\n  mgid-spend: true\n", nil, []string{"line 2", "a job: want a mapping of enabled, schedule, timeout"}},
		{"jobs not a mapping", "jobs: [mgid-spend]\n", nil, []string{"line 1", "jobs: want a mapping of job names"}},
		{"job value from file", "jobs:\n  mgid-spend: {timeout: soon}\n", nil, []string{`jobs.mgid-spend.timeout: "soon" is not a duration`}},
		{"unknown rule field", "topup:\n  default: {min: 1, target: 2, max: 3}\n", nil, []string{`unknown key "max"`}},
		{"unset variable", "log_level: info\nhash_key: ${NOPE_UNSET}\n", nil, []string{"line 2", "hash_key", "${NOPE_UNSET}", "not set"}},
		{"unterminated reference", "hash_key: ab${NOPE\n", nil, []string{"hash_key", "unterminated"}},
		{"bad reference name", "hash_key: ${1X}\n", nil, []string{"hash_key", "not a variable reference"}},
		{"file int", "mgid:\n  lookback_days: x\n", nil, []string{"line 2", `mgid.lookback_days: "x" is not a whole number`}},
		{"file bool", "auto_migrate: maybe\n", nil, []string{`auto_migrate: "maybe" is not true or false`}},
		{"file duration", "shutdown_grace: 30\n", nil, []string{`shutdown_grace: "30" is not a duration`}},
		{"file float", "firstlight:\n  rate_limit: fast\n", nil, []string{`firstlight.rate_limit: "fast" is not a number`}},
		{"money exponent", "topup:\n  max_per_transfer: 1e3\n", nil, []string{`topup.max_per_transfer: "1e3" is not an amount`}},
		{"money too precise", "topup:\n  max_per_transfer: 1.23456\n", nil, []string{`topup.max_per_transfer: "1.23456" is not an amount`}},
		{"rule missing target", "topup:\n  default: {min: 1}\n", nil, []string{"topup.default.target: required"}},
		{"rule bad amount", "topup:\n  clients: {5001: {min: x, target: 2}}\n", nil, []string{`topup.clients.5001.min: "x" is not an amount`}},
		{"bad client id", "topup:\n  clients: {abc: {min: 1, target: 2}}\n", nil, []string{`topup.clients.abc: "abc" is not an MGID client id`}},
		{"list for a scalar", "mgid:\n  base_url: [a, b]\n", nil, []string{"line 2", "mgid.base_url: want a single value"}},
		{"two documents", "log_level: info\n---\nlog_level: warn\n", nil, []string{"more than one YAML document"}},
		{"syntax error", "mgid: [\n", nil, []string{"config file"}},
		{"several problems at once", "mgid:\n  lookback_days: x\n  request_timeout: y\n", nil, []string{"mgid.lookback_days", "mgid.request_timeout"}},
		{"env int", "", map[string]string{"MGID_LOOKBACK_DAYS": "x"}, []string{`MGID_LOOKBACK_DAYS: "x" is not a whole number`}},
		{"env retention", "", map[string]string{"SYNCER_RETENTION_DETAIL_DAYS": "90d"}, []string{`SYNCER_RETENTION_DETAIL_DAYS: "90d" is not a whole number`}},
		{"env bool", "", map[string]string{"JOB_MGID_SPEND_ENABLED": "yes please"}, []string{`JOB_MGID_SPEND_ENABLED: "yes please" is not true or false`}},
		{"env duration", "", map[string]string{"MAWTHOQ_LEASE": "5"}, []string{`MAWTHOQ_LEASE: "5" is not a duration`}},
		{"env float", "", map[string]string{"FIRSTLIGHT_RATE_LIMIT": "NaN"}, []string{`FIRSTLIGHT_RATE_LIMIT: "NaN" is not a number`}},
		{"password without login", "", map[string]string{"MGID_PASSWORD": "canary-pass-123"}, []string{"MGID_PASSWORD is set but MGID_LOGIN is not"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := ""
			if tt.file != "" {
				path = writeTemp(t, "syncer.yaml", tt.file)
			}
			_, err := Load(path, getenv(tt.env))
			if err == nil {
				t.Fatalf("Load succeeded, want an error containing %q", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "canary") {
				t.Errorf("error shows a secret: %v", err)
			}
		})
	}

	t.Run("missing file", func(t *testing.T) {
		t.Parallel()
		if _, err := Load(filepath.Join(t.TempDir(), "nope.yaml"), nil); err == nil {
			t.Error("Load of a missing file succeeded")
		}
	})
}

// TestTablesAgree keeps the settings table, the YAML mirror types and
// JobNames in step: a setting missing from one of them would be unreachable.
func TestTablesAgree(t *testing.T) {
	t.Parallel()
	var fileKeys []string
	for k := range fileLeaves(&fileConfig{}) {
		fileKeys = append(fileKeys, k)
	}
	var c Config
	var keys, envs []string
	for _, s := range settings(&c) {
		keys = append(keys, s.key)
		if s.env != "" {
			envs = append(envs, s.env)
		}
	}
	slices.Sort(fileKeys)
	sorted := slices.Sorted(slices.Values(keys))
	if !slices.Equal(fileKeys, sorted) {
		t.Errorf("YAML keys and settings differ:\nfile:     %v\nsettings: %v", fileKeys, sorted)
	}
	if len(slices.Compact(sorted)) != len(keys) {
		t.Error("settings repeat a key")
	}
	if e := slices.Sorted(slices.Values(envs)); len(slices.Compact(e)) != len(envs) {
		t.Error("settings repeat an environment variable")
	}
}
