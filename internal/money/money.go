// Package money holds Amount, the decimal type syncer uses for every sum of
// money. It is a scaled integer (four decimal places, as numeric(18,4) in
// Postgres), so arithmetic is exact and encoding for COPY is cheap; a float
// never touches a provider's amount.
package money

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Places is the number of decimal places an Amount keeps.
const Places = 4

const scale = 10000 // 10^Places

// Amount is a sum of money in units of 1/10000.
type Amount struct{ units int64 }

// FromUnits builds an Amount from a count of 1/10000 units.
func FromUnits(u int64) Amount { return Amount{units: u} }

// Units is the amount as a count of 1/10000 units.
func (a Amount) Units() int64 { return a.units }

// Sign is -1, 0 or 1.
func (a Amount) Sign() int {
	switch {
	case a.units < 0:
		return -1
	case a.units > 0:
		return 1
	}
	return 0
}

// Add returns a+b.
func (a Amount) Add(b Amount) Amount { return Amount{a.units + b.units} }

// Sub returns a-b.
func (a Amount) Sub(b Amount) Amount { return Amount{a.units - b.units} }

// Cmp compares a and b: -1, 0 or 1.
func (a Amount) Cmp(b Amount) int {
	switch {
	case a.units < b.units:
		return -1
	case a.units > b.units:
		return 1
	}
	return 0
}

// MaxPlaces reports whether a has at most n decimal places (n <= Places).
func (a Amount) MaxPlaces(n int) bool {
	if n >= Places {
		return true
	}
	div := int64(1)
	for i := 0; i < Places-n; i++ {
		div *= 10
	}
	return a.units%div == 0
}

// ErrSyntax is returned for text that is not a plain decimal number.
var ErrSyntax = errors.New("not a decimal number")

// Parse reads a plain decimal such as "150", "-3.25" or "0.0001". It refuses
// exponents, NaN, more than four significant decimal places and values that do
// not fit numeric(18,4): silently rounding or overflowing money is worse than
// failing.
func Parse(s string) (Amount, error) {
	a, err := parse(s)
	if err != nil {
		return Amount{}, fmt.Errorf("amount %q: %w", s, err)
	}
	return a, nil
}

func parse(s string) (Amount, error) {
	if s == "" {
		return Amount{}, ErrSyntax
	}
	neg := false
	switch s[0] {
	case '-':
		neg = true
		s = s[1:]
	case '+':
		s = s[1:]
	}
	intPart, frac, hasDot := strings.Cut(s, ".")
	if intPart == "" && (!hasDot || frac == "") {
		return Amount{}, ErrSyntax
	}
	// Trailing zeros beyond our precision carry no value ("1.230000" is fine).
	frac = strings.TrimRight(frac, "0")
	if len(frac) > Places {
		return Amount{}, fmt.Errorf("more than %d decimal places", Places)
	}
	var units int64
	for _, c := range []byte(intPart) {
		if c < '0' || c > '9' {
			return Amount{}, ErrSyntax
		}
		if units > (math.MaxInt64/10-9)/scale {
			return Amount{}, errors.New("too large")
		}
		units = units*10 + int64(c-'0')
	}
	units *= scale
	mul := int64(scale / 10)
	for _, c := range []byte(frac) {
		if c < '0' || c > '9' {
			return Amount{}, ErrSyntax
		}
		units += int64(c-'0') * mul
		mul /= 10
	}
	if units >= 1e18 { // numeric(18,4) holds up to 14 integer digits
		return Amount{}, errors.New("too large for numeric(18,4)")
	}
	if neg {
		units = -units
	}
	return Amount{units: units}, nil
}

// MustParse is Parse for constants in tests and code; it panics on bad input.
func MustParse(s string) Amount {
	a, err := Parse(s)
	if err != nil {
		panic(err)
	}
	return a
}

// String renders the amount with the fewest places that keep it exact, at
// least two ("150.00", "0.0001", "-3.25").
func (a Amount) String() string {
	return string(a.AppendText(nil))
}

// AppendText appends the String form to b without allocating a new string.
func (a Amount) AppendText(b []byte) []byte {
	u := a.units
	if u < 0 {
		b = append(b, '-')
		u = -u
	}
	b = strconv.AppendInt(b, u/scale, 10)
	frac := u % scale
	b = append(b, '.')
	digits := [Places]byte{}
	for i := Places - 1; i >= 0; i-- {
		digits[i] = byte('0' + frac%10)
		frac /= 10
	}
	n := Places
	for n > 2 && digits[n-1] == '0' {
		n--
	}
	return append(b, digits[:n]...)
}

// MarshalJSON writes the amount as a JSON string so no consumer reads it as a float.
func (a Amount) MarshalJSON() ([]byte, error) {
	b := append([]byte{'"'}, a.AppendText(nil)...)
	return append(b, '"'), nil
}

// UnmarshalJSON accepts a JSON number or a numeric string: providers send both.
// null leaves the amount at zero.
func (a *Amount) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if string(b) == "null" {
		*a = Amount{}
		return nil
	}
	if len(b) > 0 && b[0] == '"' {
		s, err := strconv.Unquote(string(b))
		if err != nil {
			return fmt.Errorf("amount %s: %w", b, ErrSyntax)
		}
		b = []byte(strings.TrimSpace(s))
	}
	// JSON numbers may carry an exponent ("1.5e2"); expand it exactly rather than via float.
	s := string(b)
	if strings.ContainsAny(s, "eE") {
		var err error
		if s, err = expandExponent(s); err != nil {
			return fmt.Errorf("amount %s: %w", b, err)
		}
	}
	v, err := Parse(s)
	if err != nil {
		return err
	}
	*a = v
	return nil
}

// expandExponent rewrites a JSON number with an exponent as a plain decimal string.
func expandExponent(s string) (string, error) {
	mant, expStr, _ := strings.Cut(strings.ToLower(s), "e")
	exp, err := strconv.Atoi(expStr)
	if err != nil || exp > 18 || exp < -18 {
		return "", ErrSyntax
	}
	neg := strings.HasPrefix(mant, "-")
	mant = strings.TrimLeft(mant, "+-")
	intPart, frac, _ := strings.Cut(mant, ".")
	digits := intPart + frac
	point := len(intPart) + exp
	for point < 0 {
		digits = "0" + digits
		point++
	}
	for point > len(digits) {
		digits += "0"
	}
	out := digits[:point] + "." + digits[point:]
	if neg {
		out = "-" + out
	}
	return out, nil
}
