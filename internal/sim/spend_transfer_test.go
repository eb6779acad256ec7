package sim_test

import (
	"context"
	"errors"
	"net/url"
	"strconv"
	"testing"
	"time"

	"syncer/internal/money"
	"syncer/internal/sim"
)

type spendReport struct {
	DateStart, DateEnd string
	Reports            []struct {
		ID    flexID
		Spent money.Amount
	} `json:"clients-spent-reports"`
}

func (e *env) spend(token, from, to, ids string) map[int64]money.Amount {
	e.t.Helper()
	q := url.Values{"dateStart": {from}, "dateEnd": {to}}
	if ids != "" {
		q.Set("clientsIds", ids)
	}
	a := e.get("/v1/agencies/1001/clients-spent-reports?"+q.Encode(), token)
	if a.status != 200 {
		e.t.Fatalf("spend: HTTP %d %s", a.status, a.body)
	}
	var r spendReport
	mustJSON(e.t, a.body, &r)
	if r.DateStart != from || r.DateEnd != to {
		e.t.Fatalf("spend echoes %s..%s, want %s..%s", r.DateStart, r.DateEnd, from, to)
	}
	m := make(map[int64]money.Amount, len(r.Reports))
	for _, c := range r.Reports {
		m[int64(c.ID)] = c.Spent
	}
	return m
}

func TestMGIDSpend(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sim.Options{Clients: 200})
	tok := e.demoToken()

	all := e.spend(tok, "2025-02-01", "2025-03-10", "")
	if len(all) == 0 || len(all) == 200 {
		t.Fatalf("%d of 200 clients reported; want some left out", len(all))
	}
	// A range is the sum of its days.
	sum := map[int64]money.Amount{}
	for d := time.Date(2025, 2, 1, 0, 0, 0, 0, time.UTC); !d.After(start); d = d.AddDate(0, 0, 1) {
		day := d.Format(time.DateOnly)
		for id, v := range e.spend(tok, day, day, "") {
			sum[id] = sum[id].Add(v)
		}
	}
	for id, v := range all {
		if sum[id] != v {
			t.Fatalf("client %d: range %s, sum of days %s", id, v, sum[id])
		}
	}
	// clientsIds: in the order asked, once each, even clients that never spend.
	missing := int64(0)
	for id := int64(5004); id <= 5200; id++ {
		if _, ok := all[id]; !ok {
			missing = id
			break
		}
	}
	got := e.spend(tok, "2025-03-01", "2025-03-02", "5001, 5003,5001,"+strconv.FormatInt(missing, 10))
	if len(got) != 3 || got[missing].Sign() != 0 {
		t.Fatalf("clientsIds answer %v", got)
	}
	// The future spends nothing.
	for id, v := range e.spend(tok, "2025-03-11", "2025-03-20", "") {
		if v.Sign() != 0 {
			t.Fatalf("client %d spent %s in the future", id, v)
		}
	}

	for _, tc := range []struct{ name, query, want string }{
		{"short month", "dateStart=2025-3-01&dateEnd=2025-03-02", `{"errors":["dateStart should be in the format of YYYY-MM-DD"]}`},
		{"no start", "dateEnd=2025-03-02", `{"errors":["dateStart should be in the format of YYYY-MM-DD"]}`},
		{"US end", "dateStart=2025-03-01&dateEnd=03/02/2025", `{"errors":["dateEnd should be in the format of YYYY-MM-DD"]}`},
		{"reversed", "dateStart=2025-03-02&dateEnd=2025-03-01", `{"errors":["dateEnd should not be earlier than dateStart"]}`},
		{"pipe-separated ids", "dateStart=2025-03-01&dateEnd=2025-03-02&clientsIds=5001|5002", `{"errors":["clientsIds should be separated by commas"]}`},
		{"foreign client", "dateStart=2025-03-01&dateEnd=2025-03-02&clientsIds=5001,4000", `{"errors":["Invalid client id"]}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			wantBody(t, e.get("/v1/agencies/1001/clients-spent-reports?"+tc.query, tok), 400, tc.want)
		})
	}
}

func TestSpendRestatement(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sim.Options{Clients: 200, TokenTTL: 30 * 24 * time.Hour})
	tok := e.demoToken()
	const old, recent = "2025-02-20", "2025-03-09"
	oldBefore, recentBefore := e.spend(tok, old, old, ""), e.spend(tok, recent, recent, "")
	e.clock.Advance(12 * time.Hour)
	if oldAfter := e.spend(tok, old, old, ""); !equalSpend(oldBefore, oldAfter) {
		t.Fatal("a final day changed")
	}
	if equalSpend(recentBefore, e.spend(tok, recent, recent, "")) {
		t.Fatal("a day inside the restate window did not change in 12h")
	}
	// Once the window has passed the day is final.
	e.clock.Advance(sim.RestateWindow)
	final := e.spend(tok, recent, recent, "")
	e.clock.Advance(24 * time.Hour)
	if !equalSpend(final, e.spend(tok, recent, recent, "")) {
		t.Fatal("a day past the restate window changed")
	}
	if v, ok := e.sim.SpendAt(5001, time.Date(2025, 3, 9, 0, 0, 0, 0, time.UTC), e.clock.Now()); !ok || v != final[5001] {
		t.Fatalf("SpendAt %s, report %s", v, final[5001])
	}
}

func equalSpend(a, b map[int64]money.Amount) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func transferPath(client, accountType, amount string) string {
	return "/v1/agencies/1001/clients/" + client + "/money-transfers?" +
		url.Values{"account_type": {accountType}, "transfer_amount": {amount}}.Encode()
}

func TestMGIDTransfer(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sim.Options{Clients: 10})
	tok := e.demoToken()
	before, wBefore := e.agency(tok), e.clients(tok)[1].Wallet

	a := e.do("POST", transferPath("5002", "personal", "150.00"), "", "Authorization", "Bearer "+tok)
	wantBody(t, a, 200, `{"idAuth":"1001","clientId":"5002","status":"success","personal_account":"`+
		before.Balance.Personal.Sub(money.MustParse("150")).String()+`","wallet":{"balance":"`+
		wBefore.Balance.Add(money.MustParse("150")).String()+`"}}`)

	after, wAfter := e.agency(tok), e.clients(tok)[1].Wallet
	if after.Balance.Clients != before.Balance.Clients.Add(money.MustParse("150")) ||
		wAfter.Income != wBefore.Income.Add(money.MustParse("150")) || after.Balance.Bonus != before.Balance.Bonus {
		t.Fatalf("before %+v %+v, after %+v %+v", before, wBefore, after, wAfter)
	}
	tr := e.sim.Transfers()
	if len(tr) != 1 || tr[0].AgencyID != 1001 || tr[0].ClientID != 5002 || tr[0].AccountType != "personal" ||
		tr[0].Amount != money.MustParse("150") || !tr[0].At.Equal(start) {
		t.Fatalf("transfers %+v", tr)
	}

	a = e.do("POST", transferPath("5003", "bonus", "0.5"), "", "Authorization", "Bearer "+tok)
	var bonus struct {
		Bonus money.Amount `json:"bonus_account"`
	}
	mustJSON(t, a.body, &bonus)
	if a.status != 200 || bonus.Bonus != after.Balance.Bonus.Sub(money.MustParse("0.5")) {
		t.Fatalf("bonus transfer: HTTP %d %s", a.status, a.body)
	}

	notSpecified := `{"errors":["Account (client, amount) is not specified"]}`
	for _, tc := range []struct{ name, client, accountType, amount, want string }{
		{"no account type", "5002", "", "10", notSpecified},
		{"unknown account type", "5002", "gold", "10", notSpecified},
		{"no amount", "5002", "personal", "", notSpecified},
		{"amount in words", "5002", "personal", "ten", notSpecified},
		{"negative", "5002", "personal", "-5", notSpecified},
		{"zero", "5002", "personal", "0", notSpecified},
		{"three places", "5002", "personal", "1.005", notSpecified},
		{"unknown client", "9999", "personal", "10", `{"errors":["Invalid client id"]}`},
		{"over the balance", "5002", "personal", "99999999999", `{"errors":"The amount of money in the account is less than what you are trying to transfer."}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := e.do("POST", transferPath(tc.client, tc.accountType, tc.amount), "", "Authorization", "Bearer "+tok)
			wantBody(t, a, 400, tc.want)
		})
	}
	if n := len(e.sim.Transfers()); n != 2 {
		t.Fatalf("%d transfers applied, want 2", n)
	}
	if n := e.sim.TransferRequests(); n != 11 {
		t.Fatalf("%d transfer requests, want 11", n)
	}
}

func TestTransferFaults(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		fault   string
		applied int
	}{
		{sim.TransferDropBeforeApply, 0},
		{sim.TransferApplyThenDrop, 1},
		{sim.TransferApplyThenTimeout, 1},
	} {
		t.Run(tc.fault, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, sim.Options{Clients: 10, Faults: sim.Faults{TransferFault: tc.fault}})
			tok := e.demoToken()
			before := e.agency(tok).Balance.Personal
			ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
			defer cancel()
			_, err := e.try(ctx, "POST", transferPath("5001", "personal", "10"), "", "Authorization", "Bearer "+tok)
			if err == nil {
				t.Fatal("transfer answered despite the fault")
			}
			if tc.fault == sim.TransferApplyThenTimeout && !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("want a timeout, got %v", err)
			}
			if got := len(e.sim.Transfers()); got != tc.applied || e.sim.TransferRequests() != 1 {
				t.Fatalf("%d applied of %d requests, want %d of 1", got, e.sim.TransferRequests(), tc.applied)
			}
			want := before.Sub(money.FromUnits(int64(tc.applied) * 10 * 10000))
			if got := e.agency(tok).Balance.Personal; got != want {
				t.Fatalf("personal %s, want %s", got, want)
			}
		})
	}
}
