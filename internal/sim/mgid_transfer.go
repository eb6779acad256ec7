package sim

import (
	"net/http"
	"strconv"
	"strings"

	"syncer/internal/money"
)

// mgidTransfer: POST /v1/agencies/{accountId}/clients/{clientId}/money-transfers
// ?account_type=personal|bonus&transfer_amount=150.00. The parameters are read
// from the query (as the spec sends them) or a form body.
func (s *Server) mgidTransfer(w http.ResponseWriter, r *http.Request) {
	ag, ok := s.mgidAuth(w, r)
	if !ok {
		return
	}
	i, ok := ag.parseClient(r.PathValue("clientId"))
	if !ok {
		writeRaw(w, http.StatusBadRequest, errInvalidClient)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	accountType := r.FormValue("account_type")
	amount, err := money.Parse(strings.TrimSpace(r.FormValue("transfer_amount")))
	if (accountType != "personal" && accountType != "bonus") || err != nil || amount.Sign() <= 0 || !amount.MaxPlaces(2) {
		mgidBadRequest(w, "Account (client, amount) is not specified")
		return
	}
	cents := amount.Units() / 100

	fault := s.faults.Load().TransferFault
	if fault == TransferDropBeforeApply {
		dropConnection(w)
		return
	}
	now := s.now()
	s.mu.Lock()
	account := &ag.personal
	if accountType == "bonus" {
		account = &ag.bonus
	}
	if cents > *account {
		s.mu.Unlock()
		// MGID also answers errors as a bare string; clients must read both.
		writeRaw(w, http.StatusBadRequest, []byte(`{"errors":"The amount of money in the account is less than what you are trying to transfer."}`))
		return
	}
	*account -= cents
	ag.received[i] += cents
	ag.moved += cents
	left, received := *account, ag.received[i]
	s.transfers = append(s.transfers, AppliedTransfer{
		AgencyID:    ag.ID,
		ClientID:    ag.clientID(i),
		AccountType: accountType,
		Amount:      amount,
		At:          now,
	})
	s.mu.Unlock()

	switch fault {
	case TransferApplyThenDrop:
		dropConnection(w)
		return
	case TransferApplyThenTimeout:
		s.hang(r)
		return
	}
	wl := ag.wallet(i, hourBucket(now), received)
	b := make([]byte, 0, 160)
	b = append(b, `{"idAuth":`...)
	b = strconv.AppendQuote(b, strconv.FormatInt(ag.ID, 10))
	b = append(b, `,"clientId":`...)
	b = strconv.AppendQuote(b, strconv.FormatInt(ag.clientID(i), 10))
	b = append(b, `,"status":"success","`...)
	b = append(b, accountType...)
	b = append(b, `_account":`...)
	b = appendCents(b, left, true)
	b = append(b, `,"wallet":{"balance":`...)
	b = appendCents(b, wl.balance, true)
	b = append(b, "}}"...)
	writeRaw(w, http.StatusOK, b)
}
