package money

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	t.Parallel()
	cases := []struct {
		in    string
		units int64
		err   string // substring; "" = valid
	}{
		{"150", 1_500_000, ""},
		{"150.00", 1_500_000, ""},
		{"-3.25", -32_500, ""},
		{"+7", 70_000, ""},
		{"0.0001", 1, ""},
		{"1.230000", 12_300, ""}, // zeros past the fourth place carry nothing
		{".5", 5_000, ""},
		{"1.", 10_000, ""},
		{"99999999999999.9999", 999_999_999_999_999_999, ""},
		{"100000000000000", 0, "too large for numeric(18,4)"},
		{"99999999999999999999", 0, "too large"},
		{"0.00001", 0, "more than 4 decimal places"},
		{"", 0, "not a decimal number"},
		{"-", 0, "not a decimal number"},
		{".", 0, "not a decimal number"},
		{"1e3", 0, "not a decimal number"},
		{"NaN", 0, "not a decimal number"},
		{"1,000.00", 0, "not a decimal number"},
		{" 1", 0, "not a decimal number"},
		{"1.2.3", 0, "not a decimal number"},
		{"--1", 0, "not a decimal number"},
	}
	for _, c := range cases {
		t.Run(caseName(c.in), func(t *testing.T) {
			t.Parallel()
			a, err := Parse(c.in)
			if c.err == "" {
				if err != nil || a.Units() != c.units {
					t.Errorf("Parse(%q) = %d, %v; want %d", c.in, a.Units(), err, c.units)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("Parse(%q) error = %v; want one saying %q", c.in, err, c.err)
			}
		})
	}
	t.Run("ErrSyntax", func(t *testing.T) {
		t.Parallel()
		if _, err := Parse("abc"); !errors.Is(err, ErrSyntax) {
			t.Errorf("Parse(abc) error %v is not ErrSyntax", err)
		}
	})
}

func TestStringRoundTrips(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"150": "150.00", "0.0001": "0.0001", "-3.25": "-3.25", "-0.5": "-0.50", "12.345": "12.345", "0": "0.00",
	} {
		t.Run(in, func(t *testing.T) {
			t.Parallel()
			a := MustParse(in)
			if got := a.String(); got != want {
				t.Errorf("%s prints as %s, want %s", in, got, want)
			}
			if back := MustParse(a.String()); back != a {
				t.Errorf("%s does not round-trip: %v", in, back)
			}
		})
	}
}

func TestArithmetic(t *testing.T) {
	t.Parallel()
	a, b := MustParse("0.1"), MustParse("0.2")
	// The float classic: 0.1 + 0.2 is exactly 0.3 here.
	if sum := a.Add(b); sum != MustParse("0.3") {
		t.Errorf("0.1 + 0.2 = %s", sum)
	}
	if d := a.Sub(b); d.String() != "-0.10" || d.Sign() != -1 || d.Cmp(a) != -1 || a.Cmp(a) != 0 {
		t.Errorf("0.1 - 0.2 = %s (sign %d)", d, d.Sign())
	}
	for _, c := range []struct {
		in     string
		places int
		want   bool
	}{{"150.00", 2, true}, {"150.01", 2, true}, {"150.001", 2, false}, {"150.5", 0, false}, {"150", 0, true}, {"0.0001", 4, true}} {
		t.Run(fmt.Sprintf("%s MaxPlaces(%d)", c.in, c.places), func(t *testing.T) {
			t.Parallel()
			if got := MustParse(c.in).MaxPlaces(c.places); got != c.want {
				t.Errorf("%s MaxPlaces(%d) = %v", c.in, c.places, got)
			}
		})
	}
}

func TestJSON(t *testing.T) {
	t.Parallel()
	cases := []struct {
		in   string
		want string
		err  bool
	}{
		{`150.5`, "150.50", false},
		{`"150.5"`, "150.50", false},
		{`" 42 "`, "42.00", false},
		{`1.5e2`, "150.00", false},
		{`-2.5E-3`, "-0.0025", false},
		{`null`, "0.00", false},
		{`1e-5`, "", true}, // a fifth decimal place is refused, not rounded
		{`"abc"`, "", true},
		{`true`, "", true},
		{`1e99`, "", true},
	}
	for _, c := range cases {
		t.Run(c.in, func(t *testing.T) {
			t.Parallel()
			var a Amount
			err := json.Unmarshal([]byte(c.in), &a)
			if c.err {
				if err == nil {
					t.Errorf("%s decoded as %s; want an error", c.in, a)
				}
				return
			}
			if err != nil || a.String() != c.want {
				t.Errorf("%s decoded as %s, %v; want %s", c.in, a, err, c.want)
			}
		})
	}
	t.Run("marshal", func(t *testing.T) {
		t.Parallel()
		out, err := json.Marshal(struct{ A Amount }{MustParse("12.3400")})
		if err != nil || string(out) != `{"A":"12.34"}` {
			t.Errorf("marshal: %s %v", out, err)
		}
	})
}

// caseName names a subtest after its input; go test cannot select an empty name.
func caseName(in string) string {
	if in == "" {
		return "empty"
	}
	return in
}
