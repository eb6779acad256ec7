package main

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"syncer/internal/money"
	"syncer/internal/providers/mgid"
	"syncer/internal/sim"
	"syncer/internal/store"
	"syncer/internal/testdb"
	"syncer/internal/testutil"
)

// xferCanary is the agency's password in these tests: it must appear in no
// output, log line or table.
const xferCanary = "canary-mgid-pass-7719"

type xferCLI struct {
	t     *testing.T
	db    *store.DB
	dbURL string
	sim   *sim.Server
	url   string
	env   []string
	first int64 // the agency's first client id
}

func newXferCLI(t *testing.T) *xferCLI {
	t.Helper()
	db, dbURL := testdb.NewWithURL(t)
	// A fixed simulator clock keeps the wallets still, so the balances the
	// commands print can be in golden files.
	simNow := func() time.Time { return time.Date(2026, 11, 20, 9, 30, 0, 0, time.UTC) }
	s := sim.New(sim.Options{Clients: 50, Now: simNow, Agencies: []sim.Agency{{Login: "agency-x", Password: xferCanary, ID: 1001}}})
	srv := httptest.NewServer(s)
	t.Cleanup(func() { s.Close(); srv.Close() })
	c := &xferCLI{t: t, db: db, dbURL: dbURL, sim: s, url: srv.URL, env: []string{
		"DATABASE_URL=" + dbURL, "MGID_BASE_URL=" + srv.URL, "MGID_LOGIN=agency-x", "MGID_PASSWORD=" + xferCanary,
		"SYNCER_LOG_LEVEL=debug", "USER=alice",
	}}
	c.first, _, _ = s.ClientRange(1001)
	return c
}

// run runs syncer with stdin and checks that no secret leaked.
func (c *xferCLI) run(stdin string, args ...string) result {
	c.t.Helper()
	var out, errb testutil.LockedBuffer
	code := run(context.Background(), args, env{stdout: &out, stderr: &errb, environ: c.env, stdin: strings.NewReader(stdin)})
	r := result{code, out.String(), errb.String()}
	if strings.Contains(r.stdout+r.stderr, xferCanary) {
		c.t.Errorf("syncer %v printed the MGID password", args)
	}
	return r
}

// golden compares what args printed with the test's golden file.
func (c *xferCLI) golden(t *testing.T, out string) {
	t.Helper()
	golden(t, normalize(out, c.dbURL, "$DATABASE_URL", c.url, "$MGID_BASE_URL"))
}

// record runs syncer like run and adds the command to the transcript out.
func (c *xferCLI) record(out *strings.Builder, stdin string, args ...string) result {
	c.t.Helper()
	r := c.run(stdin, args...)
	out.WriteString(render(args, r) + "\n")
	return r
}

func (c *xferCLI) transferArgs(client int64, amount string, extra ...string) []string {
	return append([]string{"mgid", "transfer", "--agency", "1001", "--client", strconv.FormatInt(client, 10),
		"--amount", amount, "--from", "personal"}, extra...)
}

func (c *xferCLI) snapshot() {
	c.t.Helper()
	if r := c.run("", "once", "mgid-balances"); r.code != 0 {
		c.t.Fatalf("snapshot: %+v", r)
	}
}

func (c *xferCLI) transfer(stdin string, client int64, amount string, extra ...string) result {
	c.t.Helper()
	return c.run(stdin, c.transferArgs(client, amount, extra...)...)
}

func (c *xferCLI) journal() []store.Transfer {
	c.t.Helper()
	rows, err := c.db.ListTransfers(context.Background(), store.TransferFilter{})
	if err != nil {
		c.t.Fatal(err)
	}
	return rows
}

func (c *xferCLI) noSecretsStored() {
	c.t.Helper()
	var text string
	if err := testdb.QueryRow(c.t, c.db, `SELECT coalesce(string_agg(row_to_json(t)::text, ' '), '') FROM syncer.mgid_transfers t`).
		Scan(&text); err != nil {
		c.t.Fatal(err)
	}
	var runs string
	if err := testdb.QueryRow(c.t, c.db, `SELECT coalesce(string_agg(row_to_json(r)::text, ' '), '') FROM syncer.runs r`).
		Scan(&runs); err != nil {
		c.t.Fatal(err)
	}
	if strings.Contains(text+runs, xferCanary) {
		c.t.Error("the MGID password is stored in the journal or the runs table")
	}
}

func TestMGIDTransferBadInputExitsTwo(t *testing.T) {
	t.Parallel()
	c := newXferCLI(t)
	c.snapshot()
	client := strconv.FormatInt(c.first, 10)
	args := func(agency, client, amount, from string) []string {
		return []string{"mgid", "transfer", "--agency", agency, "--client", client, "--amount", amount, "--from", from, "--yes"}
	}
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"negative", args("1001", client, "-150.00", "personal"), "must be positive"},
		{"zero", args("1001", client, "0", "personal"), "more than zero"},
		{"zero with places", args("1001", client, "0.00", "personal"), "more than zero"},
		{"three places", args("1001", client, "0.001", "personal"), "more than 2 decimal places"},
		{"exponent", args("1001", client, "1e3", "personal"), "not an amount"},
		{"text", args("1001", client, "lots", "personal"), "not an amount"},
		{"plus sign", args("1001", client, "+5", "personal"), "not an amount"},
		{"separator", args("1001", client, "1,000.00", "personal"), "not an amount"},
		{"empty", args("1001", client, "", "personal"), "--amount is required"},
		{"too large", args("1001", client, "123456789012345.00", "personal"), "too large"},
		{"bad account", args("1001", client, "10", "gold"), `--from "gold"`},
		{"no account", []string{"mgid", "transfer", "--agency", "1001", "--client", client, "--amount", "10"}, "--from"},
		{"unknown client", args("1001", "99999", "10", "personal"), "client 99999 is not a client of agency 1001"},
		{"unknown agency", args("2002", client, "10", "personal"), "agency 2002 has no balances snapshot"},
		{"client not a number", args("1001", "abc", "10", "personal"), "flag -client"},
		{"client zero", args("1001", "0", "10", "personal"), "--client"},
		{"no subcommand", []string{"mgid"}, "usage: syncer mgid transfer"},
	}
	// The message of each case is in its golden file; want is what it
	// must name, checked too so that -update cannot drop it unnoticed.
	t.Run("cases", func(t *testing.T) {
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				r := c.run("yes\n", tc.args...)
				if r.code != exitBadArgs || !strings.Contains(r.stderr, tc.want) {
					t.Errorf("exit %d, stderr %q; want 2 and %q", r.code, r.stderr, tc.want)
				}
				c.golden(t, render(tc.args, r))
			})
		}
	})
	if rows := c.journal(); len(rows) != 0 {
		t.Errorf("bad input journaled %d transfers", len(rows))
	}
	if n := c.sim.TransferRequests(); n != 0 {
		t.Errorf("bad input sent %d transfer requests", n)
	}
}

func TestMGIDTransferAsksThenSends(t *testing.T) {
	t.Parallel()
	c := newXferCLI(t)
	c.snapshot()
	// What each command printed is in the test's golden file: the question,
	// the balances before and after, the outcome, the journal listing.
	var out strings.Builder
	for _, answer := range []string{"no\n", "", "yess\n"} {
		fmt.Fprintf(&out, "# answer %q\n", answer)
		if r := c.record(&out, answer, c.transferArgs(c.first, "150.00")...); r.code != exitFailed {
			t.Errorf("answer %q: exit %d, %q", answer, r.code, r.stdout)
		}
	}
	if len(c.journal()) != 0 || c.sim.TransferRequests() != 0 {
		t.Fatal("a declined transfer was journaled or sent")
	}

	out.WriteString("# answer \"yes\\n\"\n")
	r := c.record(&out, "yes\n", c.transferArgs(c.first, "150.00")...)
	if r.code != 0 {
		t.Fatalf("confirmed transfer: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	email := "c" + strconv.FormatInt(c.first, 10) + "@example.com"
	rows := c.journal()
	if len(rows) != 1 || rows[0].Status != store.TransferSucceeded || rows[0].RequestedBy != "alice" ||
		rows[0].Origin != store.OriginManual || rows[0].Before == nil || rows[0].Before.Source != store.BeforeFromProvider ||
		rows[0].ClientBalanceAfter == nil || rows[0].ClientEmail != email {
		t.Fatalf("journal: %+v", rows)
	}
	if got := c.sim.Transfers(); len(got) != 1 || got[0].Amount != money.MustParse("150") {
		t.Errorf("simulator applied %+v", got)
	}

	// --yes skips the question; the bonus account is drawn when asked.
	r = c.record(&out, "", "mgid", "transfer", "--agency", "1001", "--client", strconv.FormatInt(c.first+1, 10), "--amount", "0.01", "--from", "bonus", "--yes")
	if r.code != 0 {
		t.Fatalf("--yes: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if got := c.sim.Transfers(); len(got) != 2 || got[1].AccountType != "bonus" {
		t.Errorf("simulator applied %+v", got)
	}

	// MGID refuses: journaled as rejected with its message, exit 1.
	if r = c.record(&out, "", c.transferArgs(c.first+2, "99999999.00", "--yes")...); r.code != exitFailed {
		t.Errorf("refused transfer: exit %d, %q", r.code, r.stderr)
	}
	if list := c.record(&out, "", "mgid", "transfers", "list"); list.code != 0 {
		t.Errorf("list: exit %d\n%s", list.code, list.stdout)
	}
	c.golden(t, out.String())
	c.noSecretsStored()
}

// A lost answer: exit 1, journal unknown, no second transfer to the client
// until reconcile settles it; reconcile exits 1 while anything stays unknown.
func TestMGIDTransferUnknownThenReconcile(t *testing.T) {
	t.Parallel()
	c := newXferCLI(t)
	c.snapshot()
	// What each command printed is in the test's golden file.
	var out strings.Builder
	c.sim.SetFaults(sim.Faults{TransferFault: sim.TransferApplyThenDrop})
	out.WriteString("# the answer is lost after the transfer is applied\n")
	r := c.record(&out, "", c.transferArgs(c.first, "20.00", "--yes")...)
	if r.code != exitFailed {
		t.Fatalf("lost answer: exit %d, %q", r.code, r.stderr)
	}
	c.sim.SetFaults(sim.Faults{TransferFault: sim.TransferDropBeforeApply})
	out.WriteString("# the request is dropped before it is applied\n")
	if r := c.record(&out, "", c.transferArgs(c.first+1, "30.00", "--yes")...); r.code != exitFailed {
		t.Fatalf("dropped request: exit %d", r.code)
	}
	c.sim.SetFaults(sim.Faults{})

	out.WriteString("# a second transfer to the client with an unknown one\n")
	r = c.record(&out, "", c.transferArgs(c.first, "20.00", "--yes")...)
	if r.code != exitFailed {
		t.Errorf("second transfer to a client with an unknown one: exit %d, %q", r.code, r.stderr)
	}
	if n := c.sim.TransferRequests(); n != 2 {
		t.Fatalf("%d transfer requests, want 2 (nothing resent)", n)
	}

	// The first is applied and settles; the second was sent less than the
	// grace ago and stays unknown: exit 1, reported.
	r = c.record(&out, "", "mgid", "transfers", "reconcile")
	if r.code != exitFailed {
		t.Errorf("reconcile: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	rows := c.journal()
	if len(rows) != 2 || rows[1].Status != store.TransferSucceeded || rows[0].Status != store.TransferUnknown {
		t.Fatalf("journal: %+v", rows)
	}
	if got := c.sim.Transfers(); len(got) != 1 || c.sim.TransferRequests() != 2 {
		t.Errorf("simulator: %d requests, applied %+v", c.sim.TransferRequests(), got)
	}
	// Once settled, the client may be paid again.
	if r := c.transfer("", c.first, "20.00", "--yes"); r.code != 0 {
		t.Errorf("transfer after reconcile: exit %d %s", r.code, r.stderr)
	}

	// What reconcile cannot decide, a person resolves, with a note.
	unknown, succeeded := strconv.FormatInt(rows[0].ID, 10), strconv.FormatInt(rows[1].ID, 10)
	out.WriteString("# resolve refuses bad input\n")
	for _, bad := range []struct {
		args []string
		want string
	}{
		{[]string{"--id", unknown, "--as", "not_applied"}, "--note: say what you checked"},
		{[]string{"--id", unknown, "--as", "rejected", "--note", "x"}, `--as "rejected": must be succeeded or not_applied`},
		{[]string{"--as", "succeeded", "--note", "x"}, "--id: a transfer id is required"},
		{[]string{"--id", "999999", "--as", "succeeded", "--note", "x"}, "transfer 999999 does not exist"},
		{[]string{"--id", succeeded, "--as", "not_applied", "--note", "x"}, "is succeeded: only an unknown transfer can be resolved"},
	} {
		r := c.record(&out, "", append([]string{"mgid", "transfers", "resolve"}, bad.args...)...)
		if r.code != exitBadArgs || !strings.Contains(r.stderr, bad.want) {
			t.Errorf("resolve %v: exit %d, stderr %q, want %q", bad.args, r.code, r.stderr, bad.want)
		}
	}
	r = c.record(&out, "", "mgid", "transfers", "resolve", "--id", unknown, "--as", "not_applied", "--note", "not in MGID's transfer history")
	if r.code != 0 {
		t.Fatalf("resolve: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	x, err := c.db.GetTransfer(context.Background(), rows[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if x.Status != store.TransferNotApplied || x.SettledAt == nil || x.ReconcileNote != "resolved by alice: not in MGID's transfer history" {
		t.Errorf("resolved row: %+v", x)
	}
	if r := c.record(&out, "", "mgid", "transfers", "reconcile"); r.code != 0 {
		t.Errorf("reconcile after resolve: exit %d %s", r.code, r.stdout)
	}
	if r := c.record(&out, "", c.transferArgs(c.first+1, "30.00", "--yes")...); r.code != 0 {
		t.Errorf("transfer after resolve: exit %d %s", r.code, r.stderr)
	}
	c.golden(t, out.String())
	c.noSecretsStored()
}

// A transfer left in flight by a killed process is settled by the next
// daemon start.
func TestMGIDReconcileAtStart(t *testing.T) {
	t.Parallel()
	c := newXferCLI(t)
	ctx := context.Background()
	mc := mgid.New(c.url, "agency-x", xferCanary)
	w, err := mc.Client(ctx, c.first)
	if err != nil {
		t.Fatal(err)
	}
	ag, err := mc.Agency(ctx)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	id, err := c.db.InsertTransfer(ctx, store.Transfer{AgencyID: 1001, ClientID: c.first, Amount: money.MustParse("12.34"),
		AccountType: "personal", Origin: store.OriginManual, RequestedBy: "alice", Status: store.TransferInFlight,
		Before: &store.TransferBefore{Source: store.BeforeFromProvider, At: now, ClientBalance: w.Balance, ClientIncome: w.Income,
			AgencyAccount: ag.Personal}, CreatedAt: now, SentAt: &now})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := mc.Transfer(ctx, c.first, mgid.Personal, money.MustParse("12.34")); err != nil {
		t.Fatal(err) // applied; the "killed" process never recorded it
	}
	var logs testutil.LockedBuffer
	e := env{stdout: &logs, stderr: &logs, environ: c.env, stdin: strings.NewReader("")}
	cfg, err := load(e, "", needs{})
	if err != nil {
		t.Fatal(err)
	}
	a, err := openConfig(ctx, e, cfg, needs{})
	if err != nil {
		t.Fatal(err)
	}
	defer a.close()
	a.reconcileTransfersAtStart(ctx)
	tr, err := c.db.GetTransfer(ctx, id)
	if err != nil || tr.Status != store.TransferSucceeded {
		t.Fatalf("after start: %q %v\n%s", tr.Status, err, logs.String())
	}
	if strings.Contains(logs.String(), xferCanary) {
		t.Error("the password is in the logs")
	}
	if r := c.run("", "mgid", "transfers", "reconcile"); r.code != 0 || !strings.Contains(r.stdout, "Nothing to reconcile") {
		t.Errorf("reconcile after start: exit %d %s", r.code, r.stdout)
	}
}

// The demo path: a YAML policy, a dry run through `once`, and the journal.
func TestMGIDTopUpDryRunOnce(t *testing.T) {
	t.Parallel()
	c := newXferCLI(t)
	path := filepath.Join(t.TempDir(), "syncer.yaml")
	if err := os.WriteFile(path, []byte(`
jobs:
  mgid-topup: {enabled: true}
topup:
  account_type: personal
  max_per_transfer: 150.00
  max_per_client_day: 300.00
  max_per_agency_day: 2000.00
  default: {min: 40.00, target: 120.00}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	c.snapshot()
	// The run's summary and the journal listing are in the golden file.
	var out strings.Builder
	r := c.record(&out, "", "once", "mgid-topup", "--config", path)
	if r.code != 0 {
		t.Fatalf("once mgid-topup: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	rows := c.journal()
	if len(rows) == 0 || c.sim.TransferRequests() != 0 {
		t.Fatalf("dry run: %d rows, %d requests", len(rows), c.sim.TransferRequests())
	}
	for _, x := range rows {
		if x.Status != store.TransferPlanned || !x.DryRun || x.RequestedBy != "mgid-topup" || x.RunID == 0 {
			t.Errorf("dry-run row %+v", x)
		}
	}
	list := c.record(&out, "", "mgid", "transfers", "list", "--config", path)
	if list.code != 0 || strings.Count(list.stdout, "planned") != len(rows) {
		t.Errorf("list: exit %d\n%s", list.code, list.stdout)
	}
	c.golden(t, normalize(out.String(), path, "$CONFIG"))
	// The policy is validated like the rest of the configuration.
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(bad, []byte("topup: {default: {min: 1, target: 2}}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if r := c.run("", "once", "mgid-topup", "--config", bad); r.code != exitBadArgs || !strings.Contains(r.stderr, "topup.max_per_transfer") {
		t.Errorf("policy without caps: exit %d %s", r.code, r.stderr)
	}
	c.noSecretsStored()
}
