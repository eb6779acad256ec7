package sim_test

import (
	"fmt"
	"regexp"
	"testing"
	"time"

	"syncer/internal/sim"
)

const redeemBody = `{"deviceId":"dev-1","contentId":"c-1","contentTypeId":"vod","catalogType":"movie","delivery":"streaming"}`

func TestGmediaToken(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sim.Options{})
	const json, form = "application/json", "application/x-www-form-urlencoded"
	for _, tc := range []struct {
		name, contentType, body string
		status                  int
		want                    string
	}{
		{"client_id", json, `{"client_id":"sim-gmedia","client_secret":"sim-gmedia-secret","grant_type":"client_credentials"}`, 200, ""},
		{"clienr_id as in the spec", json, `{"clienr_id":"sim-gmedia","client_secret":"sim-gmedia-secret","grant_type":"client_credentials"}`, 200, ""},
		{"form", form, "client_id=sim-gmedia&client_secret=sim-gmedia-secret&grant_type=client_credentials", 200, ""},
		{"wrong secret", json, `{"client_id":"sim-gmedia","client_secret":"x","grant_type":"client_credentials"}`, 401, `{"error":"invalid_client"}`},
		{"unknown client", json, `{"client_id":"other","client_secret":"sim-gmedia-secret"}`, 401, `{"error":"invalid_client"}`},
		{"grant type", json, `{"client_id":"sim-gmedia","client_secret":"sim-gmedia-secret","grant_type":"password"}`, 400, `{"error":"unsupported_grant_type"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := e.do("POST", sim.PathGmediaToken, tc.body, "Content-Type", tc.contentType)
			if tc.want != "" {
				wantBody(t, a, tc.status, tc.want)
				return
			}
			var tok struct {
				AccessToken string `json:"access_token"`
				ExpiresIn   int    `json:"expires_in"`
				TokenType   string `json:"token_type"`
			}
			mustJSON(t, a.body, &tok)
			if a.status != 200 || tok.AccessToken == "" || tok.ExpiresIn != 3600 || tok.TokenType != "Bearer" {
				t.Fatalf("HTTP %d %s", a.status, a.body)
			}
		})
	}
}

type mawthoq struct {
	Status, LicenseNumber, ExpiryDate, Platform, Account string
}

func (e *env) check(token, body string) answer {
	return e.do("POST", sim.PathGmediaCheck, body, "Authorization", "Bearer "+token, "Content-Type", "application/json")
}

func TestGmediaCheck(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sim.Options{})
	tok := e.gmediaToken()
	var found, notFound int
	for k := 0; k < 100; k++ {
		account := fmt.Sprintf("10000%05d", k)
		a := e.check(tok, `{"platform":"TikTok","account":"`+account+`"}`)
		switch a.status {
		case 200:
			found++
			var m mawthoq
			mustJSON(t, a.body, &m)
			if (m.Status != "active" && m.Status != "expired" && m.Status != "suspended") || m.Account != account ||
				m.Platform != "tiktok" || !regexp.MustCompile(`^M-\d{6}$`).MatchString(m.LicenseNumber) {
				t.Fatalf("answer %s", a.body)
			}
			if _, err := time.Parse(time.DateOnly, m.ExpiryDate); err != nil {
				t.Fatalf("expiryDate: %v", err)
			}
			if g := e.do("GET", sim.PathGmediaCheck+"?platform=tiktok&account="+account, "", "Authorization", "Bearer "+tok); string(g.body) != string(a.body) {
				t.Fatalf("GET answered %s, POST %s", g.body, a.body)
			}
		case 404:
			notFound++
			wantBody(t, a, 404, `{"statusCode":4000,"message":"No data found لا توجد بيانات"}`)
		default:
			t.Fatalf("HTTP %d %s", a.status, a.body)
		}
	}
	if notFound < 3 || notFound > 25 {
		t.Fatalf("%d of 100 not found, want about 10", notFound)
	}
	for _, body := range []string{
		`{"platform":"myspace","account":"1000000001"}`,
		`{"platform":"tiktok","account":"123"}`,
		`{"platform":"tiktok","account":"10000000011"}`,
		`{"platform":"tiktok","account":"10000abcde"}`,
		`{"platform":"tiktok"}`,
		`{"account":"1000000001"}`,
		`not json`,
	} {
		wantBody(t, e.check(tok, body), 400, `{"statusCode":400,"message":"Invalid data or not found"}`)
	}
	wantBody(t, e.check("", `{"platform":"x","account":"1000000001"}`), 401, `{"message":"Unauthorized"}`)
	// A Firstlight token is not a Gmedia token.
	wantBody(t, e.check("sim-iam-token", `{"platform":"x","account":"1000000001"}`), 401, `{"message":"Unauthorized"}`)
}

// flips counts targets whose answer changed across buckets and those that
// changed and later came back to their first answer.
func flips(answers [][]string) (changed, back int) {
	for _, seq := range answers {
		moved := false
		for i, v := range seq {
			if v != seq[0] {
				moved = true
			} else if moved && i > 0 {
				back++
				break
			}
		}
		if moved {
			changed++
		}
	}
	return changed, back
}

func TestGmediaStatusChangesAcrossBuckets(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sim.Options{StatusPeriod: time.Hour, TokenTTL: 48 * time.Hour})
	tok := e.gmediaToken()
	answers := make([][]string, 60)
	for b := 0; b < 12; b++ {
		for k := range answers {
			a := e.check(tok, fmt.Sprintf(`{"platform":"snapchat","account":"20000%05d"}`, k))
			var m mawthoq
			mustJSON(t, a.body, &m)
			answers[k] = append(answers[k], fmt.Sprint(a.status, m.Status))
		}
		e.clock.Advance(time.Hour)
	}
	changed, back := flips(answers)
	if changed == 0 || back == 0 || changed == len(answers) {
		t.Fatalf("%d of %d changed, %d flipped back; want some of each and some stable", changed, len(answers), back)
	}
}

func (e *env) redeem(iam, userToken, tracking, body string) (answer, firstlightAnswer) {
	e.t.Helper()
	h := []string{"Content-Type", "application/json", "Authorization", "Bearer " + iam, "X-Authorization", userToken}
	if tracking != "" {
		h = append(h, "X-Tracking-Id", tracking)
	}
	a := e.do("POST", sim.PathFirstlightRedeem, body, h...)
	var fa firstlightAnswer
	mustJSON(e.t, a.body, &fa)
	return a, fa
}

type firstlightAnswer struct {
	Header struct {
		Source     string
		Code       int
		Message    string
		SystemTime int64  `json:"system_time"`
		TrackingID string `json:"tracking_id"`
		Errors     []struct{ Code, Description string }
	}
	Data struct{ Redeemable bool }
}

func redeemFor(device, content string) string {
	return fmt.Sprintf(`{"deviceId":%q,"contentId":%q,"contentTypeId":"VOD","catalogType":"movie","delivery":"streaming"}`, device, content)
}

func TestFirstlightRedeem(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sim.Options{})
	var ok, denied int
	for k := 0; k < 60; k++ {
		a, fa := e.redeem("sim-iam-token", "ut-user", fmt.Sprint("track-", k), redeemFor("dev-1", fmt.Sprint("content-", k)))
		if fa.Header.TrackingID != fmt.Sprint("track-", k) || a.header.Get("X-Tracking-Id") != fa.Header.TrackingID ||
			fa.Header.Source != "040-01" || fa.Header.SystemTime != start.UnixMilli() {
			t.Fatalf("header %+v", fa.Header)
		}
		switch a.status {
		case 200:
			ok++
			if fa.Header.Code != 0 || fa.Header.Message != "Success" || !fa.Data.Redeemable {
				t.Fatalf("answer %s", a.body)
			}
		case 403:
			denied++
			if fa.Header.Code != -1 || len(fa.Header.Errors) != 1 || fa.Header.Errors[0].Code != "40400140" {
				t.Fatalf("answer %s", a.body)
			}
		default:
			t.Fatalf("HTTP %d %s", a.status, a.body)
		}
	}
	if ok == 0 || denied == 0 {
		t.Fatalf("%d entitled, %d not; want both", ok, denied)
	}
	_, fa := e.redeem("sim-iam-token", "ut-user", "", redeemBody)
	if !regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`).MatchString(fa.Header.TrackingID) {
		t.Fatalf("generated tracking id %q", fa.Header.TrackingID)
	}

	valid := `"deviceId":"d","contentId":"c","contentTypeId":"live","catalogType":"channel","delivery":"download"`
	for _, tc := range []struct {
		name, iam, userToken, body string
		status                     int
		code                       string
	}{
		{"no user token", "sim-iam-token", "", redeemBody, 401, "40400101"},
		{"user token without ut-", "sim-iam-token", "user", redeemBody, 401, "40400101"},
		{"content id", "sim-iam-token", "ut-u", `{` + valid + `,"contentId":""}`, 400, "40400103"},
		{"device id", "sim-iam-token", "ut-u", `{"contentId":"c","contentTypeId":"vod","catalogType":"movie","delivery":"streaming"}`, 400, "40400104"},
		{"content type", "sim-iam-token", "ut-u", `{` + valid + `,"contentTypeId":"film"}`, 400, "40400105"},
		{"catalog type", "sim-iam-token", "ut-u", `{` + valid + `,"catalogType":"cartoon"}`, 400, "40400106"},
		{"delivery", "sim-iam-token", "ut-u", `{` + valid + `,"delivery":"post"}`, 400, "40400107"},
		{"not json", "sim-iam-token", "ut-u", `{`, 400, "40400120"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, fa := e.redeem(tc.iam, tc.userToken, "t-1", tc.body)
			if a.status != tc.status || fa.Header.Code != -1 || fa.Header.Message != "Failure" || fa.Header.TrackingID != "t-1" ||
				len(fa.Header.Errors) != 1 || fa.Header.Errors[0].Code != tc.code || fa.Header.Errors[0].Description == "" {
				t.Fatalf("HTTP %d %s, want %d code %s", a.status, a.body, tc.status, tc.code)
			}
		})
	}
}

// A refused IAM token is told apart from a refused user token: 401 without
// the spec's 40400101, which names X-Authorization.
func TestFirstlightBadIAMHasNoUserCode(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sim.Options{})
	a, fa := e.redeem("nope", "ut-user", "t-1", redeemBody)
	if a.status != 401 || fa.Header.Code != -1 || len(fa.Header.Errors) != 0 || fa.Header.TrackingID != "t-1" {
		t.Fatalf("HTTP %d %s, want 401 without error codes", a.status, a.body)
	}
}

func TestFirstlightEntitlementChangesAcrossBuckets(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sim.Options{StatusPeriod: 30 * time.Minute})
	answers := make([][]string, 80)
	for b := 0; b < 12; b++ {
		for k := range answers {
			a, _ := e.redeem("sim-iam-token", "ut-u", "", redeemFor(fmt.Sprint("dev-", k), "content-9"))
			answers[k] = append(answers[k], fmt.Sprint(a.status))
		}
		e.clock.Advance(30 * time.Minute)
	}
	changed, back := flips(answers)
	if changed == 0 || back == 0 || changed == len(answers) {
		t.Fatalf("%d of %d changed, %d flipped back; want some of each and some stable", changed, len(answers), back)
	}
	if got := e.sim.Requests(sim.EndpointFirstlightRedeem); got != 12*80 {
		t.Fatalf("Requests = %d, want %d", got, 12*80)
	}
}
