package sim_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"syncer/internal/money"
	"syncer/internal/sim"
)

// flexID reads an id sent as a JSON number or string.
type flexID int64

func (f *flexID) UnmarshalJSON(b []byte) error {
	v, err := strconv.ParseInt(strings.Trim(string(b), `"`), 10, 64)
	*f = flexID(v)
	return err
}

type client struct {
	ID     flexID
	Email  string
	Wallet struct{ Balance, Credit, Income money.Amount }
}

type agencyStats struct {
	ID      int64
	Balance struct {
		Personal money.Amount `json:"personal_account"`
		Bonus    money.Amount `json:"bonus_account"`
		Clients  money.Amount `json:"clients_balance"`
	}
}

func (e *env) clients(token string) []client {
	e.t.Helper()
	a := e.get("/v1/agencies/1001/clients", token)
	var list struct{ Clients []client }
	if a.status != 200 {
		e.t.Fatalf("clients: HTTP %d %s", a.status, truncate(a.body))
	}
	mustJSON(e.t, a.body, &list)
	return list.Clients
}

func (e *env) agency(token string) agencyStats {
	e.t.Helper()
	a := e.get("/v1/agencies/1001", token)
	var st agencyStats
	if a.status != 200 {
		e.t.Fatalf("agency: HTTP %d %s", a.status, a.body)
	}
	mustJSON(e.t, a.body, &st)
	return st
}

func TestMGIDToken(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sim.Options{})
	for _, tc := range []struct {
		name, contentType, body string
		status                  int
		want                    string // exact body for errors
	}{
		{"form", "application/x-www-form-urlencoded", "login=demo-agency&password=demo-password", 200, ""},
		{"json", "application/json", `{"login":"demo-agency","password":"demo-password"}`, 200, ""},
		{"unknown login", "application/x-www-form-urlencoded", "login=nobody&password=demo-password", 401, `{"errors":["Login does not exist"]}`},
		{"no login", "application/json", `{}`, 401, `{"errors":["Login does not exist"]}`},
		{"wrong password", "application/x-www-form-urlencoded", "login=demo-agency&password=nope", 401, `{"errors":"Incorrect password."}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := e.do("POST", "/v1/auth/agencies-token", tc.body, "Content-Type", tc.contentType)
			if tc.want != "" {
				wantBody(t, a, tc.status, tc.want)
				return
			}
			var tok struct{ Token, RefreshToken, AccountID string }
			mustJSON(t, a.body, &tok)
			if a.status != 200 || tok.Token == "" || tok.RefreshToken == "" || tok.AccountID != "1001" {
				t.Fatalf("HTTP %d %s", a.status, a.body)
			}
		})
	}
}

func TestMGIDAuthErrors(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sim.Options{Agencies: []sim.Agency{{Login: "a", Password: "pa", ID: 1001}, {Login: "b", Password: "pb", ID: 1002}}})
	tokA := e.mgidLogin("a", "pa")
	paths := []string{"/v1/agencies/1001", "/v1/agencies/1001/clients", "/v1/agencies/1001/clients/5001",
		"/v1/agencies/1001/clients-spent-reports?dateStart=2025-03-01&dateEnd=2025-03-01"}
	for _, p := range paths {
		for _, auth := range []string{"", "Bearer nope", "Basic " + tokA, "Bearer"} {
			a := e.do("GET", p, "", "Authorization", auth)
			wantBody(t, a, 401, `{"errors":["invalid token"]}`)
		}
		// A live token of another agency is not good for this one.
		a := e.get(strings.Replace(p, "1001", "1002", 1), tokA)
		wantBody(t, a, 403, `{"errors":["Access denied"]}`)
	}
	a := e.do("POST", "/v1/agencies/1001/clients/5001/money-transfers?account_type=personal&transfer_amount=1", "")
	wantBody(t, a, 401, `{"errors":["invalid token"]}`)
}

func TestTokenExpiry(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sim.Options{TokenTTL: 10 * time.Minute})
	mg, gm := e.demoToken(), e.gmediaToken()
	a := e.do("POST", sim.PathFirstlightToken, "client_id=sim-firstlight&client_secret=sim-firstlight-secret&grant_type=client_credentials",
		"Content-Type", "application/x-www-form-urlencoded")
	var fl struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int    `json:"expires_in"`
	}
	mustJSON(t, a.body, &fl)
	if fl.ExpiresIn != 600 {
		t.Fatalf("expires_in %d, want 600", fl.ExpiresIn)
	}
	mawthoq := func() answer {
		return e.do("POST", sim.PathGmediaCheck, `{"platform":"tiktok","account":"1000000001"}`, "Authorization", "Bearer "+gm)
	}
	redeem := func() answer {
		return e.do("POST", sim.PathFirstlightRedeem, redeemBody, "Authorization", "Bearer "+fl.AccessToken, "X-Authorization", "ut-1")
	}
	check := func(live bool) {
		t.Helper()
		if a := e.get("/v1/agencies/1001", mg); (a.status == 200) != live {
			t.Fatalf("mgid live=%v: HTTP %d", live, a.status)
		}
		if a := mawthoq(); (a.status != 401) != live {
			t.Fatalf("gmedia live=%v: HTTP %d", live, a.status)
		}
		if a := redeem(); (a.status != 401) != live {
			t.Fatalf("firstlight live=%v: HTTP %d", live, a.status)
		}
	}
	e.clock.Advance(10*time.Minute - time.Second)
	check(true)
	e.clock.Advance(time.Second)
	check(false)
	wantBody(t, e.get("/v1/agencies/1001", mg), 401, `{"errors":["invalid token"]}`)
	wantBody(t, mawthoq(), 401, `{"message":"Unauthorized"}`)
	// The static IAM token never expires.
	if a := e.do("POST", sim.PathFirstlightRedeem, redeemBody, "Authorization", "Bearer sim-iam-token", "X-Authorization", "ut-1"); a.status == 401 {
		t.Fatalf("static IAM token refused: %s", a.body)
	}
}

func TestMGIDClientsAndAgency(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sim.Options{Clients: 300, Seed: 7, TokenTTL: 24 * time.Hour})
	tok := e.demoToken()
	list := e.clients(tok)
	if len(list) != 300 {
		t.Fatalf("%d clients, want 300", len(list))
	}
	var sum money.Amount
	for i, c := range list {
		if want := int64(5001 + i); int64(c.ID) != want || c.Email != fmt.Sprintf("c%d@example.com", want) {
			t.Fatalf("client %d: id %d email %q", i, c.ID, c.Email)
		}
		if c.Wallet.Balance.Sign() < 0 || !c.Wallet.Balance.MaxPlaces(2) || c.Wallet.Income.Cmp(c.Wallet.Balance) < 0 {
			t.Fatalf("client %d: wallet %+v", c.ID, c.Wallet)
		}
		sum = sum.Add(c.Wallet.Balance)
	}
	st := e.agency(tok)
	if st.ID != 1001 || st.Balance.Clients != sum || st.Balance.Personal.Sign() <= 0 {
		t.Fatalf("agency %+v, want clients_balance %s", st, sum)
	}
	// Both spellings of amounts and ids occur.
	a := e.get("/v1/agencies/1001/clients", tok)
	for _, frag := range []string{`"balance":"`, `"balance":`, `{"id":"`, `{"id":5`} {
		if !bytes.Contains(a.body, []byte(frag)) {
			t.Errorf("no %s in the clients list", frag)
		}
	}

	// One client matches its entry in the list.
	one := e.get("/v1/agencies/1001/clients/5042", tok)
	var c client
	mustJSON(t, one.body, &c)
	if one.status != 200 || c.ID != 5042 || c.Wallet != list[41].Wallet {
		t.Fatalf("client 5042: HTTP %d %s, list has %+v", one.status, one.body, list[41].Wallet)
	}
	for _, id := range []string{"5000", "5301", "abc", "10005001"} {
		wantBody(t, e.get("/v1/agencies/1001/clients/"+id, tok), 400, `{"errors":["Invalid client id"]}`)
	}

	// Balances drift as hours pass.
	e.clock.Advance(3 * time.Hour)
	later := e.clients(tok)
	changed := 0
	for i := range later {
		if later[i].Wallet.Balance != list[i].Wallet.Balance {
			changed++
		}
	}
	if changed == 0 {
		t.Fatalf("no balance drifted in 3h")
	}
}

// --clock-offset serves the data of a later hour: what a server without it
// serves once that hour has come, and not what it serves now.
func TestClockOffset(t *testing.T) {
	t.Parallel()
	o := sim.Options{Clients: 200, Seed: 3, TokenTTL: 24 * time.Hour}
	now := newEnv(t, o)
	o.ClockOffset = time.Hour
	ahead := newEnv(t, o) // both clocks start at the same instant
	shifted := ahead.clients(ahead.demoToken())
	tok := now.demoToken()
	if same := now.clients(tok); slices.Equal(same, shifted) {
		t.Fatalf("an hour ahead serves the same wallets as now")
	}
	now.clock.Advance(time.Hour)
	if later := now.clients(tok); !slices.Equal(later, shifted) {
		t.Fatalf("an hour ahead does not serve what now serves an hour later")
	}
}

func TestMGIDClientsAsMap(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sim.Options{Clients: 50, ClientsAsMap: true})
	a := e.get("/v1/agencies/1001/clients", e.demoToken())
	var m struct{ Clients map[string]client }
	mustJSON(t, a.body, &m)
	if len(m.Clients) != 50 || m.Clients["5050"].ID != 5050 {
		t.Fatalf("map form: %d clients, 5050 -> %+v", len(m.Clients), m.Clients["5050"])
	}
}

func TestMGIDClientsLargeStream(t *testing.T) {
	t.Parallel()
	const n = 200_000
	e := newEnv(t, sim.Options{Clients: n})
	a := e.get("/v1/agencies/1001/clients", e.demoToken())
	if a.status != 200 || !json.Valid(a.body) {
		t.Fatalf("HTTP %d, valid JSON %v", a.status, json.Valid(a.body))
	}
	if got := bytes.Count(a.body, []byte(`"email":`)); got != n {
		t.Fatalf("%d clients, want %d", got, n)
	}
	if !bytes.Contains(a.body, []byte(`"c205000@example.com"`)) {
		t.Fatalf("last client 205000 missing")
	}
}

func TestDeterminism(t *testing.T) {
	t.Parallel()
	bodies := func(seed uint64) (clients, spend []byte) {
		e := newEnv(t, sim.Options{Clients: 500, Seed: seed})
		tok := e.demoToken()
		return e.get("/v1/agencies/1001/clients", tok).body,
			e.get("/v1/agencies/1001/clients-spent-reports?dateStart=2025-01-01&dateEnd=2025-03-10", tok).body
	}
	c1, s1 := bodies(42)
	c2, s2 := bodies(42)
	c3, s3 := bodies(43)
	if !bytes.Equal(c1, c2) || !bytes.Equal(s1, s2) {
		t.Fatal("same seed, different bodies")
	}
	if bytes.Equal(c1, c3) || bytes.Equal(s1, s3) {
		t.Fatal("different seeds, same bodies")
	}
}

func TestRegisterFlags(t *testing.T) {
	t.Parallel()
	fs := flagSet()
	o := sim.RegisterFlags(fs)
	if err := fs.Parse([]string{"-clients", "5", "-seed", "9", "-agency", "x:p:w:d:7", "-agency", "y:q:8",
		"-error-rate", "0.5", "-transfer-fault", "apply-then-drop", "-token-ttl", "2m"}); err != nil {
		t.Fatal(err)
	}
	if err := o.Validate(); err != nil {
		t.Fatal(err)
	}
	want := []sim.Agency{{Login: "x", Password: "p:w:d", ID: 7}, {Login: "y", Password: "q", ID: 8}}
	if o.Clients != 5 || o.Seed != 9 || o.TokenTTL != 2*time.Minute || o.Faults.ErrorRate != 0.5 ||
		o.Faults.TransferFault != "apply-then-drop" || fmt.Sprint(o.Agencies) != fmt.Sprint(want) {
		t.Fatalf("options %+v", o)
	}
	fs = flagSet()
	sim.RegisterFlags(fs)
	if err := fs.Parse([]string{"-transfer-fault", "explode"}); err == nil {
		t.Fatal("unknown transfer fault accepted")
	}

	fs = flagSet()
	o = sim.RegisterFlags(fs)
	if err := fs.Parse([]string{"-agency", "login:hunter2"}); err != nil {
		t.Fatalf("a malformed -agency must not reach the flag package (it prints the value): %v", err)
	}
	err := o.Validate()
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("Validate: %v", err)
	}

	fs = flagSet()
	o = sim.RegisterFlags(fs)
	_ = fs.Parse(nil)
	if o.Clients != 1000 || o.TokenTTL != time.Hour || o.StatusPeriod != time.Hour || len(o.Agencies) != 0 {
		t.Fatalf("defaults %+v", o)
	}
}

func flagSet() *flag.FlagSet {
	fs := flag.NewFlagSet("sim", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}
