package tracked

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"

	"syncer/internal/providers/firstlight"
	"syncer/internal/store"
)

// FirstlightRedeemer is what a redeem check needs of the Firstlight client.
type FirstlightRedeemer interface {
	CheckRedeem(ctx context.Context, req firstlight.Request, userToken string) (firstlight.Result, error)
}

// CodeTokenRefUnresolved is recorded when a target's user token reference
// resolves to nothing at run time.
const CodeTokenRefUnresolved = "token_ref_unresolved"

// FirstlightTarget is a tracked redeem check: what `track add` and import take.
type FirstlightTarget struct {
	Name         string `json:"-"`
	DeviceID     string `json:"device_id"`
	ContentID    string `json:"content_id"`
	ContentType  string `json:"content_type"`
	CatalogType  string `json:"catalog_type"`
	Delivery     string `json:"delivery"`
	UserTokenRef string `json:"user_token_ref"`
}

// Validate checks t against the spec's enums (case-sensitive, as listed)
// and the shape of its name and token reference. It does not resolve the
// reference; see UserTokens.Resolve.
func (t FirstlightTarget) Validate() error {
	if err := checkText("name", t.Name, 128, true); err != nil {
		return err
	}
	if strings.TrimSpace(t.Name) != t.Name {
		return errors.New("name has leading or trailing spaces")
	}
	for _, f := range []struct{ what, v string }{{"device id", t.DeviceID}, {"content id", t.ContentID}} {
		if err := checkText(f.what, f.v, 1024, true); err != nil {
			return err
		}
		if strings.TrimSpace(f.v) == "" {
			return fmt.Errorf("%s is blank", f.what)
		}
	}
	for _, f := range []struct {
		what, v string
		allowed []string
	}{
		{"content type", t.ContentType, firstlight.ContentTypes},
		{"catalog type", t.CatalogType, firstlight.CatalogTypes},
		{"delivery", t.Delivery, firstlight.Deliveries},
	} {
		if !slices.Contains(f.allowed, f.v) {
			return fmt.Errorf("%s %q is not allowed: want one of %s", f.what, cut(f.v, 32), strings.Join(f.allowed, ", "))
		}
	}
	if err := ValidTokenRef(t.UserTokenRef); err != nil {
		return err
	}
	return t.request().Validate()
}

func (t FirstlightTarget) request() firstlight.Request {
	return firstlight.Request{DeviceID: t.DeviceID, ContentID: t.ContentID, ContentTypeID: t.ContentType, CatalogType: t.CatalogType, Delivery: t.Delivery}
}

// Input is the row to store for a valid t. It holds the reference's name,
// never a token.
func (t FirstlightTarget) Input() store.TargetInput {
	params, _ := json.Marshal(t)
	return store.TargetInput{Key: t.Name, Params: params}
}

// FirstlightParams reads a stored target's fields (all but the name).
func FirstlightParams(params json.RawMessage) FirstlightTarget {
	var t FirstlightTarget
	_ = json.Unmarshal(params, &t)
	return t
}

var tokenRefRE = regexp.MustCompile(`^[A-Za-z0-9_]{1,64}$`)

// ValidTokenRef checks a user token reference's name: it becomes part of an
// environment variable's name and a file name, so nothing but [A-Za-z0-9_].
func ValidTokenRef(ref string) error {
	if !tokenRefRE.MatchString(ref) {
		return fmt.Errorf("user token reference %q: want 1 to 64 of A-Z, a-z, 0-9 and _", cut(ref, 64))
	}
	return nil
}

// UserTokens resolves user token references: the environment variable
// FIRSTLIGHT_USER_TOKEN_<REF> first, then the file <Dir>/<REF>.
type UserTokens struct {
	Getenv func(string) string // nil: no environment
	Dir    string              // "" : no directory
}

// maxTokenFile bounds what is read of a token file.
const maxTokenFile = 64 << 10

// ErrTokenRefUnresolved: neither the variable nor the file holds a token.
var ErrTokenRefUnresolved = errors.New("does not resolve")

// Resolve returns the user token for ref. Its errors name the reference and
// where it was looked for, never a token.
func (u UserTokens) Resolve(ref string) (string, error) {
	if err := ValidTokenRef(ref); err != nil {
		return "", err
	}
	env := "FIRSTLIGHT_USER_TOKEN_" + ref
	if u.Getenv != nil {
		if v := strings.TrimSpace(u.Getenv(env)); v != "" {
			return checkToken(ref, v)
		}
	}
	if u.Dir != "" {
		f, err := os.Open(filepath.Join(u.Dir, ref))
		if err == nil {
			b, rerr := io.ReadAll(io.LimitReader(f, maxTokenFile+1))
			f.Close()
			switch {
			case rerr != nil:
				return "", fmt.Errorf("user token reference %s: reading %s: %v", ref, filepath.Join(u.Dir, ref), rerr)
			case len(b) > maxTokenFile:
				return "", fmt.Errorf("user token reference %s: %s is over %d bytes", ref, filepath.Join(u.Dir, ref), maxTokenFile)
			}
			if v := strings.TrimSpace(string(b)); v != "" {
				return checkToken(ref, v)
			}
		} else if !errors.Is(err, os.ErrNotExist) {
			return "", fmt.Errorf("user token reference %s: %w", ref, err)
		}
	}
	where := env
	if u.Dir != "" {
		where += " or the file " + filepath.Join(u.Dir, ref)
	} else {
		where += " (or a file " + ref + " in FIRSTLIGHT_USER_TOKEN_DIR)"
	}
	return "", fmt.Errorf("user token reference %s %w: set %s", ref, ErrTokenRefUnresolved, where)
}

// checkToken refuses a token that cannot be sent as a header value; the
// message says so without showing it.
func checkToken(ref, v string) (string, error) {
	if strings.IndexFunc(v, unicode.IsControl) >= 0 {
		return "", fmt.Errorf("user token reference %s: the token holds a control character", ref)
	}
	return v, nil
}

// ImportFirstlight reads a CSV with the header
// name,device_id,content_id,content_type,catalog_type,delivery,user_token_ref
// and validates every row, including that its reference resolves now.
func ImportFirstlight(r io.Reader, tokens UserTokens) (TargetImport, error) {
	cols := []string{"name", "device_id", "content_id", "content_type", "catalog_type", "delivery", "user_token_ref"}
	resolved := map[string]error{}
	return importTargets(r, cols, nil, func(row csvRow) (store.TargetInput, error) {
		f := row.fields
		t := FirstlightTarget{Name: strings.TrimSpace(f["name"]), DeviceID: f["device_id"], ContentID: f["content_id"],
			ContentType: strings.TrimSpace(f["content_type"]), CatalogType: strings.TrimSpace(f["catalog_type"]),
			Delivery: strings.TrimSpace(f["delivery"]), UserTokenRef: strings.TrimSpace(f["user_token_ref"])}
		if err := t.Validate(); err != nil {
			return store.TargetInput{}, err
		}
		err, seen := resolved[t.UserTokenRef]
		if !seen {
			_, err = tokens.Resolve(t.UserTokenRef)
			resolved[t.UserTokenRef] = err
		}
		if err != nil {
			return store.TargetInput{}, err
		}
		return t.Input(), nil
	})
}

type tokenLookup struct {
	token string
	err   error
}

// FirstlightChecker checks redeem targets with Firstlight. Make one per
// round (NewFirstlightChecker): it reads each token reference once, so a
// rotated token is seen the next round.
type FirstlightChecker struct {
	fl     FirstlightRedeemer
	tokens UserTokens
	now    func() time.Time

	mu    sync.Mutex
	cache map[string]tokenLookup
}

// NewFirstlightChecker is a checker for one round.
func NewFirstlightChecker(fl FirstlightRedeemer, tokens UserTokens, now func() time.Time) *FirstlightChecker {
	return &FirstlightChecker{fl: fl, tokens: tokens, now: nowFunc(now), cache: map[string]tokenLookup{}}
}

func (c *FirstlightChecker) token(ref string) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	l, ok := c.cache[ref]
	if !ok {
		l.token, l.err = c.tokens.Resolve(ref)
		c.cache[ref] = l
	}
	return l.token, l.err
}

// Check asks Firstlight about one target; a reference that does not resolve
// is recorded as auth_failed with code token_ref_unresolved, without a request.
func (c *FirstlightChecker) Check(ctx context.Context, t store.ClaimedTarget) (store.CheckResult, error) {
	p := FirstlightParams(t.Params)
	tok, err := c.token(p.UserTokenRef)
	if err != nil {
		return store.CheckResult{TargetID: t.ID, Outcome: store.Outcome(firstlight.AuthFailed), Code: CodeTokenRefUnresolved,
			Message: err.Error(), CheckedAt: c.now()}, nil
	}
	res, err := c.fl.CheckRedeem(ctx, p.request(), tok)
	if err != nil {
		return store.CheckResult{}, err
	}
	out := store.CheckResult{
		TargetID:   t.ID,
		Outcome:    store.Outcome(res.Outcome),
		Code:       res.Code,
		Message:    res.Description,
		HTTPStatus: res.HTTPStatus,
		CheckedAt:  c.now(),
	}
	if res.TrackingID != "" {
		out.Detail, _ = json.Marshal(map[string]string{"tracking_id": res.TrackingID})
	}
	return out, nil
}
