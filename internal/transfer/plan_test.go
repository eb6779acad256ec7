package transfer_test

import (
	"math/rand/v2"
	"reflect"
	"testing"

	"syncer/internal/config"
	"syncer/internal/money"
	"syncer/internal/transfer"
)

var amt = money.MustParse

func basePolicy() config.TopUp {
	return config.TopUp{
		DryRun: true, AccountType: "personal",
		MaxPerTransfer: amt("100"), MaxPerClientDay: amt("150"), MaxPerAgencyDay: amt("1000"),
		Default: &config.TopUpRule{Min: amt("50"), Target: amt("200")},
		Clients: map[int64]config.TopUpRule{7: {Min: amt("10"), Target: amt("30")}},
	}
}

func cands(pairs ...any) []transfer.TopUpCandidate {
	var out []transfer.TopUpCandidate
	for i := 0; i < len(pairs); i += 2 {
		out = append(out, transfer.TopUpCandidate{ClientID: int64(pairs[i].(int)), Balance: amt(pairs[i+1].(string))})
	}
	return out
}

// planned renders a plan as client -> amount, and skips as client -> reason.
func planned(p transfer.TopUpPlan) (map[int64]string, map[int64]string) {
	tr, sk := map[int64]string{}, map[int64]string{}
	for _, x := range p.Transfers {
		tr[x.ClientID] = x.Amount.String()
	}
	for _, s := range p.Skipped {
		sk[s.ClientID] = s.Reason
	}
	return tr, sk
}

func TestPlanTopUps(t *testing.T) {
	t.Parallel()
	noDefault := basePolicy()
	noDefault.Default = nil
	zeroCaps := basePolicy()
	zeroCaps.MaxPerAgencyDay = money.Amount{}
	tinyTransfer := basePolicy()
	tinyTransfer.MaxPerTransfer = amt("0.009")
	cases := []struct {
		name        string
		policy      config.TopUp
		clients     []transfer.TopUpCandidate
		clientToday map[int64]money.Amount
		agencyToday money.Amount
		open        map[int64]bool
		want, skip  map[int64]string
	}{
		{name: "nobody below min", policy: basePolicy(), clients: cands(1, "50", 2, "1000")},
		{name: "tops up to target within the per-transfer cap", policy: basePolicy(), clients: cands(1, "49.99", 2, "150"),
			want: map[int64]string{1: "100.00"}},
		{name: "small need below the transfer cap", policy: basePolicy(), clients: cands(1, "49.99"),
			want: map[int64]string{1: "100.00"}},
		{name: "client rule beats default", policy: basePolicy(), clients: cands(7, "9.50", 8, "20"),
			want: map[int64]string{7: "20.50", 8: "100.00"}},
		{name: "client rule: not below its own min", policy: basePolicy(), clients: cands(7, "10")},
		{name: "no default: only listed clients", policy: noDefault, clients: cands(7, "1", 8, "1"),
			want: map[int64]string{7: "29.00"}},
		{name: "negative balance", policy: basePolicy(), clients: cands(1, "-500"), want: map[int64]string{1: "100.00"}},
		{name: "fractions of a cent are rounded down", policy: basePolicy(), clients: cands(7, "9.9999"),
			want: map[int64]string{7: "20.00"}},
		{name: "client day cap leaves room", policy: basePolicy(), clients: cands(1, "0"),
			clientToday: map[int64]money.Amount{1: amt("120")}, want: map[int64]string{1: "30.00"}},
		{name: "client day cap reached", policy: basePolicy(), clients: cands(1, "0"),
			clientToday: map[int64]money.Amount{1: amt("150")}, skip: map[int64]string{1: transfer.SkipClientCap}},
		{name: "client day cap exceeded by manual transfers", policy: basePolicy(), clients: cands(1, "0"),
			clientToday: map[int64]money.Amount{1: amt("400")}, skip: map[int64]string{1: transfer.SkipClientCap}},
		{name: "agency cap shared lowest balance first", policy: basePolicy(), clients: cands(3, "20", 1, "5", 2, "-10"),
			agencyToday: amt("850"), want: map[int64]string{2: "100.00", 1: "50.00"}, skip: map[int64]string{3: transfer.SkipAgencyCap}},
		{name: "agency cap reached", policy: basePolicy(), clients: cands(1, "0"), agencyToday: amt("1000"),
			skip: map[int64]string{1: transfer.SkipAgencyCap}},
		{name: "zero agency cap plans nothing", policy: zeroCaps, clients: cands(1, "0"), skip: map[int64]string{1: transfer.SkipAgencyCap}},
		{name: "transfer cap below a cent", policy: tinyTransfer, clients: cands(1, "0"), skip: map[int64]string{1: transfer.SkipTransferCap}},
		{name: "open transfer skips the client", policy: basePolicy(), clients: cands(1, "0", 2, "0"),
			open: map[int64]bool{1: true}, want: map[int64]string{2: "100.00"}, skip: map[int64]string{1: transfer.SkipOpenTransfer}},
		{name: "duplicate rows plan once", policy: basePolicy(), clients: cands(1, "0", 1, "0"), want: map[int64]string{1: "100.00"}},
	}
	for _, c := range cases {
		p := transfer.PlanTopUps(transfer.TopUpPlanInput{Clients: c.clients, Policy: c.policy, ClientToday: c.clientToday,
			AgencyToday: c.agencyToday, Open: c.open})
		got, skip := planned(p)
		if c.want == nil {
			c.want = map[int64]string{}
		}
		if c.skip == nil {
			c.skip = map[int64]string{}
		}
		if !reflect.DeepEqual(got, c.want) || !reflect.DeepEqual(skip, c.skip) {
			t.Errorf("%s: planned %v skipped %v; want %v and %v", c.name, got, skip, c.want, c.skip)
		}
		var total money.Amount
		for _, x := range p.Transfers {
			total = total.Add(x.Amount)
		}
		if total != p.Total {
			t.Errorf("%s: Total %s, transfers add to %s", c.name, p.Total, total)
		}
	}
}

func TestTopUpThreshold(t *testing.T) {
	t.Parallel()
	if got := transfer.TopUpThreshold(basePolicy()); got != amt("50") {
		t.Errorf("threshold %s, want the default's 50", got)
	}
	p := basePolicy()
	p.Clients[9] = config.TopUpRule{Min: amt("75"), Target: amt("80")}
	if got := transfer.TopUpThreshold(p); got != amt("75") {
		t.Errorf("threshold %s, want 75", got)
	}
}

// Whatever the balances, the policy and the day so far, no plan breaks a
// cap, plans for a client with an open transfer, overshoots a target, or
// sends anything but whole cents.
func TestPlanTopUpsNeverExceedsACap(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(1, 2))
	cents := func(max int64) money.Amount { return money.FromUnits(r.Int64N(max+1) * 100) }
	anyAmount := func(max int64) money.Amount { return money.FromUnits(r.Int64N(max*10000+1) - r.Int64N(max*5000+1)) }
	for i := 0; i < 3000; i++ {
		p := config.TopUp{
			MaxPerTransfer:  anyAmount(500),
			MaxPerClientDay: anyAmount(1000),
			MaxPerAgencyDay: anyAmount(5000),
			Clients:         map[int64]config.TopUpRule{},
		}
		if r.IntN(4) > 0 {
			lo := cents(300)
			p.Default = &config.TopUpRule{Min: lo, Target: lo.Add(cents(500))}
		}
		in := transfer.TopUpPlanInput{Policy: p, ClientToday: map[int64]money.Amount{}, Open: map[int64]bool{},
			AgencyToday: anyAmount(3000)}
		n := r.IntN(60)
		for c := 0; c < n; c++ {
			id := int64(r.IntN(40) + 1)
			if _, dup := in.ClientToday[id]; dup {
				continue // a snapshot lists a client once
			}
			in.ClientToday[id] = money.Amount{}
			if r.IntN(3) == 0 {
				lo := anyAmount(300)
				p.Clients[id] = config.TopUpRule{Min: lo, Target: lo.Add(anyAmount(400))}
			}
			in.Clients = append(in.Clients, transfer.TopUpCandidate{ClientID: id, Balance: anyAmount(600)})
			if r.IntN(5) == 0 {
				in.ClientToday[id] = anyAmount(800)
			}
			if r.IntN(10) == 0 {
				in.Open[id] = true
			}
		}
		plan := transfer.PlanTopUps(in)
		agency := in.AgencyToday
		perClient := map[int64]money.Amount{}
		balance := map[int64]money.Amount{}
		for _, c := range in.Clients {
			if _, ok := balance[c.ClientID]; !ok {
				balance[c.ClientID] = c.Balance
			}
		}
		for _, x := range plan.Transfers {
			fail := func(why string) { t.Fatalf("case %d: %s: %+v\npolicy %+v\ninput %+v", i, why, x, p, in) }
			if x.Amount.Sign() <= 0 || !x.Amount.MaxPlaces(2) {
				fail("amount not a positive number of cents")
			}
			if x.Amount.Cmp(p.MaxPerTransfer) > 0 {
				fail("over max_per_transfer")
			}
			if in.Open[x.ClientID] {
				fail("client has an open transfer")
			}
			if _, dup := perClient[x.ClientID]; dup {
				fail("two transfers to one client")
			}
			perClient[x.ClientID] = x.Amount
			if in.ClientToday[x.ClientID].Add(x.Amount).Cmp(p.MaxPerClientDay) > 0 {
				fail("over max_per_client_day")
			}
			agency = agency.Add(x.Amount)
			rule, ok := p.Clients[x.ClientID]
			if !ok {
				if p.Default == nil {
					fail("client without a rule")
				}
				rule = *p.Default
			}
			if x.Rule != rule || balance[x.ClientID].Cmp(rule.Min) >= 0 {
				fail("client not below its minimum, or the wrong rule")
			}
			if balance[x.ClientID].Add(x.Amount).Cmp(rule.Target) > 0 {
				fail("overshoots the target")
			}
		}
		if len(plan.Transfers) > 0 && agency.Cmp(p.MaxPerAgencyDay) > 0 {
			t.Fatalf("case %d: the agency's day reaches %s, over max_per_agency_day %s", i, agency, p.MaxPerAgencyDay)
		}
	}
}
