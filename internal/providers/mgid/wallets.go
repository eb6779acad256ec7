package mgid

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"syncer/internal/money"
)

// AgencyBalance is the agency's own wallets and the sum of its clients' balances.
type AgencyBalance struct {
	AgencyID       int64
	Personal       money.Amount
	Bonus          money.Amount
	ClientsBalance money.Amount
}

// Account is the wallet a transfer from account draws on.
func (b AgencyBalance) Account(account AccountType) money.Amount {
	if account == Bonus {
		return b.Bonus
	}
	return b.Personal
}

// ClientWallet is one client's MGID wallet, in the agency's currency.
type ClientWallet struct {
	ID    int64
	Email string
	// InvalidUTF8 counts the bytes of the email as sent that were not UTF-8:
	// Email holds U+FFFD in their place.
	InvalidUTF8 int
	Balance     money.Amount
	Credit      *money.Amount // overdraft allowed; nil when MGID did not send it
	Income      money.Amount  // total replenished
}

// Agency reads the agency's balances.
func (c *Client) Agency(ctx context.Context) (AgencyBalance, error) {
	id, err := c.AccountID(ctx)
	if err != nil {
		return AgencyBalance{}, err
	}
	op := fmt.Sprintf("agency %d", id)
	var v struct {
		ID      flexID `json:"id"`
		Balance struct {
			Personal money.Amount `json:"personal_account"`
			Bonus    money.Amount `json:"bonus_account"`
			Clients  money.Amount `json:"clients_balance"`
		} `json:"balance"`
	}
	err = c.get(ctx, op, fmt.Sprintf("/v1/agencies/%d", id), nil, func(resp *http.Response) error {
		return c.decodeSmall(op, resp, &v)
	})
	if err != nil {
		return AgencyBalance{}, err
	}
	b := AgencyBalance{AgencyID: int64(v.ID), Personal: v.Balance.Personal, Bonus: v.Balance.Bonus, ClientsBalance: v.Balance.Clients}
	if b.AgencyID == 0 {
		b.AgencyID = id
	}
	return b, nil
}

// Clients streams every client of the agency to fn, in the provider's order,
// without holding the list in memory. It stops at fn's first error and
// returns it. An answer that breaks off (a cut connection, a truncated body,
// an HTML page) is asked for again within the retry budget; if fn had
// already received clients, restart is called first and must drop them, so
// fn sees the whole list from its start. With a nil restart such a break is
// returned instead. A client twice in an answer in ascending id order, an
// email over MaxEmail or an amount that is not a decimal of numeric(18,4) is
// Malformed; in an answer out of id order, a client listed twice is left to
// fn's consumer to find (nothing here grows with the list). The email comes
// as MGID sent it: invalid UTF-8 already replaced by U+FFFD by the JSON
// decoder (counted in InvalidUTF8), and a \u0000 escape as a NUL byte,
// which the store replaces.
func (c *Client) Clients(ctx context.Context, restart func() error, fn func(ClientWallet) error) error {
	id, err := c.AccountID(ctx)
	if err != nil {
		return err
	}
	op := fmt.Sprintf("clients of agency %d", id)
	delivered := false
	var seen idOrder
	canRetry := func() bool { return !delivered || restart != nil }
	err = c.get(ctx, op, fmt.Sprintf("/v1/agencies/%d/clients", id), func() bool { return !delivered },
		func(resp *http.Response) error {
			if delivered {
				if err := restart(); err != nil {
					return callerError{err}
				}
				delivered = false
			}
			seen = idOrder{}
			return c.stream(op, resp, "clients", canRetry, func(dec **json.Decoder, br *bodyReader) error {
				return clientList(dec, br, func(key string, w *wireClient) error {
					cw, err := w.wallet(key)
					if err != nil {
						return err
					}
					if !seen.add(cw.ID) {
						return fmt.Errorf("client %d is in the answer twice", cw.ID)
					}
					if len(cw.Email) > MaxEmail {
						return fmt.Errorf("client %d: email of %d bytes is over the limit of %d", cw.ID, len(cw.Email), MaxEmail)
					}
					delivered = true
					if err := fn(cw); err != nil {
						return callerError{err}
					}
					return nil
				})
			})
		})
	return unwrapCaller(err)
}

// Client reads one client's wallet. An id MGID does not know (or that is not
// this agency's) is a Permanent error with Message "Invalid client id".
func (c *Client) Client(ctx context.Context, clientID int64) (ClientWallet, error) {
	id, err := c.AccountID(ctx)
	if err != nil {
		return ClientWallet{}, err
	}
	op := fmt.Sprintf("client %d of agency %d", clientID, id)
	var w wireClient
	err = c.get(ctx, op, fmt.Sprintf("/v1/agencies/%d/clients/%d", id, clientID), nil, func(resp *http.Response) error {
		if err := c.decodeSmall(op, resp, &w); err != nil {
			return err
		}
		if w.ID != 0 && int64(w.ID) != clientID {
			return c.malformed(op, resp.StatusCode, fmt.Errorf("answer is for client %d", w.ID))
		}
		return nil
	})
	if err != nil {
		return ClientWallet{}, err
	}
	w.ID = flexID(clientID)
	return w.wallet("")
}
