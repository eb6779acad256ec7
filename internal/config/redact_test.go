package config

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"reflect"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"syncer/internal/money"
)

// canaryConfig holds a distinct canary in every secret and plain values
// elsewhere.
func canaryConfig() Config {
	c := Defaults()
	c.DatabaseURL = "postgres://app:canary-db-123@db.internal:5432/syncer?sslmode=disable"
	c.HashKey = "canary-hash-123"
	c.MGID.Agencies = []MGIDAgency{
		{Name: "main", Login: "agency@example.com", Password: "canary-pass-123"},
		{Name: "second", Login: "second@example.com", Password: "canary-pass-456"},
	}
	c.Gmedia.TokenURL = "https://gmedia.example/token"
	c.Gmedia.ClientID = "gmedia-client-id"
	c.Gmedia.ClientSecret = "canary-gmedia-123"
	c.Firstlight.IAMToken = "canary-iam-123"
	c.Firstlight.TokenURL = "https://svc:canary-url-123@fl.example/token"
	c.Firstlight.ClientID = "fl-client-id"
	c.Firstlight.ClientSecret = "canary-fl-123"
	c.TopUp.MaxPerTransfer = money.MustParse("500")
	c.TopUp.Default = &TopUpRule{Min: money.MustParse("50"), Target: money.MustParse("200")}
	c.TopUp.Clients = map[int64]TopUpRule{5002: {money.MustParse("1"), money.MustParse("2")}, 5001: {money.MustParse("10"), money.MustParse("20.10")}}
	return c
}

func TestRedacted(t *testing.T) {
	t.Parallel()
	out := canaryConfig().Redacted()
	if strings.Contains(out, "canary") {
		t.Errorf("Redacted shows a secret:\n%s", out)
	}
	for _, want := range []string{
		"database_url: postgres://app:[redacted]@db.internal:5432/syncer?sslmode=disable",
		"hash_key: '[redacted]'",
		"login: agency@example.com",
		"name: second",
		"password: '[redacted]'",
		"client_id: gmedia-client-id",
		"client_secret: '[redacted]'",
		"iam_token: '[redacted]'",
		"token_url: https://svc:[redacted]@fl.example/token",
		"base_url: https://api.mgid.com",
		"schedule: '@every 15m'",
		"recheck_after: 24h",
		"lease: 5m",
		"rate_limit: 10",
		"lookback_days: 7",
		"max_per_transfer: \"500.00\"",
		"max_per_client_day: \"\"",
		"\"5001\":\n      min: \"10.00\"\n      target: \"20.10\"\n    \"5002\":",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("Redacted lacks %q:\n%s", want, out)
		}
	}
}

// TestRedactedRoundTrip: the printed configuration is a valid config file
// that loads back to the same values, so it really has the file's shape.
func TestRedactedUnsetSecret(t *testing.T) {
	t.Parallel()
	// An unset secret reads "", not "[redacted]": the operator must see it is missing.
	if out := Defaults().Redacted(); !strings.Contains(out, "hash_key: \"\"\n") || !strings.Contains(out, "database_url: \"\"\n") {
		t.Errorf("unset secrets not shown as \"\":\n%s", out)
	}
}

func TestRedactedRoundTrip(t *testing.T) {
	t.Parallel()
	c := canaryConfig()
	// Without secrets, nothing is lost in printing.
	c.DatabaseURL, c.HashKey, c.Gmedia.ClientSecret, c.Firstlight.IAMToken, c.Firstlight.ClientSecret = "", "", "", "", ""
	c.Firstlight.TokenURL = "https://fl.example/token"
	for i := range c.MGID.Agencies {
		c.MGID.Agencies[i].Password = ""
	}
	c.Gmedia.Check.RateLimit = 2.5
	c.Jobs[JobMGIDTopUp] = Job{Enabled: true, Schedule: "0 */2 * * *", Timeout: 90 * time.Second}

	path := writeTemp(t, "printed.yaml", c.Redacted())
	got, err := Load(path, nil)
	if err != nil {
		t.Fatalf("loading the printed config: %v", err)
	}
	if !reflect.DeepEqual(got, c) {
		t.Errorf("round trip changed the config:\n got %+v\nwant %+v", got, c)
	}
}

func TestRedactDatabaseURL(t *testing.T) {
	t.Parallel()
	// Named cases: a subtest's name is printed, so it must not be the URL.
	tests := []struct{ name, in, want string }{
		{"empty", "", ""},
		{"URL password", "postgres://app:canary-pass-123@db.example:5432/syncer", "postgres://app:[redacted]@db.example:5432/syncer"},
		{"URL escaped password", "postgresql://app:p%40ss-canary@db/syncer?sslmode=require", "postgresql://app:[redacted]@db/syncer?sslmode=require"},
		{"URL password parameter", "postgres://app@db/syncer?password=canary-q&sslmode=disable", "postgres://app@db/syncer?password=[redacted]&sslmode=disable"},
		{"URL without password", "postgres://db/syncer", "postgres://db/syncer"},
		{"key-value", "host=db user=app password=canary-kv dbname=syncer", "host=db user=app password=[redacted] dbname=syncer"},
		{"key-value quoted", "host=db password='canary kv \\' quoted' dbname=syncer", "host=db password=[redacted] dbname=syncer"},
		{"unparsable URL", "postgres://app:canary@db:badport/x", "[redacted]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := redactDatabaseURL(tt.in); got != tt.want {
				t.Errorf("redactDatabaseURL(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

// TestSecretNeverPrints covers the other ways a Config reaches output: fmt,
// JSON (slog's JSON handler), YAML and slog values.
func TestSecretNeverPrints(t *testing.T) {
	t.Parallel()
	c := canaryConfig()
	js, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	ys, err := yaml.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	outputs := map[string]string{
		"%v":   fmt.Sprintf("%v", c),
		"%+v":  fmt.Sprintf("%+v", c),
		"%#v":  fmt.Sprintf("%#v", c),
		"%s":   fmt.Sprintf("%s", c.HashKey), //lint:ignore S1025 the case is what the %s verb prints
		"json": string(js),
		"yaml": string(ys),
		"slog": slog.AnyValue(c.HashKey).Resolve().String(),
	}
	for name, out := range outputs {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			for _, secret := range []string{"canary-db-123", "canary-hash-123", "canary-pass-123", "canary-pass-456", "canary-gmedia-123", "canary-iam-123", "canary-fl-123"} {
				if strings.Contains(out, secret) {
					t.Errorf("%s shows %s: %s", name, secret, out)
				}
			}
		})
	}
}
