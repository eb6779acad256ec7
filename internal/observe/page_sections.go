package observe

import (
	"fmt"
	"sort"
	"time"

	"syncer/internal/store"
)

// The page's sections other than the jobs table, each built from what the
// store returned into what the template lays out.

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
		i, ok := idx[string(o.Kind)]
		if !ok {
			i = len(out)
			idx[string(o.Kind)] = i
			out = append(out, trackedView{Kind: string(o.Kind)})
		}
		out[i].Segments = append(out[i].Segments, trackedSegment{Outcome: string(o.Outcome), Class: outcomeClass(string(o.Outcome)), Targets: o.Targets})
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
