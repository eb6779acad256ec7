package observe

import (
	"net/http"
	"testing"
)

// Endpoints are a handful of label values: ids in paths become {id}, the
// query and any credentials in the URL are dropped, and the longest
// configured prefix names the provider (the simulator serves all three on
// one host).
func TestRequestLabels(t *testing.T) {
	t.Parallel()
	m := NewMetrics(MetricsOptions{Providers: map[string]string{
		"http://sim:8089":                            "mgid",
		"http://sim:8089/gmedia/token":               "gmedia",
		"http://sim:8089/gmedia/CheckMawathoq":       "gmedia",
		"http://sim:8089/media/content/checkredeem/": "firstlight",
	}})
	cases := []struct {
		method, url, provider, endpoint string
	}{
		{"GET", "http://sim:8089/v1/agencies/1001", "mgid", "GET /v1/agencies/{id}"},
		{"GET", "http://sim:8089/v1/agencies/1001/clients/5001/money-transfers?account_type=personal&transfer_amount=10", "mgid", "GET /v1/agencies/{id}/clients/{id}/money-transfers"},
		{"GET", "http://sim:8089/v1/agencies/1001/clients-spent-reports?dateInterval=x", "mgid", "GET /v1/agencies/{id}/clients-spent-reports"},
		{"POST", "http://sim:8089/gmedia/CheckMawathoq", "gmedia", "POST /gmedia/CheckMawathoq"},
		{"POST", "http://sim:8089/media/content/checkredeem", "firstlight", "POST /media/content/checkredeem"}, // a configured trailing slash does not matter
		{"POST", "http://user:secret@other:1/x/12/y", "other", "POST /x/{id}/y"},
	}
	for _, tc := range cases {
		t.Run(tc.endpoint, func(t *testing.T) {
			req, err := http.NewRequest(tc.method, tc.url, nil)
			if err != nil {
				t.Fatal(err)
			}
			p, e := m.label(req)
			if p != tc.provider || e != tc.endpoint {
				t.Errorf("label(%s %s) = %q, %q; want %q, %q", tc.method, tc.url, p, e, tc.provider, tc.endpoint)
			}
		})
	}
}
