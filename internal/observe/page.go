package observe

import (
	"context"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"sort"
	"time"

	_ "embed"

	"syncer/internal/store"
)

// PageStore is what the status page reads: the scrape's reads plus the
// coverage and the transfers a person must settle.
type PageStore interface {
	ScrapeStore
	LastRuns(ctx context.Context) (map[string]store.LastRun, error) // running ones included
	Coverage(ctx context.Context, from, to time.Time) ([]store.CoverageDay, error)
	UnknownTransfers(ctx context.Context, limit int) ([]store.Transfer, error)
}

// JobSpec is a configured job as the page lists it.
type JobSpec struct {
	Name     string
	Schedule string
	Enabled  bool
}

// Page is the status page: server-rendered HTML with inline SVG, no script
// and no external asset, so it works from a phone on a VPN as well as
// behind a strict proxy.
type Page struct {
	Store  PageStore
	Health *Health
	Jobs   []JobSpec
	// Next gives each scheduled job's next run (the scheduler's view); nil: unknown.
	Next         func(now time.Time) map[string]time.Time
	CoverageDays int            // default 60
	Location     *time.Location // times are shown in it; default UTC
	Version      string
	Log          *slog.Logger
	Now          func() time.Time
}

//go:embed page.html
var pageHTML string

var pageTmpl = template.Must(template.New("page").Parse(pageHTML))

func (p *Page) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/" {
		http.NotFound(w, r)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	d := p.build(ctx)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	// Nothing external may load: the page is self-contained by design.
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src data:")
	if err := pageTmpl.Execute(w, d); err != nil && p.Log != nil {
		p.Log.Warn("status page: render", "err", err)
	}
}

func (p *Page) now() time.Time {
	if p.Now != nil {
		return p.Now()
	}
	return time.Now()
}

func (p *Page) loc() *time.Location {
	if p.Location != nil {
		return p.Location
	}
	return time.UTC
}

// pageData is everything the template shows, already formatted: the
// template only lays it out.
type pageData struct {
	Now      string
	Version  string
	Healthy  bool
	Problems []string
	Warnings []string

	Jobs     []jobRow
	Fresh    []freshRow
	Coverage coverageView
	Tracked  []trackedView
	Unknown  []transferRow
	Legend   []legendItem
}

type jobRow struct {
	Name, Schedule, Next, LastRun, LastRunTitle, Trigger, Running string
	Outcome, OutcomeClass, Duration, ErrorClass, Error            string
	Enabled                                                       bool
}

func (p *Page) build(ctx context.Context) pageData {
	now := p.now()
	d := pageData{Now: now.In(p.loc()).Format("2006-01-02 15:04:05 MST"), Version: p.Version, Legend: legend}
	if p.Health != nil {
		if ok, age := p.Health.Alive(); !ok {
			d.Problems = append(d.Problems, fmt.Sprintf("The scheduler loop is not beating (last beat %s).", agoOrNever(age)))
		}
		if _, err := p.Health.Ready(ctx); err != nil {
			d.Problems = append(d.Problems, "Not ready: "+err.Error()+".")
		}
	}
	var readErr error
	keep := func(err error) {
		if err != nil && readErr == nil {
			readErr = err
		}
	}
	latest, err := p.Store.LastRuns(ctx)
	keep(err)
	finished, err := p.Store.LastFinishedRuns(ctx)
	keep(err)
	fresh, err := p.Store.SourceFreshness(ctx)
	keep(err)
	d.Jobs = p.jobRows(now, latest, finished, &d)
	d.Fresh = p.freshRows(now, fresh, &d)
	days := p.CoverageDays
	if days <= 0 {
		days = 60
	}
	today := now.In(p.loc())
	to := time.Date(today.Year(), today.Month(), today.Day(), 0, 0, 0, 0, time.UTC)
	from := to.AddDate(0, 0, -(days - 1))
	cov, err := p.Store.Coverage(ctx, from, to)
	keep(err)
	d.Coverage = buildCoverage(cov, from, days, &d)
	tracked, err := p.Store.TrackedOutcomes(ctx)
	keep(err)
	d.Tracked = buildTracked(tracked, &d)
	unknown, err := p.Store.UnknownTransfers(ctx, 50)
	keep(err)
	for _, t := range unknown {
		d.Unknown = append(d.Unknown, transferRow{
			ID: t.ID, Agency: t.AgencyID, Client: t.ClientID, Amount: t.Amount.String(), Account: t.AccountType,
			Origin: t.Origin, Created: p.when(now, t.CreatedAt), Error: t.Error,
		})
	}
	if n := len(unknown); n > 0 {
		d.Problems = append(d.Problems, fmt.Sprintf("%d MGID transfer%s may or may not have moved money: a person must settle %s (syncer mgid transfers resolve).", n, plural(n), them(n)))
	}
	if readErr != nil {
		d.Problems = append([]string{"Could not read the database: " + readErr.Error() + "."}, d.Problems...)
	}
	d.Healthy = len(d.Problems) == 0
	return d
}

func (p *Page) jobRows(now time.Time, latest, finished map[string]store.LastRun, d *pageData) []jobRow {
	var next map[string]time.Time
	if p.Next != nil {
		next = p.Next(now)
	}
	var rows []jobRow
	for _, j := range p.Jobs {
		r := jobRow{Name: j.Name, Schedule: j.Schedule, Enabled: j.Enabled, Next: "-", LastRun: "never", Outcome: "never run", OutcomeClass: "none", Duration: "-"}
		if !j.Enabled {
			r.Outcome = "disabled"
		}
		if t, ok := next[j.Name]; ok && j.Enabled {
			r.Next = "in " + roundDur(t.Sub(now))
		}
		// The outcome is the last finished run's: a run in progress says
		// nothing yet, and must not hide the failure before it.
		if lr, ok := finished[j.Name]; ok {
			r.LastRun = p.when(now, lr.StartedAt)
			r.LastRunTitle = lr.StartedAt.In(p.loc()).Format(time.RFC3339)
			r.Outcome, r.OutcomeClass = lr.Status, statusClass(lr.Status)
			if lr.Trigger != "schedule" {
				r.Trigger = lr.Trigger
			}
			if lr.FinishedAt != nil {
				r.Duration = roundDur(lr.FinishedAt.Sub(lr.StartedAt))
			}
			r.ErrorClass, r.Error = lr.ErrorClass, cutText(lr.Error, 300)
			if lr.Status == "failed" && j.Enabled {
				d.Problems = append(d.Problems, fmt.Sprintf("Job %s: the last run failed (%s).", j.Name, lr.ErrorClass))
			}
		}
		if lr, ok := latest[j.Name]; ok && lr.Status == "running" {
			r.Running = "running for " + roundDur(now.Sub(lr.StartedAt))
		}
		rows = append(rows, r)
	}
	return rows
}

type freshRow struct {
	Job, State, StateClass, LastData, Expected string
	BarWidth                                   float64 // of 200, the SVG's width
	BarClass                                   string
	ExpectedX, StaleX                          float64
}

func (p *Page) freshRows(now time.Time, fresh []store.SourceFreshness, d *pageData) []freshRow {
	enabled := map[string]bool{}
	for _, j := range p.Jobs {
		enabled[j.Name] = j.Enabled
	}
	var rows []freshRow
	for _, f := range fresh {
		if on, known := enabled[f.Job]; known && !on {
			continue // a disabled job is not expected to be fresh
		}
		r := freshRow{Job: f.Job, LastData: "never", Expected: "unknown (no daemon recorded the schedule)"}
		if f.Scheduled {
			r.Expected = "every " + roundDur(f.ExpectedInterval)
		}
		if f.LastSuccessAt != nil {
			r.LastData = p.when(now, *f.LastSuccessAt)
		}
		// The bar shows the age against the expected interval (first mark)
		// and the stale limit (second mark); the scale ends at 1.5x the limit.
		scale := 1.5 * f.StaleAfter.Seconds()
		switch {
		case f.Stale && f.LastSuccessAt == nil:
			r.State, r.StateClass, r.BarWidth, r.BarClass = "never", "bad", 200, "bad"
			d.Problems = append(d.Problems, fmt.Sprintf("Source %s has never brought data.", f.Job))
		case f.Stale:
			r.State, r.StateClass, r.BarClass = "stale", "bad", "bad"
			d.Problems = append(d.Problems, fmt.Sprintf("Source %s is stale: last data %s, expected %s.", f.Job, r.LastData, r.Expected))
		case !f.Scheduled:
			r.State, r.StateClass, r.BarClass = "unknown", "none", "none"
		default:
			r.State, r.StateClass, r.BarClass = "fresh", "good", "good"
			if f.Age > f.ExpectedInterval {
				r.BarClass = "warn"
			}
		}
		if scale > 0 {
			r.ExpectedX = 200 * f.ExpectedInterval.Seconds() / scale
			r.StaleX = 200 * f.StaleAfter.Seconds() / scale
			if f.LastSuccessAt != nil {
				r.BarWidth = min(200, 200*f.Age.Seconds()/scale)
			}
		}
		rows = append(rows, r)
	}
	return rows
}

type legendItem struct{ State, Label string }

var legend = []legendItem{
	{store.CoverageObserved, "observed"},
	{store.CoverageProvisional, "provisional (day still open)"},
	{store.CoverageRestated, "restated (changed after close)"},
	{store.CoverageMissing, "missing"},
	{"none", "before the first observed day"},
}

type coverageView struct {
	From, To string
	Days     int
	Rows     []coverageRow
	Width    int // of the SVG's viewBox
}

type coverageRow struct {
	Label   string
	Counts  string
	Cells   []coverageCell
	Missing int
}

type coverageCell struct {
	X     int
	State string
	Title string
}

const cellPitch = 14 // viewBox units per day: a 12-unit square and a gap

func buildCoverage(days []store.CoverageDay, from time.Time, n int, d *pageData) coverageView {
	type key struct {
		source string
		agency int64
	}
	grid := map[key][]store.CoverageDay{}
	var keys []key
	for _, c := range days {
		k := key{c.Source, c.AgencyID}
		if _, ok := grid[k]; !ok {
			keys = append(keys, k)
		}
		grid[k] = append(grid[k], c)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].source != keys[j].source {
			return keys[i].source < keys[j].source
		}
		return keys[i].agency < keys[j].agency
	})
	v := coverageView{From: from.Format(time.DateOnly), To: from.AddDate(0, 0, n-1).Format(time.DateOnly), Days: n, Width: n * cellPitch}
	for _, k := range keys {
		row := coverageRow{Label: fmt.Sprintf("%s · agency %d", k.source, k.agency)}
		state := make([]string, n)
		titles := make([]string, n)
		counts := map[string]int{}
		for _, c := range grid[k] {
			i := int(c.Day.Sub(from).Hours()/24 + 0.5)
			if i < 0 || i >= n {
				continue
			}
			state[i] = c.State
			counts[c.State]++
			titles[i] = c.Day.Format(time.DateOnly) + ": " + c.State
		}
		for i := range n {
			s := state[i]
			if s == "" {
				s = "none"
				titles[i] = from.AddDate(0, 0, i).Format(time.DateOnly) + ": no data yet"
			}
			row.Cells = append(row.Cells, coverageCell{X: i * cellPitch, State: s, Title: row.Label + ", " + titles[i]})
		}
		row.Missing = counts[store.CoverageMissing]
		row.Counts = fmt.Sprintf("%d observed, %d provisional, %d restated, %d missing",
			counts[store.CoverageObserved], counts[store.CoverageProvisional], counts[store.CoverageRestated], row.Missing)
		if row.Missing > 0 {
			d.Warnings = append(d.Warnings, fmt.Sprintf("%s: %d missing day%s in the last %d (syncer gaps; syncer backfill mgid-spend --gaps).", row.Label, row.Missing, plural(row.Missing), n))
		}
		v.Rows = append(v.Rows, row)
	}
	return v
}

type trackedView struct {
	Kind     string
	Total    int64
	Segments []trackedSegment
}

type trackedSegment struct {
	Outcome, Class string
	Targets        int64
	X, Width       float64 // of 300
}

func buildTracked(outcomes []store.TrackedOutcome, d *pageData) []trackedView {
	var out []trackedView
	idx := map[string]int{}
	for _, o := range outcomes {
		i, ok := idx[o.Kind]
		if !ok {
			i = len(out)
			idx[o.Kind] = i
			out = append(out, trackedView{Kind: o.Kind})
		}
		out[i].Segments = append(out[i].Segments, trackedSegment{Outcome: o.Outcome, Class: outcomeClass(o.Outcome), Targets: o.Targets})
		out[i].Total += o.Targets
	}
	for i := range out {
		x := 0.0
		for j := range out[i].Segments {
			s := &out[i].Segments[j]
			s.X = x
			s.Width = 300 * float64(s.Targets) / float64(out[i].Total)
			x += s.Width
			if s.Class == "bad" {
				d.Warnings = append(d.Warnings, fmt.Sprintf("%d %s target%s stand at %s.", s.Targets, out[i].Kind, plural(int(s.Targets)), s.Outcome))
			}
		}
	}
	return out
}

type transferRow struct {
	ID, Agency, Client                      int64
	Amount, Account, Origin, Created, Error string
}

// outcomeClass colours a tracked outcome: the check worked and said yes
// (good), worked and said no (neutral), or could not tell (bad).
func outcomeClass(o string) string {
	switch o {
	case "found", "entitled":
		return "good"
	case "not_found", "not_entitled", "invalid", "invalid_request", "unchecked":
		return "none"
	}
	return "bad" // provider_error, auth_failed and anything new
}

func statusClass(s string) string {
	switch s {
	case "succeeded":
		return "good"
	case "failed":
		return "bad"
	case "running":
		return "run"
	}
	return "warn" // cancelled
}

func (p *Page) when(now, t time.Time) string {
	return agoOrNever(now.Sub(t))
}

func agoOrNever(d time.Duration) string {
	if d <= 0 {
		return "just now"
	}
	return roundDur(d) + " ago"
}

// roundDur prints a duration the way a person reads one: 850ms, 12s, 4m, 3h 20m, 2d 4h.
func roundDur(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	switch {
	case d < time.Second:
		return fmt.Sprintf("%dms", d.Milliseconds())
	case d < time.Minute:
		return fmt.Sprintf("%.0fs", d.Seconds())
	case d < time.Hour:
		return pair(int(d.Minutes()), "m", int(d.Seconds())%60, "s")
	case d < 48*time.Hour:
		return pair(int(d.Hours()), "h", int(d.Minutes())%60, "m")
	}
	return pair(int(d.Hours())/24, "d", int(d.Hours())%24, "h")
}

// pair prints "3h 20m", or "3h" when the second part is zero.
func pair(a int, au string, b int, bu string) string {
	if b == 0 {
		return fmt.Sprintf("%d%s", a, au)
	}
	return fmt.Sprintf("%d%s %d%s", a, au, b, bu)
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

func them(n int) string {
	if n == 1 {
		return "it"
	}
	return "them"
}

func cutText(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}
