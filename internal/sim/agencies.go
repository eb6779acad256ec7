package sim

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
)

// Per-agency faults (Agency.Fault, `--agency-fault LOGIN=MODE`): one agency
// misbehaves while the others answer normally, as when one of a customer's
// many agencies has a changed password or a broken account.
const (
	// AgencyWrongPassword: the login is refused with 401 "Incorrect password."
	AgencyWrongPassword = "wrong-password"
	// Agency5xx: every request of the agency but the login is answered 500.
	Agency5xx = "5xx"
	// AgencyGarbage: every request of the agency but the login is answered
	// 200 with an HTML page instead of JSON.
	AgencyGarbage = "garbage"
	// AgencyHang: every request of the agency but the login hangs until the
	// client gives up.
	AgencyHang = "hang"
)

// AgencyFaults lists the per-agency fault modes.
var AgencyFaults = []string{AgencyWrongPassword, Agency5xx, AgencyGarbage, AgencyHang}

// GeneratedAgency is the k-th (0-based) agency `--agencies N` adds: login
// agency-0001, password pw-agency-0001, id 100001 and up.
func GeneratedAgency(k int) Agency {
	login := fmt.Sprintf("agency-%04d", k+1)
	return Agency{Login: login, Password: "pw-" + login, ID: 100001 + int64(k)}
}

// GenerateAgencies appends n generated agencies to o.Agencies.
func (o *Options) GenerateAgencies(n int) {
	for k := range n {
		o.Agencies = append(o.Agencies, GeneratedAgency(k))
	}
}

// agencyFault applies ag's fault to a request authenticated as ag; it
// reports whether it answered.
func (s *Server) agencyFault(ag *agencyState, w http.ResponseWriter, r *http.Request) bool {
	switch ag.Fault {
	case Agency5xx:
		provMGID.serverError(s, w, r)
	case AgencyGarbage:
		w.Header().Set("Content-Type", "text/html")
		writeRaw(w, http.StatusOK, []byte("<html><body><h1>Service temporarily unavailable</h1></body></html>"))
	case AgencyHang:
		s.hang(r)
	default:
		return false
	}
	return true
}

// agencyFaultFlag collects `--agency-fault LOGIN=MODE` values.
type agencyFaultFlag struct{ o *Options }

func (f *agencyFaultFlag) String() string {
	if f == nil || f.o == nil {
		return ""
	}
	var parts []string
	for login, mode := range f.o.AgencyFaults {
		parts = append(parts, login+"="+mode)
	}
	slices.Sort(parts)
	return strings.Join(parts, ",")
}

func (f *agencyFaultFlag) Set(v string) error {
	login, mode, ok := strings.Cut(v, "=")
	if !ok || login == "" {
		return fmt.Errorf("want LOGIN=MODE, got %q", v)
	}
	if !slices.Contains(AgencyFaults, mode) {
		return fmt.Errorf("unknown agency fault %q: want one of %s", mode, strings.Join(AgencyFaults, ", "))
	}
	if f.o.AgencyFaults == nil {
		f.o.AgencyFaults = map[string]string{}
	}
	f.o.AgencyFaults[login] = mode
	return nil
}
