package mgid

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"syncer/internal/money"
	"syncer/internal/providers"
)

// AccountType is the agency wallet a transfer is drawn from.
type AccountType string

const (
	Personal AccountType = "personal"
	Bonus    AccountType = "bonus"
)

// The refusals of MGID's that callers act on, classified from its wording
// here, once, as go-github's CheckResponse turns a response into a typed
// error: callers use errors.Is and never match MGID's English.
var (
	// ErrInvalidClient: MGID does not list the client as the agency's
	// ("Invalid client id"), on a transfer, a client read or a spend read.
	ErrInvalidClient = errors.New("mgid: invalid client id")
	// ErrInsufficientFunds: the agency account a transfer draws from holds
	// less than the amount ("The amount of money in the account is less
	// than what you are trying to transfer.").
	ErrInsufficientFunds = errors.New("mgid: insufficient funds in the agency account")
)

// Refusal classifies MGID's message of a refusal: ErrInvalidClient,
// ErrInsufficientFunds, or nil for wording it does not know. Besides the
// client's own errors it reads a message kept in the transfer journal.
func Refusal(msg string) error {
	switch msg = strings.ToLower(msg); {
	case strings.Contains(msg, "invalid client id"):
		return ErrInvalidClient
	case strings.Contains(msg, "less than what you are trying to transfer"):
		return ErrInsufficientFunds
	}
	return nil
}

// TransferResult is MGID's answer to a successful transfer.
type TransferResult struct {
	AgencyID       int64
	ClientID       int64
	Status         string
	AccountBalance money.Amount // the personal or bonus balance after the transfer
	ClientBalance  money.Amount // the client's wallet balance after the transfer
}

// Transfer moves amount from the agency's account wallet to the client's.
//
// MGID has no idempotency key, so the request is never resent once a
// connection was obtained: a failure after that (a cut connection, a 5xx, a
// 2xx we cannot read) satisfies errors.Is(err, providers.ErrMaybeSent) and
// must be reconciled (e.g. with Client's balance), not retried blindly. A
// refusal is a Permanent *providers.Error with the provider's Message;
// insufficient funds and "Invalid client id" are also ErrInsufficientFunds
// and ErrInvalidClient.
func (c *Client) Transfer(ctx context.Context, clientID int64, account AccountType, amount money.Amount) (TransferResult, error) {
	switch {
	case account != Personal && account != Bonus:
		return TransferResult{}, fmt.Errorf("mgid transfer: account type %q is neither personal nor bonus", account)
	case amount.Sign() <= 0:
		return TransferResult{}, fmt.Errorf("mgid transfer: amount %s is not positive", amount)
	case clientID <= 0:
		return TransferResult{}, fmt.Errorf("mgid transfer: client id %d is not valid", clientID)
	}
	id, err := c.AccountID(ctx)
	if err != nil {
		return TransferResult{}, err
	}
	op := fmt.Sprintf("transfer to client %d of agency %d", clientID, id)
	pathQuery := fmt.Sprintf("/v1/agencies/%d/clients/%d/money-transfers?account_type=%s&transfer_amount=%s", id, clientID, account, amount)

	var res TransferResult
	// authed logs in again and sends once more only after a 401 or an
	// "invalid token" answer: the provider refused the request before
	// applying it, so the resend cannot move the money twice. Anything that
	// may have been applied carries ErrMaybeSent, which authed never resends.
	err = c.authed(ctx, op, nil, func(s *session) error {
		var body []byte
		err := providers.DoOnce(ctx, c.hc, c.retry,
			func(ctx context.Context) (*http.Request, error) {
				return c.newRequest(ctx, http.MethodPost, pathQuery, s.token)
			},
			c.checkResponse(op),
			func(resp *http.Response) error {
				// Only read here: DoOnce marks a failed read as maybe sent.
				var err error
				body, err = c.readSmall(op, resp)
				return err
			})
		if err != nil {
			return err
		}
		res, err = c.transferAnswer(op, body, account)
		return err
	})
	if err != nil {
		c.logger(ctx).WarnContext(ctx, "mgid transfer failed", "agency_id", id, "client_id", clientID,
			"account_type", string(account), "amount", amount.String(), "err", err,
			"maybe_sent", errors.Is(err, providers.ErrMaybeSent))
		return TransferResult{}, err
	}
	if res.AgencyID == 0 {
		res.AgencyID = id
	}
	if res.ClientID == 0 {
		res.ClientID = clientID
	}
	c.logger(ctx).InfoContext(ctx, "mgid transfer done", "agency_id", id, "client_id", clientID,
		"account_type", string(account), "amount", amount.String(),
		"account_balance", res.AccountBalance.String(), "client_balance", res.ClientBalance.String())
	return res, nil
}

// transferAnswer reads a 2xx transfer answer. "success" wins over anything
// else in it, since calling an applied transfer refused could lead to paying
// twice. A body with "errors" is a refusal. Anything else (unreadable, an
// unknown status) may hide an applied transfer and says so.
func (c *Client) transferAnswer(op string, body []byte, account AccountType) (TransferResult, error) {
	var v struct {
		IDAuth   json.RawMessage `json:"idAuth"`
		ClientID json.RawMessage `json:"clientId"`
		Status   string          `json:"status"`
		Errors   json.RawMessage `json:"errors"`
		Personal money.Amount    `json:"personal_account"`
		Bonus    money.Amount    `json:"bonus_account"`
		Wallet   struct {
			Balance money.Amount `json:"balance"`
		} `json:"wallet"`
	}
	if err := json.Unmarshal(body, &v); err != nil {
		return TransferResult{}, c.malformed(op, http.StatusOK, fmt.Errorf("%w (%w)", err, providers.ErrMaybeSent))
	}
	if v.Status != "success" {
		if msg := joinMessages(v.Errors); msg != "" {
			return TransferResult{}, c.apiError(op, http.StatusOK, nil, msg)
		}
		return TransferResult{}, c.malformed(op, http.StatusOK, fmt.Errorf("status %q (%w)", v.Status, providers.ErrMaybeSent))
	}
	res := TransferResult{
		AgencyID:      lenientID(v.IDAuth),
		ClientID:      lenientID(v.ClientID),
		Status:        v.Status,
		ClientBalance: v.Wallet.Balance,
	}
	res.AccountBalance = v.Personal
	if account == Bonus {
		res.AccountBalance = v.Bonus
	}
	return res, nil
}

// lenientID reads an id from a successful transfer's answer; an unreadable
// one is 0 (the caller fills in the id it asked for) rather than turning an
// applied transfer into an error.
func lenientID(raw json.RawMessage) int64 {
	var id flexID
	if len(raw) == 0 || json.Unmarshal(raw, &id) != nil {
		return 0
	}
	return int64(id)
}
