package transfer

import (
	"fmt"
	"time"

	"syncer/internal/money"
	"syncer/internal/store"
)

// The reconcile rule. MGID has no way to look a transfer up, so whether an
// unknown (or crash-orphaned in_flight) transfer X of amount m was applied is
// read off two independent pairs of figures, each taken before X (recorded
// in X's journal row, time tb = X.before_at) and now (a read spanning
// [r0, r1]):
//
//   - the client's income, MGID's running total of what the client was
//     given, which only transfers raise (balance is not used: spend moves it);
//   - the agency's account X drew from (personal or bonus), which transfers
//     lower.
//
// Other transfers of the agency (Y) may have moved the same figures between
// the two readings. Each Y is placed by its journal:
//   - planned, rejected, not_applied: moved nothing; ignored;
//   - its effect lies in [Y.sent_at, Y.settled_at] if succeeded, or in
//     [Y.sent_at, ∞) while in_flight or unknown;
//   - settled by tb: already in the before figures; ignored;
//   - sent at or after r1: not yet in the figures now; ignored;
//   - sent at or after tb and settled by r0: certainly between the two
//     readings: its amount is subtracted ("known");
//   - anything else: may or may not be between them ("uncertain").
//
// Y counts on the client side if it went to X's client (from either account)
// and on the agency side if it drew from X's account (to any client). With
// inc = income now - income before - known (client side) and dec = account
// before - account now - known (agency side), and U the uncertain amounts of
// that side, a side is
//   - consistent with "applied" when inc - m (dec - m) is the sum of some
//     subset of U, and
//   - consistent with "not applied" when inc (dec) is the sum of some subset of U.
//
// X succeeded when both sides are consistent with applied and not both with
// not applied; X was not applied when both sides are consistent with not
// applied and not both with applied, and X was sent at least Grace ago (a
// request that timed out might still be processed late; an applied one can
// be called at once). Anything else (a deposit, a payment made outside
// syncer, more than maxUncertain uncertain transfers, a client MGID no
// longer lists) stays unknown, with a note of the figures, for a person to
// settle.
//
// The agency's transfer lock (held by every sender while a request is in
// flight, and by reconcile) keeps Y rare: it only arises from a crashed
// process or a snapshot-based before figure.

// maxUncertain bounds the subset-sum search (2^n sums).
const maxUncertain = 12

// Evidence is what reconcile knows about an open transfer.
type Evidence struct {
	Transfer      store.Transfer   // the open transfer; Before must be set
	Others        []store.Transfer // the agency's other transfers not settled by Transfer.Before.At
	ClientIncome  money.Amount     // the client's income now
	AgencyAccount money.Amount     // the agency's account (Transfer.AccountType) now
	ReadStart     time.Time        // when the reading of the figures now began
	ReadEnd       time.Time        // and ended
	Now           time.Time
	Grace         time.Duration
}

// Verdict is reconcile's decision: succeeded, not_applied or unknown.
type Verdict struct {
	Status store.TransferStatus
	Note   string
}

type effect int

const (
	effectNone effect = iota
	effectKnown
	effectUncertain
)

// side is one pair of figures with the other transfers that moved it.
type side struct {
	moved     money.Amount // how far the figure moved in X's direction, known others subtracted
	known     money.Amount
	uncertain []money.Amount
}

// Decide applies the reconcile rule above. It is pure: the caller
// reads the provider and the journal.
func Decide(ev Evidence) Verdict {
	x := ev.Transfer
	if x.Before == nil {
		return Verdict{store.TransferUnknown, "no before figures were recorded; settle it by hand"}
	}
	b := x.Before
	client := side{moved: ev.ClientIncome.Sub(b.ClientIncome)}
	agency := side{moved: b.AgencyAccount.Sub(ev.AgencyAccount)}
	for _, y := range ev.Others {
		if y.ID == x.ID {
			continue
		}
		e := placeEffect(y, b.At, ev.ReadStart, ev.ReadEnd)
		if y.ClientID == x.ClientID {
			client.add(e, y.Amount)
		}
		if y.AccountType == x.AccountType {
			agency.add(e, y.Amount)
		}
	}
	if len(client.uncertain) > maxUncertain || len(agency.uncertain) > maxUncertain {
		return Verdict{store.TransferUnknown, fmt.Sprintf(
			"too many other transfers of uncertain timing (%d to the client, %d from the account); reconcile again when they are settled",
			len(client.uncertain), len(agency.uncertain))}
	}
	m := x.Amount
	applied := client.allows(m) && agency.allows(m)
	none := client.allows(money.Amount{}) && agency.allows(money.Amount{})
	figures := fmt.Sprintf("client income moved %s%s, agency %s account fell %s%s since %s (%s)",
		client.moved.Add(client.known), client.others(), x.AccountType, agency.moved.Add(agency.known), agency.others(),
		b.At.UTC().Format(time.RFC3339), b.Source)
	switch {
	case applied && !none:
		return Verdict{store.TransferSucceeded, "applied: " + figures}
	case none && !applied:
		if x.SentAt != nil && ev.Now.Sub(*x.SentAt) < ev.Grace {
			return Verdict{store.TransferUnknown, fmt.Sprintf(
				"not applied so far, but sent less than %s ago and MGID may still apply it: %s", ev.Grace, figures)}
		}
		return Verdict{store.TransferNotApplied, "not applied: " + figures}
	case applied && none:
		return Verdict{store.TransferUnknown, "ambiguous, other transfers could explain it either way: " + figures}
	}
	return Verdict{store.TransferUnknown, fmt.Sprintf(
		"figures fit neither outcome (expected %s or 0.00 on both): %s", m, figures)}
}

// placeEffect says whether y's effect certainly, possibly or certainly not
// falls between a reading at tb and one spanning [r0, r1].
func placeEffect(y store.Transfer, tb, r0, r1 time.Time) effect {
	switch y.Status {
	case store.TransferSucceeded, store.TransferInFlight, store.TransferUnknown:
	default:
		return effectNone // never sent, or refused, or proved not applied
	}
	if y.SentAt == nil {
		return effectNone
	}
	lo := *y.SentAt
	var hi *time.Time // nil: no upper bound yet
	if y.Status == store.TransferSucceeded {
		hi = y.SettledAt
	}
	switch {
	case hi != nil && !hi.After(tb):
		return effectNone // in the before figures already
	case !lo.Before(r1):
		return effectNone // not in the figures now yet
	case !lo.Before(tb) && hi != nil && !hi.After(r0):
		return effectKnown
	}
	return effectUncertain
}

func (s *side) add(e effect, amount money.Amount) {
	switch e {
	case effectKnown:
		s.known = s.known.Add(amount)
		s.moved = s.moved.Sub(amount)
	case effectUncertain:
		s.uncertain = append(s.uncertain, amount)
	}
}

// allows reports whether moved - m is a sum of some subset of the uncertain amounts.
func (s *side) allows(m money.Amount) bool {
	want := s.moved.Sub(m).Units()
	sums := map[int64]bool{0: true}
	for _, u := range s.uncertain {
		next := make(map[int64]bool, 2*len(sums))
		for v := range sums {
			next[v] = true
			next[v+u.Units()] = true
		}
		sums = next
	}
	return sums[want]
}

func (s *side) others() string {
	if s.known.Sign() == 0 && len(s.uncertain) == 0 {
		return ""
	}
	return fmt.Sprintf(" (of which %s by other transfers, %d more uncertain)", s.known, len(s.uncertain))
}
