package main

// syncer mgid transfers list|reconcile|resolve: the journal's commands, and
// the reconcile the daemon runs when it starts.

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"syncer/internal/providers/mgid"
	"syncer/internal/store"
	"syncer/internal/transfer"
)

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
	a, err := open(ctx, e, *path, needs{})
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
	a, err := open(ctx, e, *path, needs{})
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
	// Count what is still open from the journal, not from the reports: an
	// agency MGID did not answer for decided nothing, yet its transfers
	// are just as unknown.
	if open, err := a.db.CountOpenTransfers(ctx); err == nil {
		undecided = int(open)
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
	case store.TransferStatus(*as) != store.TransferSucceeded && store.TransferStatus(*as) != store.TransferNotApplied:
		return usagef("--as %q: must be succeeded or not_applied\n%s", *as, use)
	case strings.TrimSpace(*note) == "":
		return usagef("--note: say what you checked; it is kept in the journal\n%s", use)
	}
	a, err := open(ctx, e, *path, needs{})
	if err != nil {
		return err
	}
	defer a.close()
	text := fmt.Sprintf("resolved by %s: %s", requestedBy(e), strings.TrimSpace(*note))
	t, err := a.db.ResolveTransfer(ctx, *id, store.TransferStatus(*as), text, time.Now())
	switch {
	case errors.Is(err, store.ErrNotFound):
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
