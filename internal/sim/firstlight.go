package sim

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"
)

// Firstlight error codes (spec, "Error Codes").
const (
	codeInvalidXAuth    = "40400101"
	codeContentID       = "40400103"
	codeDeviceID        = "40400104"
	codeContentType     = "40400105"
	codeCatalogType     = "40400106"
	codeDelivery        = "40400107"
	codeContentMetadata = "40400120"
	codeNotEntitled     = "40400140"
	codeSystemFailure   = "40400190"
)

var firstlightDescriptions = map[string]string{
	codeInvalidXAuth:    "Invalid X-Authorization",
	codeContentID:       "Missing or invalid content identifier",
	codeDeviceID:        "Missing or invalid device identifier",
	codeContentType:     "Missing or invalid content type identifier",
	codeCatalogType:     "Missing or invalid catalog type",
	codeDelivery:        "Missing or invalid delivery type",
	codeContentMetadata: "Invalid content metadata",
	codeNotEntitled:     "Not entitled to redeem",
	codeSystemFailure:   "System failure",
}

var (
	contentTypes = map[string]bool{"live": true, "vod": true}
	catalogTypes = map[string]bool{
		"movie": true, "tvepisode": true, "channel": true, "sportliveevent": true,
		"webepisode": true, "shortvideo": true, "trailer": true, "sportshow": true,
		"sportevent": true, "sporthighlight": true, "sportclip": true,
	}
	deliveries = map[string]bool{"streaming": true, "download": true}
)

const firstlightSource = "040-01"

type firstlightHeader struct {
	Source     string            `json:"source"`
	Code       int               `json:"code"`
	Message    string            `json:"message"`
	SystemTime int64             `json:"system_time"`
	TrackingID string            `json:"tracking_id"`
	Errors     []firstlightError `json:"errors,omitempty"`
}

type firstlightError struct {
	Code        string `json:"code"`
	Description string `json:"description"`
}

type firstlightAnswer struct {
	Header firstlightHeader `json:"header"`
	Data   *struct {
		Redeemable bool `json:"redeemable"`
	} `json:"data,omitempty"`
}

// trackingID echoes the caller's X-Tracking-Id or, as the spec says, makes one.
func trackingID(w http.ResponseWriter, r *http.Request) string {
	id := r.Header.Get("X-Tracking-Id")
	if id == "" {
		id = newUUID()
	}
	w.Header().Set("X-Tracking-Id", id)
	return id
}

// firstlightFailure answers the spec's error envelope with one error.
func (s *Server) firstlightFailure(w http.ResponseWriter, r *http.Request, status int, code string) {
	writeJSON(w, status, firstlightAnswer{Header: firstlightHeader{
		Source:     firstlightSource,
		Code:       -1,
		Message:    "Failure",
		SystemTime: s.now().UnixMilli(),
		TrackingID: trackingID(w, r),
		Errors:     []firstlightError{{Code: code, Description: firstlightDescriptions[code]}},
	}})
}

// firstlightToken: POST /firstlight/token, client credentials as a form or JSON.
func (s *Server) firstlightToken(w http.ResponseWriter, r *http.Request) {
	p := params(w, r, "client_id", "client_secret", "grant_type")
	if gt := p["grant_type"]; gt != "" && gt != "client_credentials" {
		writeRaw(w, http.StatusBadRequest, []byte(`{"error":"unsupported_grant_type"}`))
		return
	}
	if p["client_id"] != s.o.FirstlightClientID || !secretEqual(p["client_secret"], s.o.FirstlightClientSecret) {
		writeRaw(w, http.StatusUnauthorized, []byte(`{"error":"invalid_client"}`))
		return
	}
	writeJSON(w, http.StatusOK, oauthToken{
		AccessToken: s.issueToken(realmFirstlight, 0, "fl-"),
		ExpiresIn:   s.ttlSeconds(),
		TokenType:   "Bearer",
	})
}

// iamAuthorized accepts the static IAM token or a live issued one.
func (s *Server) iamAuthorized(r *http.Request) bool {
	raw, ok := bearerValue(r.Header.Get("Authorization"))
	if !ok {
		return false
	}
	if secretEqual(raw, s.o.FirstlightIAMToken) {
		return true
	}
	_, ok = s.bearer(r, realmFirstlight)
	return ok
}

// firstlightRedeem: POST /media/content/checkredeem. Enum values are matched
// case-insensitively; the first invalid field decides the error code.
func (s *Server) firstlightRedeem(w http.ResponseWriter, r *http.Request) {
	if !s.iamAuthorized(r) {
		// The gateway refuses the Authorization header before the service
		// sees the request: a 401 without the spec's error codes, which
		// are all about the request itself (40400101 is X-Authorization).
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		writeJSON(w, http.StatusUnauthorized, firstlightAnswer{Header: firstlightHeader{
			Source: firstlightSource, Code: -1, Message: "Unauthorized",
			SystemTime: s.now().UnixMilli(), TrackingID: trackingID(w, r),
		}})
		return
	}
	if ut := r.Header.Get("X-Authorization"); !strings.HasPrefix(ut, "ut-") || len(ut) == len("ut-") {
		s.firstlightFailure(w, r, http.StatusUnauthorized, codeInvalidXAuth)
		return
	}
	var req struct {
		DeviceID      string `json:"deviceId"`
		ContentID     string `json:"contentId"`
		ContentTypeID string `json:"contentTypeId"`
		CatalogType   string `json:"catalogType"`
		Delivery      string `json:"delivery"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody)).Decode(&req); err != nil {
		s.firstlightFailure(w, r, http.StatusBadRequest, codeContentMetadata)
		return
	}
	var bad string
	switch {
	case !validIdentifier(req.ContentID):
		bad = codeContentID
	case !validIdentifier(req.DeviceID):
		bad = codeDeviceID
	case !contentTypes[strings.ToLower(req.ContentTypeID)]:
		bad = codeContentType
	case !catalogTypes[strings.ToLower(req.CatalogType)]:
		bad = codeCatalogType
	case !deliveries[strings.ToLower(req.Delivery)]:
		bad = codeDelivery
	}
	if bad != "" {
		s.firstlightFailure(w, r, http.StatusBadRequest, bad)
		return
	}
	now := s.now()
	if !s.entitled(req.DeviceID, req.ContentID, now) {
		s.firstlightFailure(w, r, http.StatusForbidden, codeNotEntitled)
		return
	}
	ans := firstlightAnswer{Header: firstlightHeader{
		Source:     firstlightSource,
		Code:       0,
		Message:    "Success",
		SystemTime: now.UnixMilli(),
		TrackingID: trackingID(w, r),
	}}
	ans.Data = &struct {
		Redeemable bool `json:"redeemable"`
	}{Redeemable: true}
	writeJSON(w, http.StatusOK, ans)
}

func validIdentifier(v string) bool {
	return strings.TrimSpace(v) != "" && len(v) <= 256
}

// entitled derives whether a device may redeem content: 70% of pairs always
// may, 15% never may, and 15% flip between StatusPeriod buckets.
func (s *Server) entitled(deviceID, contentID string, now time.Time) bool {
	h := hashString(hashString(s.o.Seed^saltRedeem, deviceID), contentID)
	switch v := h % 100; {
	case v < 70:
		return true
	case v < 85:
		return false
	}
	return hash2(h, s.statusBucket(now))%2 == 0
}

// Entitled is what checkredeem answers for (deviceId, contentId) at a time,
// for tests in other packages.
func (s *Server) Entitled(deviceID, contentID string, at time.Time) bool {
	return s.entitled(deviceID, contentID, at)
}
