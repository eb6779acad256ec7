package mgid

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"

	"syncer/internal/providers"
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
			// clientList hands fastClient unchecked bytes: it must decline.
			if fastClient(raw, &wireClient{}) {
				t.Fatalf("fast path took %q, which is not JSON", raw)
			}
			return
		}
		sameAsEncodingJSON(t, raw)
	})
}

// listOutcome is what a clients answer comes to: the entries delivered, and
// the failure's kind and whether it is retried as unreadable.
type listOutcome struct {
	entries    []ClientWallet
	failed     bool
	kind       providers.Kind
	unreadable bool
	msg        string
}

// decodeList runs body through Client.stream as Clients does, with the
// hand-written list reader (clientList) or, as reference, the Decoder path
// it replaced (eachEntry over encoding/json).
// With oneByte the body arrives a byte a read (every cut a network can make);
// a body over 4 KiB (the limit cases) arrives 61 bytes a read instead: a
// byte a read costs those 130 KiB bodies 100 s under -race, and reads of an
// odd size still cut every token somewhere.
func decodeList(body []byte, reference, oneByte bool) listOutcome {
	c := New("http://127.0.0.1:0", "l", "p")
	var r io.Reader = bytes.NewReader(body)
	switch {
	case oneByte && len(body) > 4<<10:
		r = &chunkReader{r: r, n: 61}
	case oneByte:
		r = iotest.OneByteReader(r)
	}
	resp := &http.Response{StatusCode: 200, Body: io.NopCloser(r)}
	var out listOutcome
	add := func(key string, w *wireClient) error {
		cw, err := w.wallet(key)
		if err != nil {
			return err
		}
		out.entries = append(out.entries, cw)
		return nil
	}
	err := c.stream("clients", resp, "clients", func() bool { return true }, func(dec **json.Decoder, br *bodyReader) error {
		if reference {
			return eachEntry(*dec, br, func(key string, w *wirePlain) error { return add(key, (*wireClient)(w)) })
		}
		return clientList(dec, br, add)
	})
	if err != nil {
		var pe *providers.Error
		out.failed = true
		if errors.As(err, &pe) {
			out.kind, out.msg = pe.Kind, pe.Message
		}
		out.unreadable = errors.Is(err, providers.ErrUnreadable)
	}
	return out
}

// chunkReader returns at most n bytes a read.
type chunkReader struct {
	r io.Reader
	n int
}

func (c *chunkReader) Read(p []byte) (int, error) {
	if len(p) > c.n {
		p = p[:c.n]
	}
	return c.r.Read(p)
}

func sameListOutcome(t *testing.T, body []byte) {
	t.Helper()
	want := decodeList(body, true, false)
	for _, oneByte := range []bool{false, true} {
		if got := decodeList(body, false, oneByte); !reflect.DeepEqual(got, want) {
			t.Fatalf("%q (a byte a read: %v):\n got %+v\nwant %+v", body, oneByte, got, want)
		}
	}
}

var oddBodies = []string{
	`{"clients":[]}`, `{"clients":{}}`, `{"clients":null}`, `{"clients":5}`, `{"clients":"x"}`, `{"clients":tru}`,
	`{"clients":[{"id":1}],"total":1}`, `{"total":1,"clients":[{"id":1}]}`, `{"clients":[{"id":1}],"errors":"no"}`,
	`{"clients" : [ {"id":1} , {"id":2} ] , "x":{"y":[1,2]} }`, `{"clients":[{"id":1} {"id":2}]}`, `{"clients":[{"id":1},]}`,
	`{"clients":[,{"id":1}]}`, `{"clients":[{"id":1}`, `{"clients":[{"id":1},`, `{"clients":[{"id":"1`, `{"clients":[{"id":1]}`,
	`{"clients":{"5":{"email":"a"},"6":{"id":7}}}`, `{"clients":{"5" {"email":"a"}}}`, `{"clients":{5:{}}}`, `{"clients":{"\u0035":{}}}`,
	`{"clients":[1]}`, `{"clients":[null]}`, `{"clients":["x"]}`, `{"clients":[[]]}`, `{"clients":[{"id":1}]`, `{"clients":[{"id":1}]}}`,
	`{"clients":[{"id":1}],"clients":[{"id":2}]}`, `{"clients"`, `{"clients":`, `{"clients"}`, `{"clients":[{"id":1,"email":"\u0000"}]}`,
	`{"clients":[{"id":1, "wallet":{"balance":"1e2","credit":null}}]}`, "{\"clients\":[{\"id\":1,\"email\":\"a\x01\"}]}",
	`{"clients":[{"id":1}],"total":}`, `{"clients":[{"id":1}] "total":1}`,
}

func TestClientListMatchesTheDecoderPath(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"clients_array.json", "clients_map.json"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		if got := decodeList(b, false, false); got.failed || len(got.entries) != 3 {
			t.Fatalf("%s: %+v", name, got)
		}
		sameListOutcome(t, b)
	}
	for _, b := range oddBodies {
		sameListOutcome(t, []byte(b))
	}
	sameListOutcome(t, simClientsBody(t, 3000))
}

// An entry is bounded by MaxListEntry where it starts, whatever came before
// it in the same buffer, and entries just under it pass.
func TestClientListEntryLimit(t *testing.T) {
	t.Parallel()
	pad := func(n int) string { return `{"id":1,"x":"` + strings.Repeat("a", n) + `"}` }
	under := []byte(`{"clients":[` + pad(MaxListEntry-100) + `,` + pad(MaxListEntry-100) + `]}`)
	if got := decodeList(under, false, false); got.failed || len(got.entries) != 2 {
		t.Fatalf("entries under the limit: %+v", got)
	}
	over := []byte(`{"clients":[` + pad(MaxListEntry+10) + `]}`)
	if got := decodeList(over, false, false); !got.failed || got.kind != providers.Malformed || got.unreadable {
		t.Fatalf("entry over the limit: %+v", got)
	}
	sameListOutcome(t, over)
	// After the list the Decoder reads on, its offsets mapped onto the body's.
	after := []byte(`{"clients":[` + pad(MaxListEntry-100) + `],"x":"` + strings.Repeat("a", MaxListEntry+10) + `"}`)
	if got := decodeList(after, false, false); !got.failed || got.kind != providers.Malformed || got.unreadable {
		t.Fatalf("a field over the limit after the list: %+v", got)
	}
	sameListOutcome(t, after)
	fine := []byte(`{"clients":[` + pad(MaxListEntry-100) + `],"x":"` + strings.Repeat("a", MaxListEntry-100) + `"}`)
	if got := decodeList(fine, false, false); got.failed {
		t.Fatalf("a field under the limit after the list: %+v", got)
	}
}

// FuzzClientList: any body comes to what the Decoder path made of it.
// `go test -run '^$' -fuzz FuzzClientList ./internal/providers/mgid`.
func FuzzClientList(f *testing.F) {
	for _, b := range oddBodies {
		f.Add([]byte(b))
	}
	for _, name := range []string{"clients_array.json", "clients_map.json"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, body []byte) { sameListOutcome(t, body) })
}
