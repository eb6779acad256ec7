package mgid

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"syncer/internal/money"
)

// ClientSpend is what one client spent over a period (goodhits, news and
// banners together), in the agency's currency.
type ClientSpend struct {
	ClientID int64
	Spent    money.Amount
}

type wireSpend struct {
	ID    flexID       `json:"id"`
	Spent money.Amount `json:"spent"`
}

const dateLayout = "2006-01-02"

// Spend streams each client's spend from dateStart to dateEnd (inclusive
// calendar dates, taken from each time as it is: pass them in the agency's
// zone) to fn. clientIDs narrows the report; empty means every client. As
// with Clients, fn's error stops the stream and is returned, a broken answer
// is asked for again after restart (nil: not once fn has received a row),
// and a client twice in the report is Malformed.
func (c *Client) Spend(ctx context.Context, dateStart, dateEnd time.Time, clientIDs []int64, restart func() error, fn func(ClientSpend) error) error {
	id, err := c.AccountID(ctx)
	if err != nil {
		return err
	}
	op := fmt.Sprintf("spend of agency %d", id)
	// Every character here is a digit, '-' or ',', so nothing needs escaping;
	// the spec writes clientsIds with bare commas.
	q := "dateStart=" + dateStart.Format(dateLayout) + "&dateEnd=" + dateEnd.Format(dateLayout)
	if len(clientIDs) > 0 {
		ids := make([]string, len(clientIDs))
		for i, v := range clientIDs {
			ids[i] = strconv.FormatInt(v, 10)
		}
		q += "&clientsIds=" + strings.Join(ids, ",")
	}
	delivered := false
	var seen idSet
	canRetry := func() bool { return !delivered || restart != nil }
	err = c.get(ctx, op, fmt.Sprintf("/v1/agencies/%d/clients-spent-reports?%s", id, q), func() bool { return !delivered },
		func(resp *http.Response) error {
			if delivered {
				if err := restart(); err != nil {
					return callerError{err}
				}
				delivered = false
			}
			seen.reset()
			return c.stream(op, resp, "clients-spent-reports", canRetry, func(dec **json.Decoder, br *bodyReader) error {
				return eachEntry(*dec, br, func(key string, w *wireSpend) error {
					cs, err := w.spend(key)
					if err != nil {
						return err
					}
					if !seen.add(cs.ClientID) {
						return fmt.Errorf("client %d is in the report twice", cs.ClientID)
					}
					delivered = true
					if err := fn(cs); err != nil {
						return callerError{err}
					}
					return nil
				})
			})
		})
	return unwrapCaller(err)
}

func (w *wireSpend) spend(key string) (ClientSpend, error) {
	id, err := entryID(w.ID, key)
	if err != nil {
		return ClientSpend{}, err
	}
	return ClientSpend{ClientID: id, Spent: w.Spent}, nil
}
