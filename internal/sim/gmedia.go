package sim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"
)

var (
	errGmediaUnauthorized = []byte(`{"message":"Unauthorized"}`)
	errGmediaBadInput     = []byte(`{"statusCode":400,"message":"Invalid data or not found"}`)
	errGmediaNotFound     = []byte(`{"statusCode":4000,"message":"No data found لا توجد بيانات"}`)
)

// gmediaPlatforms are the platforms CheckMawathoq accepts, lower-cased.
var gmediaPlatforms = map[string]bool{
	"snapchat": true, "twitter": true, "x": true, "tiktok": true,
	"youtube": true, "facebook": true, "instagram": true,
}

// gmediaToken: POST /gmedia/token. The spec's own sample spells the key
// "clienr_id", so both spellings are accepted.
func (s *Server) gmediaToken(w http.ResponseWriter, r *http.Request) {
	p := params(w, r, "client_id", "clienr_id", "client_secret", "grant_type")
	id := p["client_id"]
	if id == "" {
		id = p["clienr_id"]
	}
	if gt := p["grant_type"]; gt != "" && gt != "client_credentials" {
		writeRaw(w, http.StatusBadRequest, []byte(`{"error":"unsupported_grant_type"}`))
		return
	}
	if id != s.o.GmediaClientID || !secretEqual(p["client_secret"], s.o.GmediaClientSecret) {
		writeRaw(w, http.StatusUnauthorized, []byte(`{"error":"invalid_client"}`))
		return
	}
	writeJSON(w, http.StatusOK, oauthToken{
		AccessToken: s.issueToken(realmGmedia, 0, "gm-"),
		ExpiresIn:   s.ttlSeconds(),
		TokenType:   "Bearer",
	})
}

type oauthToken struct {
	AccessToken string `json:"access_token"`
	ExpiresIn   int64  `json:"expires_in"`
	TokenType   string `json:"token_type"`
}

// mawthoqCheck is a CheckMawathoq answer.
type mawthoqCheck struct {
	Status        string `json:"status"`
	LicenseNumber string `json:"licenseNumber"`
	ExpiryDate    string `json:"expiryDate"`
	Platform      string `json:"platform"`
	Account       string `json:"account"`
}

// gmediaCheck: POST /gmedia/CheckMawathoq with a JSON body, or GET with the
// same fields in the query.
func (s *Server) gmediaCheck(w http.ResponseWriter, r *http.Request) {
	if _, ok := s.bearer(r, realmGmedia); !ok {
		writeRaw(w, http.StatusUnauthorized, errGmediaUnauthorized)
		return
	}
	var req struct{ Platform, Account string }
	if r.Method == http.MethodGet {
		req.Platform, req.Account = r.URL.Query().Get("platform"), r.URL.Query().Get("account")
	} else if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody)).Decode(&req); err != nil {
		writeRaw(w, http.StatusBadRequest, errGmediaBadInput)
		return
	}
	platform := strings.ToLower(strings.TrimSpace(req.Platform))
	account := strings.TrimSpace(req.Account)
	if !gmediaPlatforms[platform] || !tenDigits(account) {
		writeRaw(w, http.StatusBadRequest, errGmediaBadInput)
		return
	}
	c, found := s.mawthoq(platform, account, s.now())
	if !found {
		writeRaw(w, http.StatusNotFound, errGmediaNotFound)
		return
	}
	writeJSON(w, http.StatusOK, c)
}

func tenDigits(s string) bool {
	if len(s) != 10 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// statusBucket is the StatusPeriod bucket of now.
func (s *Server) statusBucket(now time.Time) uint64 {
	return uint64(floorDiv(now.UnixNano(), int64(s.o.StatusPeriod)))
}

// mawthoq derives the licence of (platform, account): 10% are unknown; of the
// rest 70% are active, 20% expired, 10% suspended, and 30% of all accounts
// switch to another status in some StatusPeriod buckets and back in others.
// X and Twitter are the same platform.
func (s *Server) mawthoq(platform, account string, now time.Time) (mawthoqCheck, bool) {
	key := platform
	if key == "x" {
		key = "twitter"
	}
	h := hashString(hashString(s.o.Seed^saltMawthoq, key), account)
	if h%10 == 0 {
		return mawthoqCheck{}, false
	}
	var status string
	switch v := mix(h) % 10; {
	case v < 7:
		status = "active"
	case v < 9:
		status = "expired"
	default:
		status = "suspended"
	}
	if mix(h+1)%10 < 3 && hash2(h, s.statusBucket(now))%2 == 1 {
		if status == "active" {
			status = "suspended"
		} else {
			status = "active" // renewed, or reinstated
		}
	}
	// Fixed dates, not relative to now, so an unchanged licence reads the same
	// every time; a flip to expired moves the date into the past.
	expiry := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	if status == "expired" {
		expiry = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	expiry = expiry.AddDate(0, 0, int(mix(h+2)%700))
	return mawthoqCheck{
		Status:        status,
		LicenseNumber: fmt.Sprintf("M-%06d", mix(h+3)%1_000_000),
		ExpiryDate:    expiry.Format(time.DateOnly),
		Platform:      platform,
		Account:       account,
	}, true
}

// MawthoqStatus is the status CheckMawathoq answers for (platform, account)
// at a time ("" when not found), for tests in other packages.
func (s *Server) MawthoqStatus(platform, account string, at time.Time) string {
	c, _ := s.mawthoq(strings.ToLower(platform), account, at)
	return c.Status
}
