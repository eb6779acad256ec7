package observe_test

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
)

// The dashboard works with any Prometheus data source ($datasource), every
// panel has a unit, the 0/1 panels map their values to words, and the
// data-age panels leave disabled jobs out (syncer_job_enabled).
func TestDashboardShape(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("../../deploy/grafana/syncer.json")
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Templating struct {
			List []struct{ Name, Type, Query string }
		}
		Panels []struct {
			ID          int
			Title, Type string
			Datasource  struct{ UID string }
			Targets     []struct {
				Expr       string
				Datasource struct{ UID string }
			}
			FieldConfig struct {
				Defaults struct {
					Unit     string
					Mappings []json.RawMessage
				}
			}
		}
	}
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatal(err)
	}
	hasVar := false
	for _, v := range d.Templating.List {
		hasVar = hasVar || v.Name == "datasource" && v.Type == "datasource" && v.Query == "prometheus"
	}
	if !hasVar {
		t.Error("no $datasource variable of type datasource (prometheus)")
	}
	if strings.Contains(string(b), "DS_PROMETHEUS") {
		t.Error("the dashboard still names DS_PROMETHEUS")
	}
	zeroOne := map[string]bool{"Database reachable": true, "Jobs enabled": true}
	seen := 0
	for _, p := range d.Panels {
		if p.Datasource.UID != "${datasource}" {
			t.Errorf("panel %q: data source %q, want ${datasource}", p.Title, p.Datasource.UID)
		}
		if p.FieldConfig.Defaults.Unit == "" {
			t.Errorf("panel %q has no unit", p.Title)
		}
		if zeroOne[p.Title] {
			seen++
			if len(p.FieldConfig.Defaults.Mappings) == 0 {
				t.Errorf("0/1 panel %q has no value mappings", p.Title)
			}
		}
		for _, tg := range p.Targets {
			if tg.Datasource.UID != "${datasource}" {
				t.Errorf("panel %q: a query's data source is %q", p.Title, tg.Datasource.UID)
			}
			if (strings.Contains(tg.Expr, "syncer_job_staleness_seconds") || strings.Contains(tg.Expr, "syncer_job_last_success_timestamp_seconds") ||
				strings.Contains(tg.Expr, "syncer_job_last_run_failed")) && !strings.Contains(tg.Expr, "syncer_job_enabled") {
				t.Errorf("panel %q shows disabled jobs: %s", p.Title, tg.Expr)
			}
		}
	}
	if seen != len(zeroOne) {
		t.Errorf("found %d of the 0/1 panels %v", seen, zeroOne)
	}
}
