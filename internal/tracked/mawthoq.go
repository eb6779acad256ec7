package tracked

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"strings"
	"time"

	"syncer/internal/providers/gmedia"
	"syncer/internal/store"
)

// GmediaChecker is what a Mawthoq check needs of the Gmedia client.
type GmediaChecker interface {
	Check(ctx context.Context, platform, account string) (gmedia.Result, error)
}

// MawthoqTarget is a tracked account: what `track add` and import take.
type MawthoqTarget struct {
	Platform string
	Account  string
	Label    string
}

// mawthoqParams is the target's params in the database.
type mawthoqParams struct {
	Platform string `json:"platform"`
	Account  string `json:"account"`
}

// Normalize validates t as Gmedia would (platform, national ID or iqama)
// and returns it with the platform in Gmedia's spelling. Errors never
// contain the account number.
func (t MawthoqTarget) Normalize() (MawthoqTarget, error) {
	p, err := gmedia.NormalizePlatform(t.Platform)
	if err != nil {
		return t, err
	}
	if err := gmedia.ValidateAccount(t.Account); err != nil {
		return t, err
	}
	if err := checkText("label", t.Label, 200, false); err != nil {
		return t, err
	}
	t.Platform = p
	return t, nil
}

// Key is the target's natural key.
func (t MawthoqTarget) Key() string { return t.Platform + ":" + t.Account }

// Input is the row to store for a normalized t: the account's keyed hash
// is computed here so the key never reaches the database.
func (t MawthoqTarget) Input(hashKey []byte) store.TargetInput {
	params, _ := json.Marshal(mawthoqParams{Platform: t.Platform, Account: t.Account})
	return store.TargetInput{Key: t.Key(), Params: params, Label: t.Label, SubjectHash: AccountHash(hashKey, t.Account)}
}

// AccountHash is the stable keyed hash of an account shown in the bi views
// for joins: HMAC-SHA256 under SYNCER_HASH_KEY, hex. Without the key nobody
// can hash all ten-digit numbers to reverse it.
func AccountHash(key []byte, account string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(account))
	return hex.EncodeToString(m.Sum(nil))
}

// MaskAccount shows only the last four digits: ******0008.
func MaskAccount(account string) string {
	if len(account) <= 4 {
		return strings.Repeat("*", len(account))
	}
	return strings.Repeat("*", len(account)-4) + account[len(account)-4:]
}

// MawthoqAccount reads the platform and account of a stored target.
func MawthoqAccount(params json.RawMessage) (platform, account string) {
	var p mawthoqParams
	_ = json.Unmarshal(params, &p)
	return p.Platform, p.Account
}

// ImportMawthoq reads a CSV with the header platform,account,label (label
// optional) and validates every row.
func ImportMawthoq(r io.Reader, hashKey []byte) (TargetImport, error) {
	return importTargets(r, []string{"platform", "account"}, []string{"label"}, func(row csvRow) (store.TargetInput, error) {
		t, err := MawthoqTarget{
			Platform: row.fields["platform"],
			Account:  strings.TrimSpace(row.fields["account"]),
			Label:    strings.TrimSpace(row.fields["label"]),
		}.Normalize()
		if err != nil {
			return store.TargetInput{}, err
		}
		return t.Input(hashKey), nil
	})
}

// MawthoqChecker checks Mawthoq targets with Gmedia. A message that echoes
// the account number is masked before it is recorded.
type MawthoqChecker struct {
	Gmedia GmediaChecker
	Now    func() time.Time
}

// Check asks Gmedia about one target.
func (c MawthoqChecker) Check(ctx context.Context, t store.ClaimedTarget) (store.CheckResult, error) {
	platform, account := MawthoqAccount(t.Params)
	res, err := c.Gmedia.Check(ctx, platform, account)
	if err != nil {
		return store.CheckResult{}, err
	}
	out := store.CheckResult{
		TargetID:   t.ID,
		Outcome:    store.Outcome(res.Outcome),
		Status:     res.Status,
		Code:       res.Code,
		HTTPStatus: res.HTTPStatus,
		Detail:     res.Payload,
		CheckedAt:  nowFunc(c.Now)(),
	}
	// The message reaches the bi views: a provider that echoes the number
	// must not put it there.
	out.Message = res.Message
	if account != "" {
		out.Message = strings.ReplaceAll(out.Message, account, MaskAccount(account))
	}
	return out, nil
}

func nowFunc(f func() time.Time) func() time.Time {
	if f != nil {
		return f
	}
	return time.Now
}
