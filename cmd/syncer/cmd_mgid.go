package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os/user"
	"regexp"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/robfig/cron/v3"

	"syncer/internal/config"
	"syncer/internal/jobs"
	"syncer/internal/money"
	"syncer/internal/providers/mgid"
	"syncer/internal/store"
	"syncer/internal/transfer"
)

// buildTopUpJob wires mgid-topup: the policy from the configuration, the
// caps' days in MGID_TIMEZONE, and a snapshot older than two periods of
// mgid-balances counted as too stale to plan from.
func (a *app) buildTopUpJob() (jobs.Job, error) {
	j := &jobs.MGIDTopUp{DB: a.db, Policy: a.cfg.TopUp, Location: a.cfg.MGID.Location, ReconcileGrace: a.transferGrace()}
	if sched, err := cron.ParseStandard(a.cfg.Jobs[config.JobMGIDBalances].Schedule); err == nil {
		j.MaxSnapshotAge = 2 * jobs.Period(sched, time.Now())
	}
	for _, c := range a.mgidClients() {
		j.Agencies = append(j.Agencies, c)
	}
	return j, nil
}

// transferGrace: reconcile never calls a transfer not_applied until this
// long after it was sent; by then any request of ours has timed out.
func (a *app) transferGrace() time.Duration { return 2 * a.cfg.MGID.RequestTimeout }

func cmdMGID(ctx context.Context, e env, args []string) error {
	const use = "usage: syncer mgid transfer --agency ID --client ID --amount 150.00 --from personal|bonus [--yes]\n" +
		"       syncer mgid transfers list [--agency ID] [--client ID] [--limit N]\n" +
		"       syncer mgid transfers reconcile\n" +
		"       syncer mgid transfers resolve --id N --as succeeded|not_applied --note TEXT"
	switch {
	case len(args) >= 1 && args[0] == "transfer":
		return cmdMGIDTransfer(ctx, e, args[1:])
	case len(args) >= 2 && args[0] == "transfers" && args[1] == "list":
		return cmdMGIDTransfersList(ctx, e, args[2:])
	case len(args) >= 2 && args[0] == "transfers" && args[1] == "reconcile":
		return cmdMGIDTransfersReconcile(ctx, e, args[2:])
	case len(args) >= 2 && args[0] == "transfers" && args[1] == "resolve":
		return cmdMGIDTransfersResolve(ctx, e, args[2:])
	}
	return usagef("%s", use)
}

// transferAmountRE: digits, optionally a point and digits. No sign, exponent,
// separator or space: an amount of money is typed, never computed.
var transferAmountRE = regexp.MustCompile(`^[0-9]+(\.[0-9]+)?$`)

// parseTransferAmount reads --amount: a positive decimal with at most two
// places (MGID's), parsed exactly, never through a float.
func parseTransferAmount(s string) (money.Amount, error) {
	switch {
	case s == "":
		return money.Amount{}, usagef("--amount is required, e.g. --amount 150.00")
	case strings.HasPrefix(s, "-"):
		return money.Amount{}, usagef("--amount %q: must be positive", s)
	case !transferAmountRE.MatchString(s):
		return money.Amount{}, usagef("--amount %q is not an amount: write digits with at most 2 decimal places, like 150.00 (no sign, exponent or separators)", s)
	}
	a, err := money.Parse(s)
	switch {
	case err != nil:
		return money.Amount{}, usagef("--amount %q: %v", s, errors.Unwrap(err))
	case !a.MaxPlaces(2):
		return money.Amount{}, usagef("--amount %q has more than 2 decimal places", s)
	case a.Sign() == 0:
		return money.Amount{}, usagef("--amount %q: must be more than zero", s)
	}
	return a, nil
}

// cmdMGIDTransfer validates everything it can before it touches anything
// (exit 2, nothing journaled), shows the transfer and asks for "yes", then
// sends it through the journal. Exit 1 when it was not sent or its outcome
// is not a success: refused by MGID, unknown, or refused by us because the
// client has a transfer whose outcome is not settled yet (run reconcile).
func cmdMGIDTransfer(ctx context.Context, e env, args []string) error {
	fs, path := newFlags("mgid transfer", e)
	agencyID := fs.Int64("agency", 0, "MGID agency (account) id")
	clientID := fs.Int64("client", 0, "MGID client id")
	amountText := fs.String("amount", "", "amount to transfer, e.g. 150.00 (at most 2 decimal places)")
	from := fs.String("from", "", "the agency account to draw from: personal or bonus")
	yes := fs.Bool("yes", false, "send without asking for confirmation")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("mgid transfer takes no arguments, got %q", fs.Args())
	}
	if *agencyID <= 0 {
		return usagef("--agency: an MGID agency id is required")
	}
	if *clientID <= 0 {
		return usagef("--client: an MGID client id is required")
	}
	amount, err := parseTransferAmount(*amountText)
	if err != nil {
		return err
	}
	account := mgid.AccountType(*from)
	if account != mgid.Personal && account != mgid.Bonus {
		return usagef("--from %q: must be personal or bonus", *from)
	}
	a, err := loadAndOpen(ctx, e, *path)
	if err != nil {
		return err
	}
	defer a.close()

	desk := &transfer.Desk{DB: a.db, AgencyID: *agencyID, Grace: a.transferGrace(), Log: a.log}
	q, err := desk.Quote(ctx, *clientID)
	switch {
	case errors.Is(err, transfer.ErrNoSnapshot):
		return usagef("agency %d has no balances snapshot: check --agency, or run `syncer once mgid-balances` first", *agencyID)
	case errors.Is(err, transfer.ErrNotInSnapshot):
		return usagef("client %d is not a client of agency %d in the latest balances snapshot (%s)",
			*clientID, *agencyID, q.Agency.CapturedAt.UTC().Format(time.RFC3339))
	case err != nil:
		return err
	}
	if desk.MGID, err = a.mgidClientFor(ctx, *agencyID); err != nil {
		return err
	}
	if q.HasOpen {
		return fmt.Errorf("client %d has transfer #%d (%s %s) whose outcome is %s; no new transfer until `syncer mgid transfers reconcile` settles it",
			*clientID, q.Open.ID, q.Open.Amount, q.Open.AccountType, q.Open.Status)
	}

	wallet, acct := q.Wallet, q.Agency.Account(string(account))
	fmt.Fprintf(e.stdout, "Transfer %s from agency %d's %s account to client %d (%s).\n", amount, *agencyID, account, *clientID, wallet.Email)
	fmt.Fprintf(e.stdout, "  latest snapshot (%s): client balance %s, income %s; agency %s account %s\n",
		q.WalletAt.UTC().Format(time.RFC3339), wallet.Balance, wallet.Income, account, acct)
	fmt.Fprintf(e.stdout, "  expected after: client balance %s; agency %s account %s\n",
		wallet.Balance.Add(amount), account, acct.Sub(amount))
	if !*yes {
		fmt.Fprint(e.stdout, `Send it? Type "yes" to confirm: `)
		answer, _ := bufio.NewReader(e.stdin).ReadString('\n')
		if a := strings.ToLower(strings.TrimSpace(answer)); a != "yes" && a != "y" {
			fmt.Fprintln(e.stdout, "\nNot sent; nothing was journaled.")
			return errSilentFailure
		}
	}

	t, err := desk.Send(ctx, transfer.Request{
		ClientID: *clientID, ClientEmail: wallet.Email, Amount: amount, Account: account,
		Origin: store.OriginManual, RequestedBy: requestedBy(e),
		Snapshot: &store.TransferBefore{At: q.WalletAt, ClientBalance: wallet.Balance, ClientIncome: wallet.Income, AgencyAccount: acct},
	})
	switch {
	case errors.Is(err, transfer.ErrBusy):
		return fmt.Errorf("another transfer or top-up round of agency %d is in progress; nothing was sent, try again shortly", *agencyID)
	case errors.Is(err, transfer.ErrClientNotInAgency):
		return usagef("MGID does not know client %d as agency %d's (Invalid client id); nothing was sent", *clientID, *agencyID)
	case t.ID == 0 && err != nil:
		return fmt.Errorf("nothing was sent: %w", err)
	}
	switch t.Status {
	case store.TransferSucceeded:
		fmt.Fprintf(e.stdout, "Transfer #%d succeeded: client balance now %s, agency %s account now %s.\n",
			t.ID, amountOrDash(t.ClientBalanceAfter), account, amountOrDash(t.AgencyAccountAfter))
		return nil
	case store.TransferRejected:
		return fmt.Errorf("transfer #%d rejected by MGID: %s", t.ID, t.ProviderMessage)
	case store.TransferUnknown, store.TransferInFlight:
		return fmt.Errorf("transfer #%d: outcome unknown (%v). It will not be sent again; run `syncer mgid transfers reconcile` to settle it", t.ID, err)
	}
	return fmt.Errorf("transfer #%d was not sent: %v", t.ID, err)
}

// mgidClientFor finds the configured login of agency id.
func (a *app) mgidClientFor(ctx context.Context, id int64) (*mgid.Client, error) {
	for _, c := range a.mgidClients() {
		got, err := c.AccountID(ctx)
		if err != nil {
			return nil, err
		}
		if got == id {
			return c, nil
		}
	}
	return nil, usagef("agency %d is not one of the configured MGID agencies", id)
}

// requestedBy names the operator in the journal: the OS user.
func requestedBy(e env) string {
	for _, k := range []string{"USER", "LOGNAME"} {
		if v := lookupEnv(e.environ, k); v != "" {
			return v
		}
	}
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	return "unknown"
}

func cmdMGIDTransfersList(ctx context.Context, e env, args []string) error {
	fs, path := newFlags("mgid transfers list", e)
	agencyID := fs.Int64("agency", 0, "only this agency")
	clientID := fs.Int64("client", 0, "only this client")
	limit := fs.Int("limit", 50, "newest N transfers")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 || *limit <= 0 {
		return usagef("usage: syncer mgid transfers list [--agency ID] [--client ID] [--limit N]")
	}
	a, err := loadAndOpen(ctx, e, *path)
	if err != nil {
		return err
	}
	defer a.close()
	rows, err := a.db.ListTransfers(ctx, store.TransferFilter{AgencyID: *agencyID, ClientID: *clientID, Limit: *limit})
	if err != nil {
		return err
	}
	if len(rows) == 0 {
		fmt.Fprintln(e.stdout, "No transfers journaled.")
		return nil
	}
	tw := tabwriter.NewWriter(e.stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tCREATED\tAGENCY\tCLIENT\tAMOUNT\tFROM\tORIGIN\tBY\tSTATUS\tCLIENT BEFORE\tCLIENT AFTER\tNOTE")
	for _, t := range rows {
		before := "-"
		if t.Before != nil {
			before = t.Before.ClientBalance.String()
		}
		note := t.ProviderMessage
		if note == "" {
			note = t.ReconcileNote
		}
		if note == "" {
			note = t.Error
		}
		if t.DryRun {
			note = "dry run: not sent"
		}
		fmt.Fprintf(tw, "%d\t%s\t%d\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", t.ID,
			t.CreatedAt.In(a.cfg.MGID.Location).Format(time.DateTime), t.AgencyID, t.ClientID, t.Amount, t.AccountType,
			t.Origin, t.RequestedBy, t.Status, before, amountOrDash(t.ClientBalanceAfter), truncate(note, 70))
	}
	return tw.Flush()
}

// cmdMGIDTransfersReconcile settles what it can; exit 1 if anything stays
// unknown (or an agency could not be reconciled).
func cmdMGIDTransfersReconcile(ctx context.Context, e env, args []string) error {
	fs, path := newFlags("mgid transfers reconcile", e)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("usage: syncer mgid transfers reconcile")
	}
	a, err := loadAndOpen(ctx, e, *path)
	if err != nil {
		return err
	}
	defer a.close()
	if n, err := a.db.CountOpenTransfers(ctx); err != nil {
		return err
	} else if n == 0 {
		fmt.Fprintln(e.stdout, "Nothing to reconcile: no transfer is in flight or unknown.")
		return nil
	}
	settled, undecided, failed := 0, 0, false
	for _, r := range a.reconcileTransfers(ctx) {
		for _, o := range r.report.Settled {
			settled++
			fmt.Fprintf(e.stdout, "#%d client %d %s: %s -> %s (%s)\n", o.Transfer.ID, o.Transfer.ClientID, o.Transfer.Amount,
				o.Transfer.Status, o.Status, o.Note)
		}
		for _, o := range r.report.Undecided {
			undecided++
			fmt.Fprintf(e.stdout, "#%d client %d %s: still unknown: %s\n", o.Transfer.ID, o.Transfer.ClientID, o.Transfer.Amount, o.Note)
		}
		if r.err != nil {
			failed = true
			fmt.Fprintf(e.stderr, "syncer mgid transfers reconcile: agency %d: %v\n", r.agencyID, r.err)
		}
	}
	fmt.Fprintf(e.stdout, "%d settled, %d still unknown.\n", settled, undecided)
	if failed || undecided > 0 {
		return errSilentFailure
	}
	return nil
}

// cmdMGIDTransfersResolve lets a person settle an unknown transfer that
// reconcile could not decide (say, after reading MGID's dashboard), so that
// its client can be topped up again. The note and who wrote it are kept.
func cmdMGIDTransfersResolve(ctx context.Context, e env, args []string) error {
	fs, path := newFlags("mgid transfers resolve", e)
	id := fs.Int64("id", 0, "the transfer's id (see `mgid transfers list`)")
	as := fs.String("as", "", "succeeded or not_applied")
	note := fs.String("note", "", "why: what you checked")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	const use = "usage: syncer mgid transfers resolve --id N --as succeeded|not_applied --note TEXT"
	switch {
	case fs.NArg() > 0:
		return usagef("mgid transfers resolve takes no arguments, got %q\n%s", fs.Args(), use)
	case *id <= 0:
		return usagef("--id: a transfer id is required\n%s", use)
	case *as != store.TransferSucceeded && *as != store.TransferNotApplied:
		return usagef("--as %q: must be succeeded or not_applied\n%s", *as, use)
	case strings.TrimSpace(*note) == "":
		return usagef("--note: say what you checked; it is kept in the journal\n%s", use)
	}
	a, err := loadAndOpen(ctx, e, *path)
	if err != nil {
		return err
	}
	defer a.close()
	text := fmt.Sprintf("resolved by %s: %s", requestedBy(e), strings.TrimSpace(*note))
	t, err := a.db.ResolveTransfer(ctx, *id, *as, text, time.Now())
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return usagef("transfer %d does not exist", *id)
	case errors.Is(err, store.ErrNotUnknown) && t.Status == store.TransferInFlight:
		return usagef("transfer %d is in flight: run `syncer mgid transfers reconcile` first", *id)
	case errors.Is(err, store.ErrNotUnknown):
		return usagef("transfer %d is %s: only an unknown transfer can be resolved", *id, t.Status)
	case err != nil:
		return err
	}
	fmt.Fprintf(e.stdout, "#%d client %d %s: unknown -> %s (%s)\n", t.ID, t.ClientID, t.Amount, *as, text)
	return nil
}

type agencyReconcile struct {
	agencyID int64
	report   transfer.ReconcileReport
	err      error
}

// reconcileTransfers reconciles every configured agency that has open
// transfers, each under its transfer lock.
func (a *app) reconcileTransfers(ctx context.Context) []agencyReconcile {
	var out []agencyReconcile
	for _, c := range a.mgidClients() {
		id, err := c.AccountID(ctx)
		if err != nil {
			out = append(out, agencyReconcile{err: err})
			continue
		}
		r := agencyReconcile{agencyID: id}
		r.report, r.err = a.reconcileAgency(ctx, c, id)
		out = append(out, r)
	}
	return out
}

func (a *app) reconcileAgency(ctx context.Context, c *mgid.Client, id int64) (transfer.ReconcileReport, error) {
	desk := &transfer.Desk{DB: a.db, MGID: c, AgencyID: id, Grace: a.transferGrace(), Log: a.log}
	rep, err := desk.Reconcile(ctx)
	if errors.Is(err, transfer.ErrBusy) {
		return rep, errors.New("another process is sending or reconciling its transfers; try again shortly")
	}
	return rep, err
}

// reconcileTransfersAtStart settles, when the daemon starts, transfers a
// stopped process left in flight or unknown. It only logs: a provider that
// is down must not keep the daemon from starting.
func (a *app) reconcileTransfersAtStart(ctx context.Context) {
	// Bounded: an unreachable MGID delays the start by this much at most.
	ctx, cancel := context.WithTimeout(ctx, a.transferGrace())
	defer cancel()
	if n, err := a.db.CountOpenTransfers(ctx); err != nil || n == 0 {
		return // nothing to do, or the database is down and the daemon will say so
	}
	for _, r := range a.reconcileTransfers(ctx) {
		if r.err != nil {
			a.log.Warn("reconcile of MGID transfers at start failed; the mgid-topup job or `syncer mgid transfers reconcile` will retry",
				"agency_id", r.agencyID, "err", r.err)
		}
		if n := len(r.report.Settled) + len(r.report.Undecided); n > 0 {
			a.log.Info("reconciled MGID transfers at start", "agency_id", r.agencyID,
				"settled", len(r.report.Settled), "still_unknown", len(r.report.Undecided))
		}
	}
}

func amountOrDash(a *money.Amount) string {
	if a == nil {
		return "-"
	}
	return a.String()
}
