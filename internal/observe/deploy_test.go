package observe_test

import (
	"net/http"
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"syncer/internal/observe"
	"syncer/internal/providers"
	"syncer/internal/store"
	"syncer/internal/testdb"
)

var metricName = regexp.MustCompile(`\bsyncer_[a-z0-9_]*[a-z0-9]`)

// The Grafana dashboard and the alert rules only use metrics that /metrics
// really exports: a renamed metric would otherwise leave an empty panel or
// an alert that can never fire.
func TestDeployFilesUseExportedMetrics(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	fixture(t, db) // a failed mgid-balances run: its streak is exported
	testdb.Exec(t, db, `INSERT INTO syncer.mgid_spend_fetches (agency_id, spend_date, first_fetched_at, last_fetched_at, run_id)
		VALUES (1001, current_date - 3, now(), now(), 1)`)
	s := start(t, db, []observe.JobSpec{{Name: "mgid-balances", Schedule: "@every 15m", Enabled: true}})
	// Give every in-process metric a sample so that its family is exported.
	s.metrics.RunFinished("mgid-spend", "schedule", store.RunFinish{Status: "succeeded", RowsWritten: 1}, time.Second)
	s.metrics.RunFinished("mawthoq-recheck", "schedule", store.RunFinish{Status: "succeeded", Detail: map[string]int64{"found": 1}}, time.Second)
	req, _ := http.NewRequest(http.MethodGet, "http://provider.example/v1/agencies/1", nil)
	s.metrics.Attempt(req, &http.Response{StatusCode: 429}, nil)
	s.metrics.Retry(req, providers.RateLimited, time.Second)
	exported := scrape(t, s.url)

	used := map[string][]string{}
	for _, file := range []string{"../../deploy/grafana/syncer.json", "../../deploy/prometheus/alerts.yml"} {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		names := metricName.FindAllString(string(b), -1)
		if len(names) == 0 {
			t.Errorf("%s uses no syncer_ metric", file)
		}
		for _, n := range names {
			used[n] = append(used[n], file)
		}
	}
	var missing []string
	for n, files := range used {
		base := n
		for _, suffix := range []string{"_bucket", "_sum", "_count"} {
			if b, ok := strings.CutSuffix(n, suffix); ok {
				if _, hist := exported[b]; hist {
					base = b
				}
			}
		}
		if _, ok := exported[base]; !ok {
			missing = append(missing, n+" (in "+strings.Join(files, ", ")+")")
		}
	}
	sort.Strings(missing)
	for _, m := range missing {
		t.Errorf("not exported by /metrics: %s", m)
	}
	if len(used) < 15 {
		t.Errorf("the deploy files use only %d syncer_ metrics; the extraction is probably broken", len(used))
	}
}
