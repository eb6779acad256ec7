package observe

import (
	"context"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"time"

	_ "embed"

	"syncer/internal/store"
)

// PageStore is what the status page reads: the scrape's reads plus the
// coverage and the transfers a person must settle.
type PageStore interface {
	ScrapeStore
	LatestRuns(ctx context.Context) (map[string]store.LastRun, error) // running ones included
	Coverage(ctx context.Context, from, to time.Time) ([]store.CoverageDay, error)
	UnknownTransfers(ctx context.Context, limit int) ([]store.Transfer, error)
	RunStreaks(ctx context.Context) (map[string]store.RunStreak, error)
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

	// Agencies, when set, adds the MGID agencies section (agencies.go).
	Agencies AgencyStore

	// Replication: the transfers the replica guard held back; nil: not shown.
	Replication ReplicationStore
}

//go:embed page.html
var pageHTML string

var pageTmpl = template.Must(template.New("page").Parse(pageHTML))

func (p *Page) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/" {
		http.NotFound(w, r)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
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

	Jobs        []jobRow
	Fresh       []freshRow
	Coverage    coverageView
	Tracked     []trackedView
	Unknown     []transferRow
	UnknownMore int // unknown transfers beyond those listed
	Legend      []legendItem
	Agencies    agencySection
}

// maxUnknownListed bounds the transfers the page lists; the count is exact.
const maxUnknownListed = 50

type jobRow struct {
	Name, Schedule, Next, LastRun, LastRunTitle, Trigger, Running string
	Outcome, OutcomeClass, Duration, ErrorClass, Error            string
	Enabled                                                       bool
	// LastOutcome is a disabled job's last run, shown muted beside "disabled".
	LastOutcome string
	// Failing is "failing since ..., N runs in a row"; Strip the last
	// outcomes, oldest first (page_operator.go).
	Failing string
	Strip   []stripCell
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
	// Reads stop at the first failure: when Postgres is unreachable the
	// page says so at once instead of waiting out each read in turn.
	var readErr error
	read := func(f func() error) {
		if readErr == nil {
			readErr = f()
		}
	}
	var (
		latest, finished map[string]store.LastRun
		fresh            []store.SourceFreshness
		cov              []store.CoverageDay
		tracked          []store.TrackedOutcome
		open             map[string]int64
		unknown          []store.Transfer
		streaks          map[string]store.RunStreak
	)
	days := p.CoverageDays
	if days <= 0 {
		days = 60
	}
	today := now.In(p.loc())
	to := time.Date(today.Year(), today.Month(), today.Day(), 0, 0, 0, 0, time.UTC)
	from := to.AddDate(0, 0, -(days - 1))
	read(func() (err error) { latest, err = p.Store.LatestRuns(ctx); return })
	read(func() (err error) { finished, err = p.Store.LastFinishedRuns(ctx); return })
	read(func() (err error) { fresh, err = p.Store.SourceFreshness(ctx); return })
	read(func() (err error) { cov, err = p.Store.Coverage(ctx, from, to); return })
	read(func() (err error) { tracked, err = p.Store.TrackedOutcomes(ctx); return })
	read(func() (err error) { open, err = p.Store.OpenTransferCounts(ctx); return })
	read(func() (err error) { unknown, err = p.Store.UnknownTransfers(ctx, maxUnknownListed); return })
	read(func() (err error) { streaks, err = p.Store.RunStreaks(ctx); return })

	d.Jobs = p.jobRows(now, latest, finished, &d)
	p.addStreaks(now, d.Jobs, streaks)
	d.Fresh = p.freshRows(now, fresh, &d)
	p.warnUncheckedTargets(tracked, fresh, &d)
	d.Coverage = buildCoverage(cov, from, days, &d)
	d.Tracked = buildTracked(tracked, &d)
	if p.Agencies != nil {
		var states []store.AgencyState
		read(func() (err error) { states, err = p.Agencies.AgencyStates(ctx); return })
		d.Agencies = p.buildAgencies(now, states, &d)
	}
	for _, t := range unknown {
		d.Unknown = append(d.Unknown, transferRow{
			ID: t.ID, Agency: t.AgencyID, Client: t.ClientID, Amount: t.Amount.String(), Account: string(t.AccountType),
			Origin: string(t.Origin), Created: p.when(now, t.CreatedAt), Error: t.Error,
		})
	}
	if n := int(open[string(store.TransferUnknown)]); n > 0 {
		d.Problems = append(d.Problems, fmt.Sprintf("%d MGID transfer%s may or may not have moved money: run syncer mgid transfers reconcile once MGID answers (it settles what MGID's figures decide, and also runs by itself every mgid-balances period); resolve by hand only what it leaves unknown.", n, plural(n)))
		if n > len(unknown) {
			d.UnknownMore = n - len(unknown)
		}
	}
	if readErr == nil {
		p.replicationNotes(ctx, now, &d)
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
			if !j.Enabled {
				// A disabled job is disabled, whatever it did when last run by hand.
				r.Outcome, r.OutcomeClass, r.LastOutcome = "disabled", "none", lr.Status
			}
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

type transferRow struct {
	ID, Agency, Client                      int64
	Amount, Account, Origin, Created, Error string
}
