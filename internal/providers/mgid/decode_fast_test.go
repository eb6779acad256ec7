package mgid

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"syncer/internal/sim"
)

// sameAsEncodingJSON fails t unless wireClient's decoder (the hand-written
// fast path and its fallback) makes of raw exactly what encoding/json
// makes of it: the same fields, or an error with the same text.
func sameAsEncodingJSON(t *testing.T, raw []byte) {
	t.Helper()
	var got wireClient
	gotErr := json.Unmarshal(raw, &got)
	var want wirePlain
	wantErr := json.Unmarshal(raw, &want)
	if (gotErr == nil) != (wantErr == nil) || (gotErr != nil && gotErr.Error() != wantErr.Error()) {
		t.Fatalf("%s: error %v, encoding/json says %v", raw, gotErr, wantErr)
	}
	if gotErr == nil && !reflect.DeepEqual(wirePlain(got), want) {
		t.Fatalf("%s: decoded %+v, encoding/json %+v", raw, got, want)
	}
}

// specEntries are the entries of the spec's list bodies (testdata).
func specEntries(t testing.TB) [][]byte {
	var out [][]byte
	for _, name := range []string{"clients_array.json", "clients_map.json"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		var v struct{ Clients json.RawMessage }
		if err := json.Unmarshal(b, &v); err != nil {
			t.Fatal(err)
		}
		var list []json.RawMessage
		if json.Unmarshal(v.Clients, &list) != nil {
			var m map[string]json.RawMessage
			if err := json.Unmarshal(v.Clients, &m); err != nil {
				t.Fatal(err)
			}
			for _, e := range m {
				list = append(list, e)
			}
		}
		for _, e := range list {
			out = append(out, e)
		}
	}
	b, err := os.ReadFile(filepath.Join("testdata", "client.json"))
	if err != nil {
		t.Fatal(err)
	}
	return append(out, b)
}

// oddEntries are shapes the fast path declines or must get right.
var oddEntries = []string{
	`null`, `{}`, `[]`, `{"id":null}`, `{"id":-5}`, `{"id":"-5"}`, `{"id":" 7 "}`, `{"id":1.0}`, `{"id":1e3}`,
	`{"id":99999999999999999999}`, `{"id":"7","id":8}`, `{"ID":7}`, `{"Id":7,"id":8}`, `{"iD":7}`,
	`{"id":7,"email":"a\u0000b"}`, `{"id":7,"email":"caf\u00e9"}`, `{"id":7,"email":"café"}`, "{\"id\":7,\"email\":\"a\xffb\"}",
	`{"id":7,"email":null}`, `{"id":7,"email":5}`, `{"id":7,"EMAIL":"x"}`, `{"id":7,"email":""}`,
	`{"id":7,"wallet":null}`, `{"id":7,"wallet":{}}`, `{"id":7,"wallet":[]}`, `{"id":7,"wallet":5}`,
	`{"id":7,"wallet":{"balance":null}}`, `{"id":7,"wallet":{"credit":null}}`, `{"id":7,"wallet":{"credit":"1","credit":null}}`,
	`{"id":7,"wallet":{"balance":"1.23456"}}`, `{"id":7,"wallet":{"balance":"abc"}}`, `{"id":7,"wallet":{"balance":" 1.5 "}}`,
	`{"id":7,"wallet":{"balance":"1e2"}}`, `{"id":7,"wallet":{"balance":-1.5E-1}}`, `{"id":7,"wallet":{"balance":true}}`,
	`{"id":7,"wallet":{"Balance":"1"}}`, `{"id":7,"wallet":{"balance":"1"},"wallet":{"income":"2"}}`,
	`{"id":7,"wallet":{"credit":"1"},"wallet":{"balance":"2"}}`, `{"id":7,"wallet":{"balance":"99999999999999"}}`,
	`{"id":7,"wallet":{"balance":"100000000000000"}}`, `{"id":7,"wallet":{"other":{"a":[1,"}",{"b":"\""}]},"income":"3"}}`,
	`{"x":"\\","id":7,"y":[],"z":{},"w":true,"v":null,"u":-1.5e3}`, ` { "id" : 7 , "email" : "e" } `,
	`{"id":7,"emaıl":"x"}`, `{"id":7,"\u0069d":8}`, `{"id":7,"wallet":{"income":"1","bal\u0061nce":"2"}}`,
}

func TestClientEntryDecodeMatchesEncodingJSON(t *testing.T) {
	t.Parallel()
	for _, raw := range specEntries(t) {
		sameAsEncodingJSON(t, raw)
	}
	for _, raw := range oddEntries {
		sameAsEncodingJSON(t, []byte(raw))
	}
}

// The simulator's entries are the shape MGID sends: every one must take
// the fast path (or the speed is gone) and decode as encoding/json does.
func TestClientEntryFastPathTakesTheSimulatorsEntries(t *testing.T) {
	t.Parallel()
	body := simClientsBody(t, 2000)
	var v struct{ Clients []json.RawMessage }
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatal(err)
	}
	if len(v.Clients) != 2000 {
		t.Fatalf("%d entries", len(v.Clients))
	}
	for _, raw := range v.Clients {
		var w wireClient
		if !fastClient(raw, &w) {
			t.Fatalf("fast path declined %s", raw)
		}
		sameAsEncodingJSON(t, raw)
	}
}

func simClientsBody(t testing.TB, n int) []byte {
	srv := httptest.NewServer(sim.New(sim.Options{Clients: n}))
	defer srv.Close()
	resp, err := http.Post(srv.URL+"/v1/auth/agencies-token", "application/x-www-form-urlencoded", strings.NewReader("login=demo-agency&password=demo-password"))
	if err != nil {
		t.Fatal(err)
	}
	var login struct {
		Token     string
		AccountID string
	}
	err = json.NewDecoder(resp.Body).Decode(&login)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("GET", srv.URL+"/v1/agencies/"+login.AccountID+"/clients", nil)
	req.Header.Set("Authorization", "Bearer "+login.Token)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		t.Fatal(resp.StatusCode, err)
	}
	return body
}

// FuzzClientEntry: any valid JSON value decodes as encoding/json decodes it.
// `go test -run '^$' -fuzz FuzzClientEntry ./internal/providers/mgid`.
func FuzzClientEntry(f *testing.F) {
	for _, raw := range specEntries(f) {
		f.Add(raw)
	}
	for _, raw := range oddEntries {
		f.Add([]byte(raw))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		if !json.Valid(raw) {
			return // the decoder hands UnmarshalJSON checked JSON only
		}
		sameAsEncodingJSON(t, raw)
	})
}
