// Package sim simulates the three provider APIs syncer talks to (the MGID
// agency API, Gmedia CheckMawathoq and Firstlight checkredeem). `syncer sim`
// serves it for the demo; tests and benchmarks mount it on httptest servers.
//
// Its data are synthetic and deterministic: every value is derived from
// (Seed, agency, client index, day, time bucket) with a cheap hash instead of
// being stored, so a million clients cost no memory and large answers are
// streamed as they are computed. Only what callers change is kept: issued
// tokens and applied transfers.
//
// Data scheme:
//   - The k-th agency of Options.Agencies (0-based) has Options.Clients
//     clients with ids 5001 + k*stride + i for i in [0, Clients); stride is
//     10,000,000 (the next power of ten when Clients is larger). The demo
//     agency (login "demo-agency", password "demo-password", id 1001) thus
//     owns 5001..6000 by default. Emails are c<id>@example.com.
//   - Wallet balances drift along a per-client triangle wave over hours, so
//     successive snapshots differ a little; income is a fixed base plus every
//     transfer applied; about 10% of clients hold less than 5.00.
//   - Spend is per client per UTC day; 20% of clients never spend and are
//     left out of reports. Today's spend grows by the hour; a day stays
//     "restated" (its value moves every 6 hours) until RestateWindow after it
//     ended, then it is final. Future days spend nothing.
//   - Mawthoq and Firstlight answers depend on the target and, for some
//     targets, on the StatusPeriod bucket of Now, so statuses flip and flip back.
package sim

import (
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"syncer/internal/money"
)

// The demo agency served when Options.Agencies is empty.
const (
	DemoLogin    = "demo-agency"
	DemoPassword = "demo-password"
	DemoAgencyID = 1001
)

// Paths of the Gmedia and Firstlight endpoints (MGID's are the spec's own).
const (
	PathGmediaToken      = "/gmedia/token"
	PathGmediaCheck      = "/gmedia/CheckMawathoq"
	PathFirstlightToken  = "/firstlight/token"
	PathFirstlightRedeem = "/media/content/checkredeem"
)

// Endpoint names accepted by Server.Requests.
const (
	EndpointMGIDToken        = "mgid-token"
	EndpointMGIDAgency       = "mgid-agency"
	EndpointMGIDClients      = "mgid-clients"
	EndpointMGIDClient       = "mgid-client"
	EndpointMGIDSpend        = "mgid-spend"
	EndpointMGIDTransfer     = "mgid-transfer"
	EndpointGmediaToken      = "gmedia-token"
	EndpointGmediaCheck      = "gmedia-check"
	EndpointFirstlightToken  = "firstlight-token"
	EndpointFirstlightRedeem = "firstlight-redeem"
)

// Transfer faults (Faults.TransferFault).
const (
	TransferApplyThenDrop    = "apply-then-drop"
	TransferDropBeforeApply  = "drop-before-apply"
	TransferApplyThenTimeout = "apply-then-timeout"
)

// RestateWindow is how long after a day ends its spend may still change.
const RestateWindow = 72 * time.Hour

// Options configure a Server. Zero fields take the documented defaults.
type Options struct {
	Clients      int      // MGID clients per agency (default 1000)
	Agencies     []Agency // default: the demo agency
	Seed         uint64
	TokenTTL     time.Duration // lifetime of every issued token (default 1h)
	ClientsAsMap bool          // answer the clients list as an object keyed by client id
	StatusPeriod time.Duration // how often Mawthoq/Firstlight answers may change (default 1h)

	GmediaClientID         string // default "sim-gmedia"
	GmediaClientSecret     string // default "sim-gmedia-secret"
	FirstlightClientID     string // default "sim-firstlight"
	FirstlightClientSecret string // default "sim-firstlight-secret"
	FirstlightIAMToken     string // static IAM token that never expires (default "sim-iam-token")

	Faults Faults
	Now    func() time.Time // default time.Now; tests inject a clock
	// ClockOffset shifts the simulator's clock (Now's, or time.Now): data
	// as it will be that much later, so a benchmark can re-read a list
	// after its hourly change without waiting for the hour.
	ClockOffset time.Duration

	// AgencyFaults maps an agency's login to a fault of AgencyFaults that
	// only that agency gets (added to Agency.Fault).
	AgencyFaults map[string]string

	flagErr error // a malformed -agency value, reported by Validate
}

// Agency is one MGID agency login.
type Agency struct {
	Login, Password string
	ID              int64
	Fault           string // one of AgencyFaults, or "" (see agencies.go)
}

// Faults are injected into every request except token requests. Which
// request gets which fault is decided by hashing Seed with the request's
// sequence number, so a run with the same requests in the same order gets
// the same faults.
type Faults struct {
	ErrorRate     float64       // fraction answered 500 with the provider's error body
	Latency       time.Duration // added to every request
	MalformedRate float64       // fraction of 2xx answers whose body is truncated or garbled
	DropRate      float64       // fraction whose connection is closed without an answer
	// TransferFault applies to every MGID transfer while set: one of
	// TransferApplyThenDrop, TransferDropBeforeApply, TransferApplyThenTimeout
	// (apply, then hang until the client gives up), or "" for none.
	TransferFault string

	// Mode is one named fault (see FaultModes) injected into every matching
	// request, or into the first Burst of them after SetFaults when Burst > 0.
	Mode       string
	Burst      int
	Endpoint   string        // only this endpoint (an Endpoint constant) gets Mode; "" for all
	CutAfter   int           // bytes of a 2xx body sent before truncate/reset/stall (default 2048)
	HugeField  int           // bytes of the huge-field email (default 100 MiB)
	DripBytes  int           // bytes per piece under drip (default 64)
	DripEvery  time.Duration // pause between pieces under drip (default 20ms)
	RetryAfter time.Duration // what 429 and 429-date ask for (default 1s)
}

// AppliedTransfer is a transfer the simulator applied.
type AppliedTransfer struct {
	AgencyID    int64
	ClientID    int64
	AccountType string // personal|bonus
	Amount      money.Amount
	At          time.Time
}

// Server is the simulator; it is an http.Handler.
type Server struct {
	o        Options // with defaults applied
	mux      *http.ServeMux
	agencies []*agencyState
	byLogin  map[string]*agencyState
	counts   map[string]*atomic.Int64

	tokMu  sync.RWMutex
	tokens map[string]token
	issued int

	mu        sync.Mutex // guards money state in agencyState and transfers
	transfers []AppliedTransfer

	faults    atomic.Pointer[Faults]
	burst     atomic.Int64  // requests that took Faults.Mode since SetFaults
	seq       atomic.Uint64 // request sequence number, for deterministic faults
	closed    chan struct{}
	closeOnce sync.Once
}

const (
	firstClientID = 5001
	clientStride  = 10_000_000
)

// New builds a simulator.
func New(o Options) *Server {
	o = withDefaults(o)
	s := &Server{
		o:       o,
		mux:     http.NewServeMux(),
		byLogin: make(map[string]*agencyState),
		counts:  make(map[string]*atomic.Int64),
		tokens:  make(map[string]token),
		closed:  make(chan struct{}),
	}
	f := o.Faults
	s.faults.Store(&f)
	stride := int64(clientStride)
	for stride < int64(o.Clients) {
		stride *= 10
	}
	for k, a := range o.Agencies {
		if f, ok := o.AgencyFaults[a.Login]; ok {
			a.Fault = f
		}
		ag := newAgencyState(a, k, firstClientID+int64(k)*stride, int64(o.Clients), o.Seed)
		s.agencies = append(s.agencies, ag)
		if _, dup := s.byLogin[a.Login]; !dup {
			s.byLogin[a.Login] = ag
		}
	}
	s.routes()
	return s
}

func withDefaults(o Options) Options {
	if o.Clients <= 0 {
		o.Clients = 1000
	}
	if len(o.Agencies) == 0 {
		o.Agencies = []Agency{{Login: DemoLogin, Password: DemoPassword, ID: DemoAgencyID}}
	} else {
		o.Agencies = append([]Agency(nil), o.Agencies...)
	}
	if o.TokenTTL <= 0 {
		o.TokenTTL = time.Hour
	}
	if o.StatusPeriod <= 0 {
		o.StatusPeriod = time.Hour
	}
	def := func(p *string, v string) {
		if *p == "" {
			*p = v
		}
	}
	def(&o.GmediaClientID, "sim-gmedia")
	def(&o.GmediaClientSecret, "sim-gmedia-secret")
	def(&o.FirstlightClientID, "sim-firstlight")
	def(&o.FirstlightClientSecret, "sim-firstlight-secret")
	def(&o.FirstlightIAMToken, "sim-iam-token")
	if o.Now == nil {
		o.Now = time.Now
	}
	if off, now := o.ClockOffset, o.Now; off != 0 {
		o.Now = func() time.Time { return now().Add(off) }
	}
	return o
}

func (s *Server) routes() {
	s.handle("POST /v1/auth/agencies-token", EndpointMGIDToken, provMGID, true, s.mgidToken)
	s.handle("GET /v1/agencies/{accountId}", EndpointMGIDAgency, provMGID, false, s.mgidAgencyStats)
	s.handle("GET /v1/agencies/{accountId}/clients", EndpointMGIDClients, provMGID, false, s.mgidClients)
	s.handle("GET /v1/agencies/{accountId}/clients/{clientId}", EndpointMGIDClient, provMGID, false, s.mgidClient)
	s.handle("GET /v1/agencies/{accountId}/clients-spent-reports", EndpointMGIDSpend, provMGID, false, s.mgidSpend)
	s.handle("POST /v1/agencies/{accountId}/clients/{clientId}/money-transfers", EndpointMGIDTransfer, provMGID, false, s.mgidTransfer)
	s.handle("POST "+PathGmediaToken, EndpointGmediaToken, provGmedia, true, s.gmediaToken)
	s.handle("POST "+PathGmediaCheck, EndpointGmediaCheck, provGmedia, false, s.gmediaCheck)
	s.handle("GET "+PathGmediaCheck, EndpointGmediaCheck, provGmedia, false, s.gmediaCheck)
	s.handle("POST "+PathFirstlightToken, EndpointFirstlightToken, provFirstlight, true, s.firstlightToken)
	s.handle("POST "+PathFirstlightRedeem, EndpointFirstlightRedeem, provFirstlight, false, s.firstlightRedeem)
}

// ServeHTTP serves all three providers.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// SetFaults replaces the injected faults; safe while serving.
func (s *Server) SetFaults(f Faults) { s.burst.Store(0); s.faults.Store(&f) }

// Close releases handlers hanging in an injected fault (latency,
// apply-then-timeout) so an http.Server can shut down promptly.
func (s *Server) Close() { s.closeOnce.Do(func() { close(s.closed) }) }

// Transfers returns every transfer applied so far, oldest first.
func (s *Server) Transfers() []AppliedTransfer {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]AppliedTransfer(nil), s.transfers...)
}

// TransferRequests is the number of POSTs received by the transfer endpoint,
// applied or not.
func (s *Server) TransferRequests() int { return s.Requests(EndpointMGIDTransfer) }

// Requests is the number of requests received by an endpoint (one of the
// Endpoint constants), whatever their outcome.
func (s *Server) Requests(endpoint string) int {
	if c, ok := s.counts[endpoint]; ok {
		return int(c.Load())
	}
	return 0
}

// ClientRange returns the first and last client ids of an agency.
func (s *Server) ClientRange(agencyID int64) (first, last int64, ok bool) {
	for _, ag := range s.agencies {
		if ag.ID == agencyID {
			return ag.firstClient, ag.firstClient + ag.clients - 1, true
		}
	}
	return 0, 0, false
}

func (s *Server) now() time.Time { return s.o.Now() }
