package firstlight

import (
	"fmt"
	"slices"
	"strings"
)

// The spec's allowed values.
var (
	ContentTypes = []string{"live", "vod"}
	CatalogTypes = []string{"movie", "tvepisode", "channel", "sportliveevent", "webepisode", "shortvideo", "trailer", "sportshow", "sportevent", "sporthighlight", "sportclip"}
	Deliveries   = []string{"streaming", "download"}
)

// Request is the checkredeem body.
type Request struct {
	DeviceID      string `json:"deviceId"` // a signed device token
	ContentID     string `json:"contentId"`
	ContentTypeID string `json:"contentTypeId"` // live | vod
	CatalogType   string `json:"catalogType"`   // see CatalogTypes
	Delivery      string `json:"delivery"`      // streaming | download
}

// Validate checks r against the spec, so a target that Firstlight would
// refuse with 404001xx is refused before it is stored or sent. Values are
// case-sensitive, as the spec lists them.
func (r Request) Validate() error {
	if strings.TrimSpace(r.DeviceID) == "" {
		return fmt.Errorf("deviceId is required")
	}
	if strings.TrimSpace(r.ContentID) == "" {
		return fmt.Errorf("contentId is required")
	}
	for _, f := range []struct {
		name, value string
		allowed     []string
	}{
		{"contentTypeId", r.ContentTypeID, ContentTypes},
		{"catalogType", r.CatalogType, CatalogTypes},
		{"delivery", r.Delivery, Deliveries},
	} {
		if !slices.Contains(f.allowed, f.value) {
			v := f.value
			if len(v) > 32 {
				v = v[:32] + "…"
			}
			return fmt.Errorf("%s %q is not allowed: want one of %s", f.name, v, strings.Join(f.allowed, " | "))
		}
	}
	return nil
}
