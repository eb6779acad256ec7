package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os/user"
	"regexp"
	"strings"
	"time"

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
	j := &jobs.MGIDTopUp{DB: a.db, Policy: a.cfg.TopUp, Location: a.cfg.MGID.Location, ReconcileGrace: a.transferGrace(),
		Replicas: a.replicaGuard()}
	j.MaxSnapshotAge = jobs.SnapshotAgeFor(a.cfg.Jobs[config.JobMGIDBalances].Schedule, time.Now())
	for _, c := range a.mgidClients() {
		j.Agencies = append(j.Agencies, c)
	}
	return j, nil
}

// transferGrace is the reconcile grace for MGID's request timeout (transfer.GraceFor).
func (a *app) transferGrace() time.Duration { return transfer.GraceFor(a.cfg.MGID.RequestTimeout) }

// replicaGuard: standbys that must hold a transfer's journal row before it
// is sent (SYNCER_TRANSFER_MIN_REPLICAS, SYNCER_TRANSFER_REPLICA_TIMEOUT).
func (a *app) replicaGuard() transfer.ReplicaGuard {
	return transfer.ReplicaGuard{Min: a.cfg.Transfer.MinReplicas, Timeout: a.cfg.Transfer.ReplicaTimeout}
}

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
	a, err := open(ctx, e, *path, needs{})
	if err != nil {
		return err
	}
	defer a.close()

	desk := &transfer.Desk{DB: a.db, AgencyID: *agencyID, Grace: a.transferGrace(), Replicas: a.replicaGuard(), Log: a.log}
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

	wallet, acct := q.Wallet, transfer.SnapshotAccount(q.Agency, account)
	snap := &store.TransferBefore{At: q.WalletAt, ClientBalance: wallet.Balance, ClientIncome: wallet.Income, AgencyAccount: acct}
	req := transfer.Request{
		ClientID: *clientID, ClientEmail: wallet.Email, Amount: amount, Account: account,
		Origin: store.OriginManual, RequestedBy: requestedBy(e), Snapshot: snap,
	}
	// The figures shown are the ones the journal will hold: MGID's, read
	// now (the snapshot may be minutes old and miss a transfer since), or
	// the snapshot's when MGID cannot be read, said as such.
	live, err := desk.Preview(ctx, req)
	switch {
	case errors.Is(err, transfer.ErrClientNotInAgency):
		return usagef("MGID does not know client %d as agency %d's (Invalid client id); nothing was sent", *clientID, *agencyID)
	case err != nil:
		return fmt.Errorf("nothing was sent: %w", err)
	}
	fmt.Fprintf(e.stdout, "Transfer %s from agency %d's %s account to client %d (%s).\n", amount, *agencyID, account, *clientID, wallet.Email)
	source := "live from MGID"
	if live.Source == store.BeforeFromSnapshot {
		source = "MGID could not be read; latest snapshot"
	}
	fmt.Fprintf(e.stdout, "  %s (%s): client balance %s, income %s; agency %s account %s\n",
		source, live.At.UTC().Format(time.RFC3339), live.ClientBalance, live.ClientIncome, account, live.AgencyAccount)
	fmt.Fprintf(e.stdout, "  expected after: client balance %s; agency %s account %s\n",
		live.ClientBalance.Add(amount), account, live.AgencyAccount.Sub(amount))
	if !*yes {
		fmt.Fprint(e.stdout, `Send it? Type "yes" to confirm: `)
		answer, _ := bufio.NewReader(e.stdin).ReadString('\n')
		if a := strings.ToLower(strings.TrimSpace(answer)); a != "yes" && a != "y" {
			fmt.Fprintln(e.stdout, "\nNot sent; nothing was journaled.")
			return errSilentFailure
		}
		req.Confirmed = &live
	}

	t, err := desk.Send(ctx, req)
	switch {
	case errors.Is(err, transfer.ErrBusy):
		return fmt.Errorf("another transfer or top-up round of agency %d is in progress; nothing was sent, try again shortly", *agencyID)
	case errors.Is(err, transfer.ErrClientNotInAgency):
		return usagef("MGID does not know client %d as agency %d's (Invalid client id); nothing was sent", *clientID, *agencyID)
	case errors.Is(err, transfer.ErrFiguresChanged):
		return fmt.Errorf("nothing was sent: %w; run the command again to confirm the new figures", err)
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
		if errors.Is(err, transfer.ErrNotReplicated) {
			return fmt.Errorf("transfer #%d was not sent (%v); recording that failed, so `syncer mgid transfers reconcile` will settle it", t.ID, err)
		}
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

func amountOrDash(a *money.Amount) string {
	if a == nil {
		return "-"
	}
	return a.String()
}
