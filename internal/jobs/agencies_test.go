package jobs_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"syncer/internal/jobs"
	"syncer/internal/providers"
	"syncer/internal/providers/mgid"
	"syncer/internal/sim"
	"syncer/internal/store"
	"syncer/internal/testdb"
	"syncer/internal/testutil"
)

// agencyClients makes one client per simulator agency, named name[i].
func agencyClients(url string, agencies []sim.Agency, names []string, timeout time.Duration) []*mgid.Client {
	out := make([]*mgid.Client, len(agencies))
	hc := &http.Client{Timeout: timeout}
	for i, a := range agencies {
		name := a.Login
		if names != nil {
			name = names[i]
		}
		out[i] = mgid.New(url, a.Login, a.Password, mgid.WithName(name), mgid.WithHTTPClient(hc),
			mgid.WithRetry(providers.Retry{Attempts: 2, Base: time.Millisecond, Max: 2 * time.Millisecond}))
	}
	return out
}

// TestOneAgencyFailingKeepsTheOthers: three agencies, the second refused or
// failing in each way the simulator can; the first and third land in both
// jobs, the second's failure is named in the run, its own outcome, the log
// and its freshness, and its password appears nowhere.
func TestOneAgencyFailingKeepsTheOthers(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		fault, class string
	}{
		{sim.AgencyWrongPassword, "auth"},
		{sim.Agency5xx, "retryable"},
		{sim.AgencyGarbage, "malformed"},
		{sim.AgencyHang, "timeout"},
	} {
		t.Run(tc.fault, func(t *testing.T) {
			t.Parallel()
			db := testdb.New(t)
			clk := testutil.NewClock(t0)
			agencies := []sim.Agency{sim.GeneratedAgency(0), sim.GeneratedAgency(1), sim.GeneratedAgency(2)}
			_, url := startSim(t, sim.Options{Clients: 40, Agencies: agencies, Now: clk.Now,
				AgencyFaults: map[string]string{agencies[1].Login: tc.fault}}, nil)
			clients := agencyClients(url, agencies, []string{"first", "second", "third"}, 300*time.Millisecond)
			var logs testutil.LockedBuffer
			runner := &jobs.Runner{Store: db, Log: testLogger(&logs), Replica: "a", Now: clk.Now}
			balances := &jobs.MGIDBalances{DB: db, Now: clk.Now}
			spend := &jobs.MGIDSpend{DB: db, Location: time.UTC, LookbackDays: 1, Now: clk.Now}
			for _, c := range clients {
				balances.Agencies = append(balances.Agencies, c)
				spend.Agencies = append(spend.Agencies, c)
			}

			for _, job := range []jobs.Job{balances, spend} {
				res := runner.Execute(context.Background(), job, jobs.Options{Trigger: jobs.TriggerManual, Timeout: time.Minute})
				if res.Status != jobs.StatusFailed || res.Err == nil {
					t.Fatalf("%s: %+v, want failed", job.Name(), res)
				}
				msg := res.Err.Error()
				if !strings.Contains(msg, "1 of 3 agencies failed: agency second (login agency-0002)") {
					t.Errorf("%s: error %q does not name the agency", job.Name(), msg)
				}
				if res.Rows == 0 {
					t.Errorf("%s: rows %d, want the other agencies' rows counted", job.Name(), res.Rows)
				}
				var status, class, stored string
				if err := testdb.QueryRow(t, db, `SELECT status, error_class, error FROM bi.sync_runs WHERE run_id = $1`,
					res.RunID).Scan(&status, &class, &stored); err != nil {
					t.Fatal(err)
				}
				if status != "failed" || class != tc.class || !strings.Contains(stored, "agency second (login agency-0002)") {
					t.Errorf("%s: sync_runs %s/%s %q, want failed/%s naming the agency", job.Name(), status, class, stored, tc.class)
				}
				rows, err := testdb.Query(t, db, `SELECT agency_name, status, coalesce(error_class, ''), rows_written
					FROM bi.sync_run_agencies WHERE run_id = $1 ORDER BY agency_name`, res.RunID)
				if err != nil {
					t.Fatal(err)
				}
				var got []string
				for rows.Next() {
					var name, st, cl string
					var n int64
					if err := rows.Scan(&name, &st, &cl, &n); err != nil {
						t.Fatal(err)
					}
					got = append(got, fmt.Sprintf("%s %s %s %v", name, st, cl, n > 0))
				}
				rows.Close()
				want := []string{"first succeeded  true", "second failed " + tc.class + " false", "third succeeded  true"}
				if strings.Join(got, "|") != strings.Join(want, "|") {
					t.Errorf("%s: agency outcomes %q, want %q", job.Name(), got, want)
				}
			}

			// The data of the first and third agencies landed; none of the second.
			first, third, second := agencies[0].ID, agencies[2].ID, agencies[1].ID
			for _, q := range []string{
				`SELECT count(*) FROM bi.mgid_client_balance_latest WHERE agency_id = $1`,
				`SELECT count(*) FROM bi.mgid_agency_balance_history WHERE agency_id = $1`,
				`SELECT count(*) FROM bi.coverage WHERE source = 'mgid-spend' AND state <> 'missing' AND agency_id = $1`,
			} {
				if testdb.Count(t, db, q, first) == 0 || testdb.Count(t, db, q, third) == 0 {
					t.Errorf("%s: nothing for the healthy agencies", q)
				}
				if n := testdb.Count(t, db, q, second); n != 0 {
					t.Errorf("%s: %d rows for the failing agency", q, n)
				}
			}
			// Freshness per agency: the failing one is stale and failing, the others fresh.
			if n := testdb.Count(t, db, `SELECT count(*) FROM bi.agency_freshness
				WHERE agency_name = 'second' AND stale AND last_status = 'failed' AND last_error_class = $1 AND failing_since IS NOT NULL`, tc.class); n != 2 {
				t.Errorf("second agency: %d jobs show it stale and failing, want 2", n)
			}
			if n := testdb.Count(t, db, `SELECT count(*) FROM bi.agency_freshness
				WHERE agency_name IN ('first', 'third') AND NOT stale AND last_status = 'succeeded'`); n != 4 {
				t.Errorf("healthy agencies: %d (job, agency) fresh, want 4", n)
			}
			log := logs.String()
			if !strings.Contains(log, `msg="agency failed" job=mgid-balances`) || !strings.Contains(log, "agency=second login=agency-0002") {
				t.Errorf("no ERROR naming the agency in the log:\n%s", log)
			}
			if strings.Contains(log, agencies[1].Password) {
				t.Error("the log holds the agency's password")
			}
			// The MGID client's own lines (a login refused, logged in) add
			// no second login to the agency's: a repeated key is a JSON
			// object with two "login" members.
			if !strings.Contains(log, `msg="mgid logged in"`) {
				t.Errorf("no login line in the log:\n%s", log)
			}
			for _, line := range strings.Split(log, "\n") {
				if strings.Count(line, " login=") > 1 {
					t.Errorf("a line names the login twice: %s", line)
				}
			}
			if n := testdb.Count(t, db, `SELECT count(*) FROM syncer.agency_runs WHERE error_message LIKE '%' || $1 || '%'`, agencies[1].Password); n != 0 {
				t.Error("a stored error holds the agency's password")
			}
		})
	}
}

// TestBackfillDayKeepsHealthyAgencies: in a backfill day the failing
// agency's savepoint rolls back, the others' spend commits, and the day is
// not checkpointed, so the next backfill does it again.
func TestBackfillDayKeepsHealthyAgencies(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	clk := testutil.NewClock(t0)
	agencies := []sim.Agency{sim.GeneratedAgency(0), sim.GeneratedAgency(1), sim.GeneratedAgency(2)}
	_, url := startSim(t, sim.Options{Clients: 40, Agencies: agencies, Now: clk.Now,
		AgencyFaults: map[string]string{agencies[1].Login: sim.Agency5xx}}, nil)
	spend := &jobs.MGIDSpend{DB: db, Location: time.UTC, Now: clk.Now}
	for _, c := range agencyClients(url, agencies, nil, 5*time.Second) {
		spend.Agencies = append(spend.Agencies, c)
	}
	b := &jobs.Backfill{Store: db, Runner: newRunner(db, "a", clk.Now), Concurrency: 1}
	day := time.Date(2026, 11, 10, 0, 0, 0, 0, time.UTC)
	res, err := b.Run(context.Background(), spend, day, day)
	if err == nil || !strings.Contains(err.Error(), "agency agency-0002 (login agency-0002)") || res.Failed != 1 {
		t.Fatalf("backfill: %+v %v, want the day failed naming agency-0002", res, err)
	}
	for _, a := range []sim.Agency{agencies[0], agencies[2]} {
		if n := testdb.Count(t, db, `SELECT count(*) FROM syncer.mgid_spend_fetches WHERE agency_id = $1 AND spend_date = $2`, a.ID, day); n != 1 {
			t.Errorf("agency %s: %d fetches of the day, want 1", a.Login, n)
		}
	}
	if n := testdb.Count(t, db, `SELECT count(*) FROM syncer.mgid_spend_fetches WHERE agency_id = $1`, agencies[1].ID); n != 0 {
		t.Errorf("failing agency: %d fetches stored", n)
	}
	if n := testdb.Count(t, db, `SELECT count(*) FROM syncer.backfill_days`); n != 0 {
		t.Errorf("a day with a failed agency was checkpointed")
	}
	if n := testdb.Count(t, db, `SELECT count(*) FROM bi.sync_run_agencies WHERE window_date = $1 AND status = 'failed' AND error_class = 'retryable'`, day); n != 1 {
		t.Errorf("%d failed agency outcomes for the day, want 1", n)
	}
	if n := testdb.Count(t, db, `SELECT count(*) FROM bi.sync_runs WHERE trigger = 'backfill' AND status = 'failed' AND rows_written > 0`); n != 1 {
		t.Errorf("the day's run is not recorded failed with the healthy agencies' rows")
	}
}

type overrunCounter struct {
	mu       sync.Mutex
	overruns int64
	outcomes map[string]int
}

func (o *overrunCounter) AgencyFinished(job, agency, status, class string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.outcomes == nil {
		o.outcomes = map[string]int{}
	}
	o.outcomes[status]++
}

func (o *overrunCounter) TickOverran(job string, n int64) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.overruns += n
}

// TestTickOverrunIsWarned: an agency an earlier tick still holds is skipped
// by the next tick, which says so at WARN and in the metric.
func TestTickOverrunIsWarned(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	clk := testutil.NewClock(t0)
	agencies := []sim.Agency{sim.GeneratedAgency(0), sim.GeneratedAgency(1)}
	_, url := startSim(t, sim.Options{Clients: 10, Agencies: agencies, Now: clk.Now}, nil)
	obs := &overrunCounter{}
	job := &jobs.MGIDBalances{DB: db, Now: clk.Now, Observer: obs}
	for _, c := range agencyClients(url, agencies, nil, 5*time.Second) {
		job.Agencies = append(job.Agencies, c)
	}
	var logs testutil.LockedBuffer
	runner := &jobs.Runner{Store: db, Log: testLogger(&logs), Replica: "a", Now: clk.Now}
	ctx := context.Background()
	tick1 := t0.Add(-15 * time.Minute)
	// An earlier tick's run (another replica, alive: it holds the job's
	// shared lock) holds agency-0002, unfinished.
	lock, _, err := db.LockJobShared(ctx, job.Name())
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Release()
	refs := []store.AgencyRef{{Name: "agency-0001", Login: "agency-0001"}, {Name: "agency-0002", Login: "agency-0002"}}
	if err := db.RegisterAgencies(ctx, job.Name(), refs); err != nil {
		t.Fatal(err)
	}
	earlier, err := db.StartRun(ctx, store.RunStart{Job: job.Name(), Trigger: jobs.TriggerSchedule, ScheduledFor: &tick1, Replica: "b"})
	if err != nil {
		t.Fatal(err)
	}
	login, ok, err := db.ClaimAgency(ctx, store.AgencyClaim{Job: job.Name(), Logins: []string{"agency-0002"}, Tick: tick1,
		RunID: earlier, Replica: "b", Lease: time.Hour})
	if err != nil || !ok || login != "agency-0002" {
		t.Fatalf("claim: %q %v %v", login, ok, err)
	}
	tick2 := t0
	res := runner.Execute(ctx, job, jobs.Options{Trigger: jobs.TriggerSchedule, ScheduledFor: &tick2, Timeout: time.Minute})
	if res.Status != jobs.StatusSucceeded || res.Rows != 11 {
		t.Fatalf("run: %+v, want agency-0001 alone", res)
	}
	if !strings.Contains(logs.String(), `level=WARN msg="tick overran`) {
		t.Errorf("no WARN about the overrun:\n%s", logs.String())
	}
	if obs.overruns != 1 || obs.outcomes["succeeded"] != 1 {
		t.Errorf("observer heard %d overruns and %v, want 1 and one success", obs.overruns, obs.outcomes)
	}
	// The same tick again (a late replica) finds nothing left to do.
	res = runner.Execute(ctx, job, jobs.Options{Trigger: jobs.TriggerSchedule, ScheduledFor: &tick2, Timeout: time.Minute})
	if res.Status != jobs.StatusSucceeded || res.Rows != 0 {
		t.Fatalf("same tick again: %+v, want nothing done", res)
	}
}

// TestReplicasShareAgenciesOncePerTick: three replicas run one tick of
// mgid-balances over 1,000 agencies; each agency is snapshotted exactly once
// and every replica takes a share. Inside make test each agency has 20
// clients (SYNCER_TEST_AGENCY_CLIENTS=1000 for the full 1,000 x
// 1,000; it takes minutes under -race on 2 cores).
func TestReplicasShareAgenciesOncePerTick(t *testing.T) {
	t.Parallel()
	const n = 1000
	clients := 20
	if v := os.Getenv("SYNCER_TEST_AGENCY_CLIENTS"); v != "" {
		var err error
		if clients, err = strconv.Atoi(v); err != nil {
			t.Fatalf("SYNCER_TEST_AGENCY_CLIENTS=%q: %v", v, err)
		}
	}
	db := testdb.New(t)
	clk := testutil.NewClock(t0)
	o := sim.Options{Clients: clients, Now: clk.Now}
	o.GenerateAgencies(n)
	_, url := startSim(t, o, nil)
	tick := t0
	var wg sync.WaitGroup
	results := make([]jobs.Result, 3)
	for r := range results {
		job := &jobs.MGIDBalances{DB: db, Now: clk.Now}
		for _, c := range agencyClients(url, o.Agencies, nil, 10*time.Second) {
			job.Agencies = append(job.Agencies, c)
		}
		runner := newRunner(db, fmt.Sprintf("replica-%d", r), clk.Now)
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[r] = runner.Execute(context.Background(), job, jobs.Options{Trigger: jobs.TriggerSchedule, ScheduledFor: &tick, Timeout: 5 * time.Minute})
		}()
	}
	wg.Wait()
	var total int64
	for r, res := range results {
		if res.Status != jobs.StatusSucceeded {
			t.Fatalf("replica %d: %+v", r, res)
		}
		if res.Rows == 0 {
			t.Errorf("replica %d took no agency: the tick was not shared", r)
		}
		total += res.Rows
		t.Logf("replica %d: %d rows", r, res.Rows)
	}
	if want := int64(n * (clients + 1)); total != want {
		t.Errorf("rows %d, want %d", total, want)
	}
	if got := testdb.Count(t, db, `SELECT count(*) FROM bi.mgid_agency_balance_history`); got != n {
		t.Errorf("%d agency snapshots, want %d", got, n)
	}
	if got := testdb.Count(t, db, `SELECT count(*) FROM (SELECT agency_login FROM bi.sync_run_agencies
		WHERE status = 'succeeded' GROUP BY agency_login HAVING count(*) = 1) o`); got != n {
		t.Errorf("%d agencies done exactly once, want %d", got, n)
	}
	if got := testdb.Count(t, db, `SELECT count(*) FROM bi.sync_run_agencies`); got != n {
		t.Errorf("%d agency outcomes, want %d", got, n)
	}
	if got := testdb.Count(t, db, `SELECT count(*) FROM bi.mgid_client_balance_latest`); got != int64(n*clients) {
		t.Errorf("%d clients in the latest snapshots, want %d", got, n*clients)
	}
}

// TestCatchUpClaimsTheScheduleTick: replicas that start together all catch
// up; they share agencies by the schedule's latest tick, which every replica
// computes alike whatever its clock says within the period.
func TestCatchUpClaimsTheScheduleTick(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		spec string
		now  time.Time
		want time.Time
	}{
		{"@every 15m", time.Date(2026, 11, 20, 9, 31, 7, 0, time.UTC), time.Date(2026, 11, 20, 9, 30, 0, 0, time.UTC)},
		{"@every 15m", time.Date(2026, 11, 20, 9, 44, 59, 0, time.UTC), time.Date(2026, 11, 20, 9, 30, 0, 0, time.UTC)},
		{"0 * * * *", time.Date(2026, 11, 20, 9, 59, 0, 0, time.UTC), time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)},
		{"0 * * * *", time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC), time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)},
	} {
		t.Run(tc.spec+" "+tc.now.Format(time.TimeOnly), func(t *testing.T) {
			sched, err := jobs.ParseSchedule(tc.spec)
			if err != nil {
				t.Fatal(err)
			}
			if got := jobs.PrevTick(sched, tc.now, jobs.Period(sched, tc.now)); !got.Equal(tc.want) {
				t.Errorf("prevTick(%s, %s) = %s, want %s", tc.spec, tc.now, got, tc.want)
			}
		})
	}
}

// TestOneAgencyDatabaseFailureKeepsTheOthers: Postgres refuses one agency's
// snapshot (a deadlock, raised by a trigger on that agency's row); its
// transaction rolls back as class database and the others commit.
func TestOneAgencyDatabaseFailureKeepsTheOthers(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	clk := testutil.NewClock(t0)
	agencies := []sim.Agency{sim.GeneratedAgency(0), sim.GeneratedAgency(1), sim.GeneratedAgency(2)}
	_, url := startSim(t, sim.Options{Clients: 40, Agencies: agencies, Now: clk.Now}, nil)
	ctx := context.Background()
	testdb.Exec(t, db, `
		CREATE FUNCTION syncer.test_deadlock() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN RAISE EXCEPTION 'deadlock detected (test)' USING ERRCODE = 'deadlock_detected'; END $$;
		CREATE TRIGGER test_deadlock BEFORE INSERT ON syncer.mgid_agency_balance
		FOR EACH ROW WHEN (NEW.agency_id = 100002) EXECUTE FUNCTION syncer.test_deadlock()`)
	job := &jobs.MGIDBalances{DB: db, Now: clk.Now}
	for _, c := range agencyClients(url, agencies, []string{"first", "second", "third"}, 5*time.Second) {
		job.Agencies = append(job.Agencies, c)
	}
	var logs testutil.LockedBuffer
	runner := &jobs.Runner{Store: db, Log: testLogger(&logs), Replica: "a", Now: clk.Now}
	res := runner.Execute(ctx, job, jobs.Options{Trigger: jobs.TriggerManual, Timeout: time.Minute})
	// One ERROR for the database's refusal: the run's line. The agency's own
	// line is a WARN, so agencies failing together in an outage stay one ERROR.
	if n := strings.Count(logs.String(), "level=ERROR"); n != 1 || !strings.Contains(logs.String(), `level=WARN msg="agency failed"`) {
		t.Errorf("%d ERROR lines, want 1 (the run's), and the agency's failure at WARN:\n%s", n, logs.String())
	}
	if res.Status != jobs.StatusFailed || res.Rows != 2*41 || !strings.Contains(res.Err.Error(), "agency second (login agency-0002)") {
		t.Fatalf("run: %+v, want failed naming second with the other two's 82 rows", res)
	}
	if n := testdb.Count(t, db, `SELECT count(*) FROM bi.sync_run_agencies WHERE agency_name = 'second' AND error_class = 'database'`); n != 1 {
		t.Errorf("second's outcome is not class database")
	}
	if n := testdb.Count(t, db, `SELECT count(DISTINCT agency_id) FROM bi.mgid_client_balance_latest`); n != 2 {
		t.Errorf("%d agencies landed, want 2", n)
	}
}

// TestAgencyOutcomeTimesTheWork: an agency's outcome says when its work
// ended, so finished_at - started_at is how long the agency took. (It was
// the default now(): on the agency's transaction, the moment it began,
// before any request, so every agency seemed to take no time.)
func TestAgencyOutcomeTimesTheWork(t *testing.T) {
	t.Parallel()
	const latency = 150 * time.Millisecond
	db := testdb.New(t)
	agencies := []sim.Agency{sim.GeneratedAgency(0)}
	_, url := startSim(t, sim.Options{Clients: 10, Agencies: agencies, Faults: sim.Faults{Latency: latency}}, nil)
	job := &jobs.MGIDBalances{DB: db}
	for _, c := range agencyClients(url, agencies, nil, 10*time.Second) {
		job.Agencies = append(job.Agencies, c)
	}
	res := newRunner(db, "a", nil).Execute(context.Background(), job, jobs.Options{Trigger: jobs.TriggerManual, Timeout: time.Minute})
	if res.Status != jobs.StatusSucceeded {
		t.Fatalf("%+v", res)
	}
	var took time.Duration
	var afterRun bool
	if err := testdb.QueryRow(t, db, `
		SELECT a.finished_at - a.started_at, a.finished_at <= r.finished_at
		FROM bi.sync_run_agencies a JOIN bi.sync_runs r USING (run_id) WHERE a.run_id = $1`, res.RunID).Scan(&took, &afterRun); err != nil {
		t.Fatal(err)
	}
	// The agency's balances and its clients list are asked for at once,
	// each behind the simulator's latency: the work takes at least that.
	if took < latency || took > 30*time.Second {
		t.Errorf("the agency's outcome says it took %s, want at least the simulator's %s", took, latency)
	}
	if !afterRun {
		t.Error("the agency's finished_at is after its run's")
	}
}
