package transfer

import (
	"cmp"
	"slices"

	"syncer/internal/config"
	"syncer/internal/money"
)

// TopUpCandidate is a client's wallet in the latest balances snapshot.
type TopUpCandidate struct {
	ClientID int64
	Email    string
	Balance  money.Amount
}

// TopUpPlanInput is everything the planner decides from; it reads nothing else.
type TopUpPlanInput struct {
	Clients []TopUpCandidate // snapshot rows, any order (clients at or above every minimum may be left out)
	Policy  config.TopUp
	// The agency's transfers already journaled today that count against the
	// caps (see store.TransferDaySums), per client and in all.
	ClientToday map[int64]money.Amount
	AgencyToday money.Amount
	// Open: clients with an in_flight or unknown transfer. They get nothing
	// until it is reconciled.
	Open map[int64]bool
}

// PlannedTopUp is one transfer the plan makes.
type PlannedTopUp struct {
	ClientID int64
	Email    string
	Balance  money.Amount
	Rule     config.TopUpRule
	Amount   money.Amount
}

// Reasons a client below its minimum gets nothing.
const (
	SkipOpenTransfer = "open_transfer" // an unknown or in_flight transfer awaits reconcile
	SkipClientCap    = "client_day_cap"
	SkipAgencyCap    = "agency_day_cap"
	SkipTransferCap  = "transfer_cap" // max_per_transfer is below a cent
	SkipNoNeed       = "under_a_cent" // less than a cent short of the target
)

// TopUpSkip is a client below its minimum that the plan leaves out.
type TopUpSkip struct {
	ClientID int64
	Reason   string
}

// TopUpPlan is the planner's answer.
type TopUpPlan struct {
	Transfers []PlannedTopUp
	Skipped   []TopUpSkip
	Total     money.Amount
}

// PlanTopUps plans one round of top-ups. A client with a rule (its own, or
// Policy.Default) whose balance is below the rule's Min gets one transfer of
//
//	min(Target - balance, MaxPerTransfer, MaxPerClientDay - client's today,
//	    MaxPerAgencyDay - agency's today - planned so far)
//
// rounded down to the cent (MGID takes two decimal places). A cap of zero or
// less leaves no room, so a missing cap plans nothing rather than everything.
// Clients are served lowest balance first (then by id), so when the agency's
// daily cap runs out the emptiest wallets were filled. The result never
// exceeds a cap, whatever the balances or the journal say.
func PlanTopUps(in TopUpPlanInput) TopUpPlan {
	p := in.Policy
	clients := slices.Clone(in.Clients)
	slices.SortFunc(clients, func(a, b TopUpCandidate) int {
		return cmp.Or(a.Balance.Cmp(b.Balance), cmp.Compare(a.ClientID, b.ClientID))
	})
	var plan TopUpPlan
	seen := make(map[int64]bool, len(clients))
	agencyRoom := p.MaxPerAgencyDay.Sub(in.AgencyToday)
	for _, c := range clients {
		if seen[c.ClientID] {
			continue
		}
		seen[c.ClientID] = true
		rule, ok := p.Clients[c.ClientID]
		if !ok {
			if p.Default == nil {
				continue
			}
			rule = *p.Default
		}
		if c.Balance.Cmp(rule.Min) >= 0 {
			continue
		}
		if in.Open[c.ClientID] {
			plan.Skipped = append(plan.Skipped, TopUpSkip{c.ClientID, SkipOpenTransfer})
			continue
		}
		clientRoom := p.MaxPerClientDay.Sub(in.ClientToday[c.ClientID])
		amount := minAmount(rule.Target.Sub(c.Balance), p.MaxPerTransfer, clientRoom, agencyRoom)
		amount = floorCents(amount)
		if amount.Sign() <= 0 {
			reason := SkipTransferCap
			switch {
			case floorCents(agencyRoom).Sign() <= 0:
				reason = SkipAgencyCap
			case floorCents(clientRoom).Sign() <= 0:
				reason = SkipClientCap
			case floorCents(rule.Target.Sub(c.Balance)).Sign() <= 0:
				reason = SkipNoNeed
			}
			plan.Skipped = append(plan.Skipped, TopUpSkip{c.ClientID, reason})
			continue
		}
		agencyRoom = agencyRoom.Sub(amount)
		plan.Total = plan.Total.Add(amount)
		plan.Transfers = append(plan.Transfers, PlannedTopUp{
			ClientID: c.ClientID, Email: c.Email, Balance: c.Balance, Rule: rule, Amount: amount,
		})
	}
	return plan
}

// TopUpThreshold is the highest Min of any rule: no client at or above it
// needs a top-up, so only clients below it need to be read.
func TopUpThreshold(p config.TopUp) money.Amount {
	var t money.Amount
	if p.Default != nil {
		t = p.Default.Min
	}
	for _, r := range p.Clients {
		if r.Min.Cmp(t) > 0 {
			t = r.Min
		}
	}
	return t
}

func minAmount(first money.Amount, rest ...money.Amount) money.Amount {
	m := first
	for _, a := range rest {
		if a.Cmp(m) < 0 {
			m = a
		}
	}
	return m
}

// floorCents rounds down to a whole cent; negative amounts stay negative.
func floorCents(a money.Amount) money.Amount {
	u := a.Units()
	r := u % 100
	if r < 0 {
		r += 100
	}
	return money.FromUnits(u - r)
}
