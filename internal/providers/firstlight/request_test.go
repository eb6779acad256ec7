package firstlight

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var validRequest = Request{
	DeviceID:      "firstlight-device-001",
	ContentID:     "14C9F89D-00C9-432B-82D8-A60D80CCCBB7",
	ContentTypeID: "vod",
	CatalogType:   "movie",
	Delivery:      "streaming",
}

func TestRequestJSONMatchesSpec(t *testing.T) {
	t.Parallel()
	spec, err := os.ReadFile(filepath.Join("testdata", "request.json"))
	if err != nil {
		t.Fatal(err)
	}
	var want, got map[string]any
	if err := json.Unmarshal(spec, &want); err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(validRequest)
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("marshalled %s, want the keys of %s", b, spec)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
}

func TestRequestValidate(t *testing.T) {
	t.Parallel()
	type tc struct {
		name    string
		edit    func(*Request)
		wantErr string // substrings, "|"-separated; "" = valid
	}
	tests := []tc{{"spec example", func(*Request) {}, ""}}
	for _, v := range ContentTypes {
		tests = append(tests, tc{"contentTypeId " + v, func(r *Request) { r.ContentTypeID = v }, ""})
	}
	for _, v := range CatalogTypes {
		tests = append(tests, tc{"catalogType " + v, func(r *Request) { r.CatalogType = v }, ""})
	}
	for _, v := range Deliveries {
		tests = append(tests, tc{"delivery " + v, func(r *Request) { r.Delivery = v }, ""})
	}
	const (
		ctAllowed  = "contentTypeId|live | vod"
		catAllowed = "catalogType|movie | tvepisode | channel | sportliveevent | webepisode | shortvideo | trailer | sportshow | sportevent | sporthighlight | sportclip"
		delAllowed = "delivery|streaming | download"
	)
	tests = append(tests,
		tc{"no deviceId", func(r *Request) { r.DeviceID = "" }, "deviceId"},
		tc{"blank deviceId", func(r *Request) { r.DeviceID = "  " }, "deviceId"},
		tc{"no contentId", func(r *Request) { r.ContentID = "" }, "contentId"},
		tc{"contentTypeId empty", func(r *Request) { r.ContentTypeID = "" }, ctAllowed},
		tc{"contentTypeId VOD", func(r *Request) { r.ContentTypeID = "VOD" }, ctAllowed},
		tc{"contentTypeId Live", func(r *Request) { r.ContentTypeID = "Live" }, ctAllowed},
		tc{"contentTypeId spaced", func(r *Request) { r.ContentTypeID = " vod" }, ctAllowed},
		tc{"contentTypeId linear", func(r *Request) { r.ContentTypeID = "linear" }, ctAllowed},
		tc{"catalogType empty", func(r *Request) { r.CatalogType = "" }, catAllowed},
		tc{"catalogType movies", func(r *Request) { r.CatalogType = "movies" }, catAllowed},
		tc{"catalogType Movie", func(r *Request) { r.CatalogType = "Movie" }, catAllowed},
		tc{"catalogType series", func(r *Request) { r.CatalogType = "series" }, catAllowed},
		tc{"catalogType tv_episode", func(r *Request) { r.CatalogType = "tv_episode" }, catAllowed},
		tc{"delivery empty", func(r *Request) { r.Delivery = "" }, delAllowed},
		tc{"delivery stream", func(r *Request) { r.Delivery = "stream" }, delAllowed},
		tc{"delivery DOWNLOAD", func(r *Request) { r.Delivery = "DOWNLOAD" }, delAllowed},
		tc{"delivery very long", func(r *Request) { r.Delivery = strings.Repeat("z", 500) }, delAllowed},
	)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := validRequest
			tc.edit(&r)
			err := r.Validate()
			if tc.wantErr == "" {
				if err != nil {
					t.Errorf("%s: Validate = %v, want nil", tc.name, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("%s: Validate = nil, want an error", tc.name)
			}
			for _, want := range strings.Split(tc.wantErr, "|") {
				if !strings.Contains(err.Error(), strings.TrimSpace(want)) {
					t.Errorf("%s: error %q does not mention %q", tc.name, err, want)
				}
			}
			if len(err.Error()) > 300 {
				t.Errorf("%s: error is %d bytes; a long value should be cut", tc.name, len(err.Error()))
			}
		})
	}
}
