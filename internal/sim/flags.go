package sim

import (
	"errors"
	"flag"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// RegisterFlags registers the simulator's flags on fs and returns the Options
// they fill in; pass it to New after fs.Parse.
func RegisterFlags(fs *flag.FlagSet) *Options {
	o := &Options{Clients: 1000, TokenTTL: time.Hour, StatusPeriod: time.Hour}
	fs.IntVar(&o.Clients, "clients", o.Clients, "MGID clients per agency")
	fs.Uint64Var(&o.Seed, "seed", 0, "seed of all synthetic data and fault choices")
	fs.DurationVar(&o.TokenTTL, "token-ttl", o.TokenTTL, "lifetime of issued tokens")
	fs.BoolVar(&o.ClientsAsMap, "clients-as-map", false, "answer the MGID clients list as an object keyed by client id")
	fs.DurationVar(&o.StatusPeriod, "status-period", o.StatusPeriod, "how often Mawthoq and Firstlight answers may change")
	fs.DurationVar(&o.ClockOffset, "clock-offset", 0, "serve data as it will be this much later (e.g. 1h: the next hour's wallets)")
	fs.Float64Var(&o.Faults.ErrorRate, "error-rate", 0, "fraction of requests answered 500")
	fs.DurationVar(&o.Faults.Latency, "latency", 0, "latency added to every request")
	fs.Float64Var(&o.Faults.MalformedRate, "malformed-rate", 0, "fraction of 2xx answers with a truncated or garbled body")
	fs.Float64Var(&o.Faults.DropRate, "drop-rate", 0, "fraction of requests whose connection is closed without an answer")
	fs.Func("transfer-fault", `MGID transfer fault: "", apply-then-drop, drop-before-apply or apply-then-timeout`, func(v string) error {
		switch v {
		case "", TransferApplyThenDrop, TransferDropBeforeApply, TransferApplyThenTimeout:
			o.Faults.TransferFault = v
			return nil
		}
		return fmt.Errorf("unknown transfer fault %q", v)
	})
	fs.Func("fault", "fault mode injected into matching requests: one of "+strings.Join(FaultModes, ", "), func(v string) error {
		if !validMode(v) {
			return fmt.Errorf("unknown fault mode %q", v)
		}
		o.Faults.Mode = v
		return nil
	})
	fs.IntVar(&o.Faults.Burst, "fault-burst", 0, "only the first N matching requests get -fault (0: all)")
	fs.StringVar(&o.Faults.Endpoint, "fault-endpoint", "", "only this endpoint gets -fault (e.g. mgid-clients, mgid-spend; default all)")
	fs.IntVar(&o.Faults.CutAfter, "fault-cut-after", DefaultCutAfter, "bytes of a 2xx body sent before -fault truncate, reset or stall")
	fs.IntVar(&o.Faults.HugeField, "fault-huge-field", DefaultHugeField, "bytes of the email sent by -fault huge-field")
	fs.IntVar(&o.Faults.DripBytes, "fault-drip-bytes", DefaultDripBytes, "bytes per piece under -fault drip")
	fs.DurationVar(&o.Faults.DripEvery, "fault-drip-every", DefaultDripEvery, "pause between pieces under -fault drip")
	fs.DurationVar(&o.Faults.RetryAfter, "fault-retry-after", DefaultRetryAfter, "what -fault 429 and 429-date ask the client to wait")
	fs.Func("agencies", "add N generated MGID agencies (logins agency-0001.., passwords pw-<login>, ids 100001..)", func(v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100000 {
			return fmt.Errorf("want a count in 1..100000, got %q", v)
		}
		o.GenerateAgencies(n)
		return nil
	})
	fs.Var(&agencyFaultFlag{o: o}, "agency-fault", "LOGIN=MODE: only that agency gets MODE, one of "+strings.Join(AgencyFaults, ", ")+" (repeatable)")
	fs.Var(&agencyFlag{o: o}, "agency", "MGID agency as login:password:id (repeatable; default the demo agency "+DemoLogin+")")
	return o
}

// agencyFlag collects -agency values; its String never shows a password.
type agencyFlag struct{ o *Options }

func (f *agencyFlag) String() string {
	if f == nil || f.o == nil {
		return ""
	}
	logins := make([]string, len(f.o.Agencies))
	for i, a := range f.o.Agencies {
		logins[i] = a.Login
	}
	return strings.Join(logins, ",")
}

// Set never fails: the flag package would print the rejected value, password
// and all. A malformed value is kept for Options.Validate to report instead.
func (f *agencyFlag) Set(v string) error {
	a, err := parseAgency(v)
	if err != nil {
		f.o.flagErr = errors.Join(f.o.flagErr, fmt.Errorf("-agency #%d: %w", len(f.o.Agencies)+1, err))
		return nil
	}
	f.o.Agencies = append(f.o.Agencies, a)
	return nil
}

// Validate reports options New would have to guess about: a malformed
// -agency value, rates outside [0, 1], an unknown transfer fault.
func (o *Options) Validate() error {
	errs := []error{o.flagErr}
	for _, r := range []struct {
		name string
		v    float64
	}{{"error-rate", o.Faults.ErrorRate}, {"malformed-rate", o.Faults.MalformedRate}, {"drop-rate", o.Faults.DropRate}} {
		if r.v < 0 || r.v > 1 {
			errs = append(errs, fmt.Errorf("%s %v: want a fraction in [0, 1]", r.name, r.v))
		}
	}
	if o.Clients < 0 {
		errs = append(errs, fmt.Errorf("clients %d: want a positive count", o.Clients))
	}
	switch o.Faults.TransferFault {
	case "", TransferApplyThenDrop, TransferDropBeforeApply, TransferApplyThenTimeout:
	default:
		errs = append(errs, fmt.Errorf("unknown transfer fault %q", o.Faults.TransferFault))
	}
	if !validMode(o.Faults.Mode) {
		errs = append(errs, fmt.Errorf("unknown fault mode %q", o.Faults.Mode))
	}
	if e := o.Faults.Endpoint; e != "" && !slices.Contains(faultEndpoints, e) {
		errs = append(errs, fmt.Errorf("unknown fault endpoint %q: want one of %s", e, strings.Join(faultEndpoints, ", ")))
	}
	if o.Faults.Burst < 0 || o.Faults.CutAfter < 0 || o.Faults.HugeField < 0 || o.Faults.DripBytes < 0 || o.Faults.DripEvery < 0 || o.Faults.RetryAfter < 0 {
		errs = append(errs, errors.New("fault-burst, fault-cut-after, fault-huge-field, fault-drip-bytes, fault-drip-every and fault-retry-after cannot be negative"))
	}
	logins := map[string]bool{}
	for _, a := range o.Agencies {
		if a.Login == "" || a.ID <= 0 {
			errs = append(errs, errors.New("agency with an empty login or a non-positive id"))
		}
		logins[a.Login] = true
	}
	for login := range o.AgencyFaults {
		if len(o.Agencies) > 0 && !logins[login] {
			errs = append(errs, fmt.Errorf("agency-fault for %q: no such agency", login))
		}
	}
	return errors.Join(errs...)
}

// parseAgency reads login:password:id; the password may itself hold colons.
func parseAgency(v string) (Agency, error) {
	first, last := strings.Index(v, ":"), strings.LastIndex(v, ":")
	if first <= 0 || first == last {
		return Agency{}, errors.New("want login:password:id")
	}
	id, err := strconv.ParseInt(v[last+1:], 10, 64)
	if err != nil || id <= 0 {
		return Agency{}, errors.New("want login:password:id with a positive numeric id")
	}
	return Agency{Login: v[:first], Password: v[first+1 : last], ID: id}, nil
}
