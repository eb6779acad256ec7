package transfer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"syncer/internal/config"
	"syncer/internal/providers/mgid"
	"syncer/internal/store"
)

// TopUpRequester is the journal's requested_by for the top-up's transfers.
const TopUpRequester = config.JobMGIDTopUp

// Tally is what a top-up round reports to as it goes: the job runner's run
// (*jobs.Run), whose counters land in the runs table.
type Tally interface {
	Count(key string, n int64)
	AddRows(n int64)
	MarkObserved()
}

// TopUpRound is one round of the auto top-up for one agency.
type TopUpRound struct {
	Policy   config.TopUp
	Location *time.Location // MGID_TIMEZONE: the days the daily caps count
	// MaxSnapshotAge: a round whose latest snapshot is older is skipped
	// (planning from stale balances could top up a client twice). 0: no limit.
	MaxSnapshotAge time.Duration
	RunID          int64 // the job run, journaled with each transfer
	Tally          Tally
}

// TopUp runs one round of the auto top-up: take the agency's transfer lock
// (another process holding it skips the round, counted agency_busy),
// reconcile open transfers, check that the latest balances snapshot is
// fresh, plan (PlanTopUps) from it and today's journal, then journal the plan
// as planned rows (dry run) or send it one transfer at a time, each through
// the journal (see Sender.Execute).
//
// A live round does not commit all or nothing: each transfer's journal row
// is committed before its request leaves and stays whatever happens to the
// rest of the round. A dry run journals its plan in one transaction.
func (d *Desk) TopUp(ctx context.Context, r TopUpRound) error {
	id, log, run := d.AgencyID, d.log(), r.Tally
	lock, ok, err := d.DB.TryLockTransfers(ctx, id)
	if err != nil {
		return err
	}
	if !ok {
		log.Warn("skipping the agency this round: another process is sending or reconciling its transfers")
		run.Count("agency_busy", 1)
		return nil
	}
	defer lock.Release()

	rep, err := d.reconciler().Reconcile(ctx)
	for _, o := range rep.Settled {
		run.Count("reconciled_"+string(o.Status), 1)
	}
	run.Count("still_unknown", int64(len(rep.Undecided)))
	if err != nil {
		// Planning on top of outcomes we could not read could pay twice.
		return fmt.Errorf("agency %d: reconcile before planning: %w", id, err)
	}

	now := journalTime(d.Now)
	snap, err := d.DB.LatestAgencyBalance(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		log.Warn("skipping the round: the agency has no balances snapshot yet (run mgid-balances)")
		run.Count("skipped_no_snapshot", 1)
		return nil
	}
	if err != nil {
		return err
	}
	if age := now.Sub(snap.CapturedAt); r.MaxSnapshotAge > 0 && age > r.MaxSnapshotAge {
		log.Warn("skipping the round: the latest balances snapshot is too old to plan from",
			"snapshot_at", snap.CapturedAt, "age", age.Round(time.Second), "limit", r.MaxSnapshotAge)
		run.Count("skipped_stale_snapshot", 1)
		return nil
	}
	// Planning from a fresh snapshot is the round's reading of the source.
	run.MarkObserved()

	candidates, err := d.DB.LatestClientsBelow(ctx, id, TopUpThreshold(r.Policy))
	if err != nil {
		return err
	}
	from, to := dayBounds(now, r.Location)
	sums, err := d.DB.TransferDaySums(ctx, id, from, to, r.Policy.DryRun)
	if err != nil {
		return err
	}
	open, err := d.DB.OpenTransfers(ctx, id)
	if err != nil {
		return err
	}
	in := TopUpPlanInput{Policy: r.Policy, ClientToday: sums.PerClient, AgencyToday: sums.Total, Open: map[int64]bool{}}
	for _, t := range open {
		in.Open[t.ClientID] = true
	}
	wallets := make(map[int64]store.ClientBalance, len(candidates))
	for _, c := range candidates {
		in.Clients = append(in.Clients, TopUpCandidate{ClientID: c.ClientID, Email: c.Email, Balance: c.Balance})
		wallets[c.ClientID] = c
	}
	plan := PlanTopUps(in)
	for _, s := range plan.Skipped {
		run.Count("skipped_"+s.Reason, 1)
	}
	log.Info("top-up plan", "dry_run", r.Policy.DryRun, "transfers", len(plan.Transfers), "total", plan.Total.String(),
		"skipped", len(plan.Skipped), "today_before", sums.Total.String(), "snapshot_at", snap.CapturedAt)

	account := mgid.AccountType(r.Policy.AccountType)
	before := func(p PlannedTopUp) *store.TransferBefore {
		w := wallets[p.ClientID]
		return &store.TransferBefore{Source: store.BeforeFromSnapshot, At: snap.CapturedAt,
			ClientBalance: w.Balance, ClientIncome: w.Income, AgencyAccount: SnapshotAccount(snap, account)}
	}
	if r.Policy.DryRun {
		return d.journalPlan(ctx, r, plan, account, before, now)
	}
	sender := d.sender()
	for i, p := range plan.Transfers {
		if ctx.Err() != nil {
			return ctx.Err() // no new transfer after a cancellation
		}
		stop, err := d.sendPlanned(ctx, r, log, sender, p, account, before(p))
		if stop {
			left := len(plan.Transfers) - i - 1
			run.Count("unsent_after_stop", int64(left))
			return fmt.Errorf("agency %d: round stopped, %d planned transfers not sent: %w", id, left, err)
		}
	}
	return nil
}

// sendPlanned sends one planned transfer; stop says the round must end (err why).
func (d *Desk) sendPlanned(ctx context.Context, r TopUpRound, log *slog.Logger, s *Sender, p PlannedTopUp,
	account mgid.AccountType, snap *store.TransferBefore) (stop bool, err error) {
	run := r.Tally
	req := Request{ClientID: p.ClientID, ClientEmail: p.Email, Amount: p.Amount, Account: account,
		Origin: store.OriginTopUp, RequestedBy: TopUpRequester, RunID: r.RunID, Snapshot: snap}
	before, err := s.ReadBefore(ctx, req)
	if errors.Is(err, ErrClientNotInAgency) {
		run.Count("skipped_not_in_agency", 1)
		return false, nil
	}
	if err != nil {
		return true, err
	}
	if before.Source == store.BeforeFromProvider {
		// The snapshot may be minutes old: a client who has paid since
		// gets less, or nothing. The amount only ever shrinks here, so
		// the plan's caps still hold.
		if before.ClientBalance.Cmp(p.Rule.Min) >= 0 {
			run.Count("skipped_no_longer_below_min", 1)
			return false, nil
		}
		req.Amount = minAmount(req.Amount, floorCents(p.Rule.Target.Sub(before.ClientBalance)))
		if req.Amount.Sign() <= 0 {
			run.Count("skipped_no_longer_below_min", 1)
			return false, nil
		}
	}
	t, err := s.Execute(ctx, req, before)
	if t.ID == 0 {
		if errors.Is(err, store.ErrTransferOpen) {
			run.Count("skipped_open_transfer", 1)
			return false, nil
		}
		return true, err // not journaled, so not sent
	}
	run.AddRows(1)
	run.Count("sent", 1)
	run.Count(string(t.Status), 1)
	switch {
	case t.Status == store.TransferSucceeded:
		return false, nil
	case IsInsufficientFunds(t):
		run.Count("stopped_insufficient_funds", 1)
		log.Error("insufficient agency funds: stopping the round", "transfer_id", t.ID, "client_id", t.ClientID,
			"amount", t.Amount.String(), "account_type", t.AccountType, "provider_message", t.ProviderMessage)
		return true, fmt.Errorf("insufficient funds in the %s account: %w", t.AccountType, err)
	case t.Status == store.TransferRejected:
		return false, nil // refused for this client only (e.g. Invalid client id); recorded
	}
	// unknown, not_applied (MGID unreachable), or an outcome not recorded:
	// sending more now could only add to what reconcile must sort out.
	return true, err
}

// journalPlan records a dry run's plan as planned rows, all or none.
func (d *Desk) journalPlan(ctx context.Context, r TopUpRound, plan TopUpPlan, account mgid.AccountType,
	before func(PlannedTopUp) *store.TransferBefore, now time.Time) error {
	err := d.DB.WithTx(ctx, func(tx *store.Tx) error {
		for _, p := range plan.Transfers {
			if _, err := tx.InsertTransfer(ctx, store.Transfer{
				AgencyID: d.AgencyID, ClientID: p.ClientID, ClientEmail: p.Email, Amount: p.Amount,
				AccountType: store.AccountType(account), Origin: store.OriginTopUp, RequestedBy: TopUpRequester,
				DryRun: true, Status: store.TransferPlanned, Before: before(p), CreatedAt: now, RunID: r.RunID,
			}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	r.Tally.AddRows(int64(len(plan.Transfers)))
	r.Tally.Count("planned", int64(len(plan.Transfers)))
	d.log().Info("dry run: plan journaled, nothing sent", "transfers", len(plan.Transfers), "total", plan.Total.String())
	return nil
}

// dayBounds is the calendar day of t in loc, as [start, end).
func dayBounds(t time.Time, loc *time.Location) (time.Time, time.Time) {
	if loc == nil {
		loc = time.UTC
	}
	lt := t.In(loc)
	start := time.Date(lt.Year(), lt.Month(), lt.Day(), 0, 0, 0, 0, loc)
	return start, start.AddDate(0, 0, 1)
}
