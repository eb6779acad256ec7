package transfer_test

import (
	"strings"
	"testing"
	"time"

	"syncer/internal/money"
	"syncer/internal/store"
	"syncer/internal/transfer"
)

func TestDecideTransfer(t *testing.T) {
	t.Parallel()
	tb := t0                       // before figures taken
	sent := tb.Add(time.Second)    // X sent
	r0 := tb.Add(10 * time.Minute) // reading now
	r1 := r0.Add(time.Second)
	at := func(d time.Duration) *time.Time { x := tb.Add(d); return &x }
	amt := money.MustParse
	x := store.Transfer{ID: 10, ClientID: 1, Amount: amt("150"), AccountType: "personal", Status: store.TransferUnknown,
		SentAt: &sent, Before: &store.TransferBefore{Source: store.BeforeFromProvider, At: tb,
			ClientIncome: amt("1000"), AgencyAccount: amt("5000")}}
	other := func(id, client int64, amount string, account store.AccountType, status store.TransferStatus, sentAt, settledAt *time.Time) store.Transfer {
		return store.Transfer{ID: id, ClientID: client, Amount: amt(amount), AccountType: account, Status: status,
			SentAt: sentAt, SettledAt: settledAt}
	}
	cases := []struct {
		name         string
		x            store.Transfer
		others       []store.Transfer
		income, acct string
		now          time.Time
		want         store.TransferStatus
		noteWant     string
	}{
		{"both moved by the amount", x, nil, "1150", "4850", r1, store.TransferSucceeded, "applied"},
		{"nothing moved, long ago", x, nil, "1000", "5000", r1, store.TransferNotApplied, "not applied"},
		{"nothing moved, too recent", x, nil, "1000", "5000", sent.Add(time.Minute), store.TransferUnknown, "less than"},
		{"applied is decided at once", x, nil, "1150", "4850", sent.Add(time.Second), store.TransferSucceeded, "applied"},
		{"income moved by something else", x, nil, "1030", "5000", r1, store.TransferUnknown, "fit neither"},
		{"client applied, agency unchanged", x, nil, "1150", "5000", r1, store.TransferUnknown, "fit neither"},
		{"agency applied, client unchanged", x, nil, "1000", "4850", r1, store.TransferUnknown, "fit neither"},
		{"agency deposit hides it", x, nil, "1150", "5850", r1, store.TransferUnknown, "fit neither"},
		{"known later transfer to the client, X applied", x,
			[]store.Transfer{other(11, 1, "50", "personal", store.TransferSucceeded, at(time.Minute), at(2*time.Minute))},
			"1200", "4800", r1, store.TransferSucceeded, "of which 50.00 by other transfers"},
		{"known later transfer to the client, X not applied", x,
			[]store.Transfer{other(11, 1, "50", "personal", store.TransferSucceeded, at(time.Minute), at(2*time.Minute))},
			"1050", "4950", r1, store.TransferNotApplied, "not applied"},
		{"known later transfer from the other account", x,
			[]store.Transfer{other(11, 1, "50", "bonus", store.TransferSucceeded, at(time.Minute), at(2*time.Minute))},
			"1200", "4850", r1, store.TransferSucceeded, "applied"},
		{"known transfer to another client", x,
			[]store.Transfer{other(11, 2, "70", "personal", store.TransferSucceeded, at(time.Minute), at(2*time.Minute))},
			"1150", "4780", r1, store.TransferSucceeded, "applied"},
		{"settled before the before figures: ignored", x,
			[]store.Transfer{other(11, 1, "50", "personal", store.TransferSucceeded, at(-2*time.Minute), at(-time.Minute))},
			"1150", "4850", r1, store.TransferSucceeded, "applied"},
		{"sent after the reading: ignored", x,
			[]store.Transfer{other(11, 2, "50", "personal", store.TransferSucceeded, at(time.Hour), at(time.Hour))},
			"1150", "4850", r1, store.TransferSucceeded, "applied"},
		{"refused, not applied, planned: ignored", x, []store.Transfer{
			other(11, 1, "50", "personal", store.TransferRejected, at(time.Minute), at(time.Minute)),
			other(12, 1, "60", "personal", store.TransferNotApplied, at(time.Minute), at(time.Minute)),
			other(13, 1, "70", "personal", store.TransferPlanned, nil, nil),
		}, "1150", "4850", r1, store.TransferSucceeded, "applied"},
		{"uncertain transfer to another client, X not applied", x,
			[]store.Transfer{other(11, 2, "150", "personal", store.TransferUnknown, at(time.Minute), nil)},
			"1000", "4850", r1, store.TransferNotApplied, "1 more uncertain"},
		{"uncertain transfer to another client, X applied", x,
			[]store.Transfer{other(11, 2, "150", "personal", store.TransferUnknown, at(time.Minute), nil)},
			"1150", "4850", r1, store.TransferSucceeded, "applied"},
		{"uncertain transfer of the same amount to the same client", x,
			[]store.Transfer{other(11, 1, "150", "personal", store.TransferUnknown, at(time.Minute), nil)},
			"1150", "4850", r1, store.TransferUnknown, "ambiguous"},
		{"succeeded across the before reading is uncertain", x,
			[]store.Transfer{other(11, 1, "150", "personal", store.TransferSucceeded, at(-time.Second), at(time.Second))},
			"1150", "4850", r1, store.TransferUnknown, "ambiguous"},
		{"no before figures", store.Transfer{ID: 10, Amount: amt("1"), SentAt: &sent}, nil, "0", "0", r1,
			store.TransferUnknown, "no before figures"},
		{"too many uncertain", x, manyUncertain(13, at(time.Minute)), "1150", "4850", r1, store.TransferUnknown, "too many"},
		{"itself among the others", x, []store.Transfer{x}, "1150", "4850", r1, store.TransferSucceeded, "applied"},
	}
	for _, c := range cases {
		v := transfer.Decide(transfer.Evidence{
			Transfer: c.x, Others: c.others, ClientIncome: amt(c.income), AgencyAccount: amt(c.acct),
			ReadStart: r0, ReadEnd: r1, Now: c.now, Grace: 2 * time.Minute,
		})
		if v.Status != c.want || !strings.Contains(v.Note, c.noteWant) {
			t.Errorf("%s: %s (%s), want %s with %q", c.name, v.Status, v.Note, c.want, c.noteWant)
		}
	}
}

func manyUncertain(n int, sent *time.Time) []store.Transfer {
	out := make([]store.Transfer, n)
	for i := range out {
		out[i] = store.Transfer{ID: int64(100 + i), ClientID: int64(100 + i), Amount: money.MustParse("1"),
			AccountType: "personal", Status: store.TransferUnknown, SentAt: sent}
	}
	return out
}
