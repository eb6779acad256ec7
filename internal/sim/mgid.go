package sim

import (
	"net/http"
	"strconv"
	"time"
)

// agencyState is one MGID agency: its fixed identity, and the money state that
// applied transfers change (guarded by Server.mu).
type agencyState struct {
	Agency
	index       int
	firstClient int64
	clients     int64
	hash        uint64 // hash of (Seed, agency id): the root of every derived value

	personal, bonus int64           // account balances, cents
	moved           int64           // cents transferred to clients so far
	received        map[int64]int64 // client index -> cents received by transfers

	// clients_balance of the derived wallets, cached for one hour bucket:
	// summing a million clients per request would dominate the request.
	sumHour  int64
	sumCents int64
	sumOK    bool
}

func newAgencyState(a Agency, index int, first, clients int64, seed uint64) *agencyState {
	h := hash2(seed^saltAgency, uint64(a.ID))
	return &agencyState{
		Agency:      a,
		index:       index,
		firstClient: first,
		clients:     clients,
		hash:        h,
		// Enough to top up every client a few times, plus a per-agency wobble.
		personal: clients*5000 + int64(mix(h)%10_000_000),
		bonus:    int64(mix(h+1) % 500_000),
		received: make(map[int64]int64),
	}
}

// clientIndex maps a client id to its index within the agency.
func (ag *agencyState) clientIndex(id int64) (int64, bool) {
	i := id - ag.firstClient
	return i, i >= 0 && i < ag.clients
}

func (ag *agencyState) clientID(i int64) int64 { return ag.firstClient + i }

// wallet is a client's wallet in cents.
type wallet struct{ balance, credit, income int64 }

// baseWallet is the wallet derived for client i at an hour bucket, before
// transfers. The balance follows a triangle wave with a per-client period
// (1 to 7 days) and phase, so it drifts slowly and never goes below 3/4 of
// its base.
func (ag *agencyState) baseWallet(i, hour int64) wallet {
	h := hash2(ag.hash^saltWallet, uint64(i))
	var base int64
	if h%10 == 0 {
		base = int64(mix(h) % 500) // the clients a top-up policy is for
	} else {
		base = 1000 + int64(mix(h)%500_000)
	}
	amp := min(base/4, 5000)
	period := 24 + int64(mix(h+1)%144)
	phase := int64(mix(h+2) % uint64(period))
	t := floorMod(hour+phase, period)
	half := period / 2
	tri := t
	if t > half {
		tri = period - t
	}
	var credit int64
	if mix(h+3)%7 == 0 {
		credit = 10000 * (1 + int64(mix(h+4)%5))
	}
	return wallet{
		balance: base - amp*tri/half,
		credit:  credit,
		income:  base + int64(mix(h+5)%1_000_000),
	}
}

// clientFormat says how client i's numbers are spelled: amounts as JSON
// strings or numbers, the id as a string or a number.
func (ag *agencyState) clientFormat(i int64) (amountsAsString, idAsString bool) {
	f := hash2(ag.hash^saltFormat, uint64(i))
	return f&1 == 0, f>>1%4 == 0
}

// wallet is client i's current wallet; s.mu must be held or received a copy.
func (ag *agencyState) wallet(i, hour, received int64) wallet {
	w := ag.baseWallet(i, hour)
	w.balance += received
	w.income += received
	return w
}

func hourBucket(t time.Time) int64 { return floorDiv(t.Unix(), 3600) }

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

func floorMod(a, b int64) int64 { return a - floorDiv(a, b)*b }

// clientsBalance is the sum of every client's balance at hour.
func (s *Server) clientsBalance(ag *agencyState, hour int64) int64 {
	s.mu.Lock()
	if ag.sumOK && ag.sumHour == hour {
		sum := ag.sumCents + ag.moved
		s.mu.Unlock()
		return sum
	}
	s.mu.Unlock()
	// Computed outside the lock; two requests racing here just both compute.
	var sum int64
	for i := int64(0); i < ag.clients; i++ {
		sum += ag.baseWallet(i, hour).balance
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ag.sumHour, ag.sumCents, ag.sumOK = hour, sum, true
	return sum + ag.moved
}

var (
	errInvalidToken  = []byte(`{"errors":["invalid token"]}`)
	errAccessDenied  = []byte(`{"errors":["Access denied"]}`)
	errInvalidClient = []byte(`{"errors":["Invalid client id"]}`)
)

// mgidToken: POST /v1/auth/agencies-token with login/password as a form or JSON.
func (s *Server) mgidToken(w http.ResponseWriter, r *http.Request) {
	p := params(w, r, "login", "password")
	ag, ok := s.byLogin[p["login"]]
	if !ok || p["login"] == "" {
		writeRaw(w, http.StatusUnauthorized, []byte(`{"errors":["Login does not exist"]}`))
		return
	}
	if !secretEqual(p["password"], ag.Password) || ag.Fault == AgencyWrongPassword {
		writeRaw(w, http.StatusUnauthorized, []byte(`{"errors":"Incorrect password."}`))
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{
		"token":        s.issueToken(realmMGID, ag.index, "mg-"),
		"refreshToken": randomToken("mr-"),
		"accountId":    strconv.FormatInt(ag.ID, 10),
	})
}

// mgidAuth checks the bearer token and that it belongs to the agency in the
// path; on failure it has answered.
func (s *Server) mgidAuth(w http.ResponseWriter, r *http.Request) (*agencyState, bool) {
	t, ok := s.bearer(r, realmMGID)
	if !ok {
		writeRaw(w, http.StatusUnauthorized, errInvalidToken)
		return nil, false
	}
	ag := s.agencies[t.agency]
	if id, err := strconv.ParseInt(r.PathValue("accountId"), 10, 64); err != nil || id != ag.ID {
		writeRaw(w, http.StatusForbidden, errAccessDenied)
		return nil, false
	}
	if s.agencyFault(ag, w, r) {
		return nil, false
	}
	return ag, true
}

// mgidAgencyStats: GET /v1/agencies/{accountId}.
func (s *Server) mgidAgencyStats(w http.ResponseWriter, r *http.Request) {
	ag, ok := s.mgidAuth(w, r)
	if !ok {
		return
	}
	clients := s.clientsBalance(ag, hourBucket(s.now()))
	s.mu.Lock()
	personal, bonus := ag.personal, ag.bonus
	s.mu.Unlock()
	b := make([]byte, 0, 128)
	b = append(b, `{"id":`...)
	b = strconv.AppendInt(b, ag.ID, 10)
	b = append(b, `,"balance":{"personal_account":`...)
	b = appendCents(b, personal, true)
	b = append(b, `,"bonus_account":`...)
	b = appendCents(b, bonus, false)
	b = append(b, `,"clients_balance":`...)
	b = appendCents(b, clients, true)
	b = append(b, "}}"...)
	writeRaw(w, http.StatusOK, b)
}
