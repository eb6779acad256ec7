package jobs_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"syncer/internal/config"
	"syncer/internal/jobs"
	"syncer/internal/money"
	"syncer/internal/sim"
	"syncer/internal/store"
	"syncer/internal/testdb"
	"syncer/internal/transfer"
	"syncer/internal/transfer/transfertest"
)

// The top-up job's tests run one agency's transfers against a simulator in
// the environment the transfer package's tests use (transfertest).

// xferEnv is transfertest's environment, with this package's helpers on it.
type xferEnv struct{ *transfertest.Env }

func newXferEnv(t *testing.T, o sim.Options) *xferEnv { return &xferEnv{transfertest.New(t, o)} }

const xferGrace = transfertest.Grace

var manual = transfertest.Manual

var amt = money.MustParse

// snapshot runs mgid-balances once at the current time.
func (e *xferEnv) snapshot() {
	e.T.Helper()
	job := &jobs.MGIDBalances{Agencies: []jobs.MGIDWallets{e.Client}, DB: e.DB, Now: e.Clk.Now}
	if res := newRunner(e.DB, "snap", e.Clk.Now).Execute(context.Background(), job, jobs.Options{Trigger: jobs.TriggerManual}); res.Status != jobs.StatusSucceeded {
		e.T.Fatalf("snapshot: %+v", res)
	}
}

func (e *xferEnv) topUp(p config.TopUp) *jobs.MGIDTopUp {
	return &jobs.MGIDTopUp{DB: e.DB, Agencies: []jobs.MGIDTopUpAgency{e.MGID(10 * time.Second)}, Policy: p,
		Location: time.UTC, MaxSnapshotAge: 30 * time.Minute, ReconcileGrace: xferGrace, Now: e.Clk.Now}
}

func (e *xferEnv) runTopUp(p config.TopUp) jobs.Result {
	e.T.Helper()
	r := &jobs.Runner{Store: e.DB, Log: testLogger(e.Logs), Replica: "a", Now: e.Clk.Now}
	return r.Execute(context.Background(), e.topUp(p), jobs.Options{Trigger: jobs.TriggerManual})
}

func (e *xferEnv) detail(runID int64, key string) int64 {
	e.T.Helper()
	return testdb.Count(e.T, e.DB, `SELECT coalesce((detail->>$2)::bigint, 0) FROM syncer.runs WHERE id = $1`, runID, key)
}

// journalAgrees checks that the journal's succeeded transfers are exactly
// what the simulator applied, and that no cap was broken.
func (e *xferEnv) journalAgrees(p config.TopUp) int {
	e.T.Helper()
	rows, err := e.DB.ListTransfers(context.Background(), store.TransferFilter{Limit: 10000})
	if err != nil {
		e.T.Fatal(err)
	}
	journal := map[int64]money.Amount{}
	var total money.Amount
	for _, r := range rows {
		if r.Status == store.TransferSucceeded {
			journal[r.ClientID] = journal[r.ClientID].Add(r.Amount)
			total = total.Add(r.Amount)
		}
		if r.Amount.Cmp(p.MaxPerTransfer) > 0 {
			e.T.Errorf("transfer %d of %s exceeds max_per_transfer %s", r.ID, r.Amount, p.MaxPerTransfer)
		}
	}
	applied := map[int64]money.Amount{}
	for _, a := range e.Sim.Transfers() {
		applied[a.ClientID] = applied[a.ClientID].Add(a.Amount)
	}
	if len(journal) != len(applied) {
		e.T.Errorf("journal has %d clients paid, simulator %d", len(journal), len(applied))
	}
	for id, sum := range applied {
		if journal[id] != sum {
			e.T.Errorf("client %d: simulator applied %s, journal says %s", id, sum, journal[id])
		}
		if sum.Cmp(p.MaxPerClientDay) > 0 {
			e.T.Errorf("client %d got %s, over max_per_client_day %s", id, sum, p.MaxPerClientDay)
		}
	}
	if total.Cmp(p.MaxPerAgencyDay) > 0 {
		e.T.Errorf("agency sent %s, over max_per_agency_day %s", total, p.MaxPerAgencyDay)
	}
	return len(e.Sim.Transfers())
}

func livePolicy() config.TopUp {
	return config.TopUp{DryRun: false, AccountType: "personal",
		MaxPerTransfer: amt("150"), MaxPerClientDay: amt("300"), MaxPerAgencyDay: amt("2000"),
		Default: &config.TopUpRule{Min: amt("40"), Target: amt("120")}}
}

// Two replicas fire the same tick at once: one plans and sends, the other
// skips, and the journal and the simulator agree on one set of transfers.
// The next tick plans from the same (now stale) snapshot, but the read
// before each transfer shows the clients already topped up: nothing more is sent.
func TestTopUpTwoReplicasOneSetOfTransfers(t *testing.T) {
	t.Parallel()
	e := newXferEnv(t, sim.Options{Clients: 300})
	e.snapshot()
	p := livePolicy()
	p.MaxPerAgencyDay = amt("100000") // room for every client in the first round
	tick := t0.Add(time.Minute)
	var wg sync.WaitGroup
	results := make([]jobs.Result, 2)
	start := make(chan struct{})
	for i, name := range []string{"replica-a", "replica-b"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := &jobs.Runner{Store: e.DB, Log: testLogger(e.Logs), Replica: name, Now: e.Clk.Now}
			<-start
			results[i] = r.Execute(context.Background(), e.topUp(p), jobs.Options{Trigger: jobs.TriggerSchedule, ScheduledFor: &tick})
		}()
	}
	close(start)
	wg.Wait()
	ran, skipped := 0, 0
	for _, r := range results {
		switch r.Status {
		case jobs.StatusSucceeded:
			ran++
		case jobs.StatusSkipped:
			skipped++
		default:
			t.Errorf("run: %+v", r)
		}
	}
	if ran != 1 || skipped != 1 {
		t.Fatalf("results %+v; want one run and one skip", results)
	}
	sent := e.journalAgrees(p)
	if sent == 0 || e.Sim.TransferRequests() != sent {
		t.Fatalf("%d transfers applied for %d requests; want some, one request each", sent, e.Sim.TransferRequests())
	}

	e.Clk.Advance(5 * time.Minute)
	next := t0.Add(6 * time.Minute)
	r := &jobs.Runner{Store: e.DB, Log: testLogger(e.Logs), Replica: "replica-b", Now: e.Clk.Now}
	res := r.Execute(context.Background(), e.topUp(p), jobs.Options{Trigger: jobs.TriggerSchedule, ScheduledFor: &next})
	if res.Status != jobs.StatusSucceeded {
		t.Fatalf("second tick: %+v", res)
	}
	if got := len(e.Sim.Transfers()); got != sent {
		t.Errorf("second tick sent %d more transfers", got-sent)
	}
	if n := e.detail(res.RunID, "skipped_no_longer_below_min"); n != int64(sent) {
		t.Errorf("second tick skipped %d clients as topped up, want %d", n, sent)
	}
	e.journalAgrees(p)
	e.NoSecrets()
}

// The agency's bonus account runs dry mid-round: MGID's refusal is
// journaled, the round stops there, and the run records why.
func TestTopUpStopsOnInsufficientFunds(t *testing.T) {
	t.Parallel()
	e := newXferEnv(t, sim.Options{Clients: 50})
	ag, err := e.Client.Agency(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	// Each transfer takes 60% of the bonus account: the second cannot be paid.
	share := money.FromUnits(ag.Bonus.Units() * 6 / 10 / 100 * 100)
	if share.Cmp(amt("1")) < 0 {
		t.Fatalf("the simulator's bonus account holds only %s", ag.Bonus)
	}
	e.snapshot()
	p := config.TopUp{DryRun: false, AccountType: "bonus", MaxPerTransfer: share, MaxPerClientDay: share,
		MaxPerAgencyDay: amt("99999999"), Default: &config.TopUpRule{Min: amt("99999"), Target: amt("100000")}}
	res := e.runTopUp(p)
	if res.Status != jobs.StatusFailed || res.Err == nil || !strings.Contains(res.Err.Error(), "insufficient funds") {
		t.Fatalf("run: %+v", res)
	}
	var status, class, msg string
	if err := testdb.QueryRow(t, e.DB, `SELECT status, error_class, error FROM bi.sync_runs WHERE run_id = $1`,
		res.RunID).Scan(&status, &class, &msg); err != nil {
		t.Fatal(err)
	}
	if status != "failed" || class != "permanent" || !strings.Contains(msg, "less than what you are trying to transfer") {
		t.Errorf("run recorded %s/%s: %s", status, class, msg)
	}
	if e.detail(res.RunID, "stopped_insufficient_funds") != 1 || e.detail(res.RunID, "unsent_after_stop") != 48 {
		t.Errorf("run detail lacks the stop: stopped %d, unsent %d", e.detail(res.RunID, "stopped_insufficient_funds"),
			e.detail(res.RunID, "unsent_after_stop"))
	}
	rows, err := e.DB.ListTransfers(context.Background(), store.TransferFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 || rows[1].Status != store.TransferSucceeded || rows[0].Status != store.TransferRejected ||
		!transfer.IsInsufficientFunds(rows[0]) || rows[0].RunID != res.RunID {
		t.Fatalf("journal: %+v", rows)
	}
	if res.Rows != 2 {
		t.Errorf("the failed round recorded rows_written %d, want the 2 transfers it journaled", res.Rows)
	}
	if e.journalAgrees(p) != 1 || e.Sim.TransferRequests() != 2 {
		t.Errorf("simulator: %d requests", e.Sim.TransferRequests())
	}
	e.NoSecrets()
}

// Dry run, the default: the plan is journaled as planned rows and nothing is
// sent. Later rounds of the day count the earlier plans against the caps.
func TestTopUpDryRunJournalsPlanWithinCaps(t *testing.T) {
	t.Parallel()
	e := newXferEnv(t, sim.Options{Clients: 300})
	e.snapshot()
	p := livePolicy()
	p.DryRun = true
	p.MaxPerAgencyDay = amt("1000")
	var rounds []jobs.Result
	for i := 0; i < 4; i++ {
		res := e.runTopUp(p)
		if res.Status != jobs.StatusSucceeded {
			t.Fatalf("round %d: %+v", i, res)
		}
		rounds = append(rounds, res)
	}
	if rounds[0].Rows == 0 {
		t.Fatal("the first dry run planned nothing")
	}
	if e.Sim.TransferRequests() != 0 {
		t.Fatalf("a dry run sent %d requests", e.Sim.TransferRequests())
	}
	var total money.Amount
	var maxClient money.Amount
	if err := testdb.QueryRow(t, e.DB, `SELECT coalesce(sum(amount), 0), coalesce(max(s), 0) FROM
		(SELECT client_id, sum(amount) AS s, sum(amount) AS amount FROM bi.mgid_transfers
		 WHERE status = 'planned' AND dry_run AND before_source = 'snapshot' AND sent_at IS NULL GROUP BY client_id) c`).
		Scan(&total, &maxClient); err != nil {
		t.Fatal(err)
	}
	if total.Cmp(p.MaxPerAgencyDay) > 0 || maxClient.Cmp(p.MaxPerClientDay) > 0 {
		t.Errorf("dry runs planned %s in all, %s for one client; caps %s and %s", total, maxClient, p.MaxPerAgencyDay, p.MaxPerClientDay)
	}
	if total != p.MaxPerAgencyDay {
		t.Errorf("four rounds planned %s, want the agency cap %s reached", total, p.MaxPerAgencyDay)
	}
	if last := rounds[len(rounds)-1]; last.Rows != 0 || e.detail(last.RunID, "skipped_agency_day_cap") == 0 {
		t.Errorf("last round: %+v, agency cap skips %d", last, e.detail(last.RunID, "skipped_agency_day_cap"))
	}
	// A new day starts over.
	e.Clk.Advance(24 * time.Hour)
	e.snapshot()
	if res := e.runTopUp(p); res.Rows == 0 {
		t.Errorf("next day planned nothing: %+v", res)
	}
}

// No snapshot, or one too old: the round is skipped with a record and
// nothing is journaled. A client with an unknown transfer gets nothing.
func TestTopUpSkips(t *testing.T) {
	t.Parallel()
	e := newXferEnv(t, sim.Options{Clients: 100})
	p := livePolicy()
	p.DryRun = true
	res := e.runTopUp(p)
	if res.Status != jobs.StatusSucceeded || e.detail(res.RunID, "skipped_no_snapshot") != 1 {
		t.Errorf("no snapshot: %+v", res)
	}
	e.snapshot()
	e.Clk.Advance(31 * time.Minute)
	res = e.runTopUp(p)
	if res.Status != jobs.StatusSucceeded || e.detail(res.RunID, "skipped_stale_snapshot") != 1 || res.Rows != 0 {
		t.Errorf("stale snapshot: %+v", res)
	}
	if !strings.Contains(e.Logs.String(), "snapshot is too old") {
		t.Error("no log line says why the round was skipped")
	}
	if n := testdb.Count(t, e.DB, `SELECT count(*) FROM syncer.mgid_transfers`); n != 0 {
		t.Fatalf("%d rows journaled by skipped rounds", n)
	}

	// Find a client the policy would top up, and leave it a recent unknown transfer.
	e.snapshot()
	below, err := e.DB.LatestClientsBelow(context.Background(), sim.DemoAgencyID, p.Default.Min)
	if err != nil || len(below) == 0 {
		t.Fatalf("no client below the minimum: %v", err)
	}
	victim := below[0].ClientID
	e.Sim.SetFaults(sim.Faults{TransferFault: sim.TransferDropBeforeApply})
	if tr, _ := e.Desk(e.Client).Send(context.Background(), manual(victim, "1.00")); tr.Status != store.TransferUnknown {
		t.Fatalf("setup: %q", tr.Status)
	}
	e.Sim.SetFaults(sim.Faults{})
	res = e.runTopUp(p)
	if res.Status != jobs.StatusSucceeded || e.detail(res.RunID, "skipped_open_transfer") != 1 || e.detail(res.RunID, "still_unknown") != 1 {
		t.Errorf("round with an unknown transfer: %+v", res)
	}
	if n := testdb.Count(t, e.DB, `SELECT count(*) FROM syncer.mgid_transfers WHERE client_id = $1`, victim); n != 1 {
		t.Errorf("the client with an unknown transfer got %d rows", n)
	}
	if n := testdb.Count(t, e.DB, `SELECT count(*) FROM syncer.mgid_transfers WHERE status = 'planned'`); n != res.Rows || n == 0 {
		t.Errorf("%d planned rows, run wrote %d", n, res.Rows)
	}
}

// Live rounds through a day of drifting balances: whatever they find, the
// caps hold and the journal matches what MGID applied.
func TestTopUpLiveRoundsKeepTheCaps(t *testing.T) {
	t.Parallel()
	e := newXferEnv(t, sim.Options{Clients: 200})
	p := livePolicy() // the agency's 2000 a day runs out before every client is served
	for round := 0; round < 12; round++ {
		e.snapshot()
		if res := e.runTopUp(p); res.Status != jobs.StatusSucceeded {
			t.Fatalf("round %d: %+v", round, res)
		}
		e.Clk.Advance(2 * time.Hour) // t0 is 09:30: the rounds cross midnight
	}
	if e.journalAgrees(config.TopUp{MaxPerTransfer: p.MaxPerTransfer, MaxPerClientDay: p.MaxPerClientDay.Add(p.MaxPerClientDay),
		MaxPerAgencyDay: p.MaxPerAgencyDay.Add(p.MaxPerAgencyDay)}) == 0 {
		t.Fatal("nothing was sent")
	}
	// Per calendar day, each cap holds exactly.
	var worstAgency, worstClient money.Amount
	if err := testdb.QueryRow(t, e.DB, `
		SELECT coalesce(max(a), 0), coalesce(max(c), 0) FROM (
		    SELECT (created_at AT TIME ZONE 'UTC')::date AS d, sum(amount) AS a, 0 AS c FROM syncer.mgid_transfers WHERE status = 'succeeded' GROUP BY 1
		    UNION ALL
		    SELECT (created_at AT TIME ZONE 'UTC')::date, 0, sum(amount) FROM syncer.mgid_transfers WHERE status = 'succeeded' GROUP BY 1, client_id) x`).
		Scan(&worstAgency, &worstClient); err != nil {
		t.Fatal(err)
	}
	t.Logf("worst day: agency %s, client %s", worstAgency, worstClient)
	if worstAgency.Cmp(p.MaxPerAgencyDay) > 0 || worstClient.Cmp(p.MaxPerClientDay) > 0 {
		t.Errorf("a day reached %s for the agency and %s for one client; caps %s and %s",
			worstAgency, worstClient, p.MaxPerAgencyDay, p.MaxPerClientDay)
	}
}
