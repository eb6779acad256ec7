package sim

import (
	"bufio"
	"maps"
	"net/http"
	"strconv"
	"strings"
	"time"

	"syncer/internal/money"
)

// streamBuffer is the size of the buffered writer large answers go through.
const streamBuffer = 64 << 10

// mgidClients: GET /v1/agencies/{accountId}/clients, streamed client by client.
func (s *Server) mgidClients(w http.ResponseWriter, r *http.Request) {
	ag, ok := s.mgidAuth(w, r)
	if !ok {
		return
	}
	hour := hourBucket(s.now())
	// Only clients that received transfers have state; copy it so the lock is
	// not held while streaming.
	s.mu.Lock()
	received := maps.Clone(ag.received)
	s.mu.Unlock()

	w.Header().Set("Content-Type", contentTypeJSON)
	w.WriteHeader(http.StatusOK)
	bw := bufio.NewWriterSize(w, streamBuffer)
	asMap := s.o.ClientsAsMap
	if asMap {
		_, _ = bw.WriteString(`{"clients":{`)
	} else {
		_, _ = bw.WriteString(`{"clients":[`)
	}
	buf := make([]byte, 0, 256)
	mode := modeOf(r)
	entry := func(i int64, first bool) error {
		buf = buf[:0]
		if !first {
			buf = append(buf, ',')
		}
		if asMap {
			buf = append(buf, '"')
			buf = strconv.AppendInt(buf, ag.clientID(i), 10)
			buf = append(buf, `":`...)
		}
		if i == 0 && mode != "" {
			return s.faultyClient(bw, buf, ag, i, ag.wallet(i, hour, received[i]), mode)
		}
		buf = ag.appendClient(buf, i, ag.wallet(i, hour, received[i]), true)
		_, err := bw.Write(buf)
		return err
	}
	for i := int64(0); i < ag.clients; i++ {
		if entry(i, i == 0) != nil {
			return // the client went away, or a fault cut the body
		}
	}
	if mode == FaultDupIDs && ag.clients > 0 && entry(0, false) != nil {
		return
	}
	if asMap {
		_, _ = bw.WriteString("}}")
	} else {
		_, _ = bw.WriteString("]}")
	}
	_ = bw.Flush()
}

// appendClient writes one client object as MGID spells it.
func (ag *agencyState) appendClient(b []byte, i int64, wl wallet, withEmail bool) []byte {
	amountsAsString, idAsString := ag.clientFormat(i)
	id := ag.clientID(i)
	b = append(b, `{"id":`...)
	if idAsString {
		b = append(b, '"')
	}
	b = strconv.AppendInt(b, id, 10)
	if idAsString {
		b = append(b, '"')
	}
	if withEmail {
		b = append(b, `,"email":"c`...)
		b = strconv.AppendInt(b, id, 10)
		b = append(b, `@example.com"`...)
	}
	b = append(b, `,"wallet":{"balance":`...)
	b = appendCents(b, wl.balance, amountsAsString)
	b = append(b, `,"credit":`...)
	b = appendCents(b, wl.credit, amountsAsString)
	b = append(b, `,"income":`...)
	b = appendCents(b, wl.income, amountsAsString)
	return append(b, "}}"...)
}

// mgidClient: GET /v1/agencies/{accountId}/clients/{clientId}.
func (s *Server) mgidClient(w http.ResponseWriter, r *http.Request) {
	ag, ok := s.mgidAuth(w, r)
	if !ok {
		return
	}
	i, ok := ag.parseClient(r.PathValue("clientId"))
	if !ok {
		writeRaw(w, http.StatusBadRequest, errInvalidClient)
		return
	}
	s.mu.Lock()
	received := ag.received[i]
	s.mu.Unlock()
	b := ag.appendClient(make([]byte, 0, 160), i, ag.wallet(i, hourBucket(s.now()), received), false)
	writeRaw(w, http.StatusOK, b)
}

// parseClient maps a client id in text to the agency's client index.
func (ag *agencyState) parseClient(v string) (int64, bool) {
	id, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, false
	}
	return ag.clientIndex(id)
}

// Wallet is a client's wallet as the simulator would report it.
type Wallet struct{ Balance, Credit, Income money.Amount }

// WalletAt is the wallet the simulator reports for a client at a time,
// transfers applied so far included, for tests in other packages.
func (s *Server) WalletAt(clientID int64, at time.Time) (Wallet, bool) {
	ag, i, ok := s.findClient(clientID)
	if !ok {
		return Wallet{}, false
	}
	s.mu.Lock()
	received := ag.received[i]
	s.mu.Unlock()
	wl := ag.wallet(i, hourBucket(at), received)
	return Wallet{centsAmount(wl.balance), centsAmount(wl.credit), centsAmount(wl.income)}, true
}

func centsAmount(c int64) money.Amount { return money.FromUnits(c * 100) }

// findClient finds the agency owning a client id.
func (s *Server) findClient(id int64) (*agencyState, int64, bool) {
	for _, ag := range s.agencies {
		if i, ok := ag.clientIndex(id); ok {
			return ag, i, true
		}
	}
	return nil, 0, false
}

// faultyClient writes client i (after prefix) spoilt by a data fault mode:
// a huge email, or an impossible balance.
func (s *Server) faultyClient(w *bufio.Writer, prefix []byte, ag *agencyState, i int64, wl wallet, mode string) error {
	b := ag.appendClient(prefix, i, wl, true)
	switch mode {
	case FaultHugeField:
		n := s.faults.Load().HugeField
		if n <= 0 {
			n = DefaultHugeField
		}
		id := ag.clientID(i)
		head := append(prefix[:len(prefix):len(prefix)], `{"id":`...)
		head = append(strconv.AppendInt(head, id, 10), `,"email":"`...)
		if _, err := w.Write(head); err != nil {
			return err
		}
		if err := hugeEmail(w, id, n); err != nil {
			return err
		}
		rest := ag.appendClient(nil, i, wl, false)
		b = append([]byte(`"`), rest[strings.Index(string(rest), `,"wallet"`):]...)
	case FaultNaN, FaultOverflow:
		b = []byte(strings.Replace(string(b), `"balance":`, `"balance":`+badAmount(mode)+`,"x_balance":`, 1))
	}
	_, err := w.Write(b)
	return err
}

// badAmount is the amount a NaN or overflow fault sends.
func badAmount(mode string) string {
	if mode == FaultNaN {
		return `"NaN"`
	}
	return `"1000000000000000000000000000000.00"`
}
