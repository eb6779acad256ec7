package gmedia

import (
	"errors"
	"fmt"
	"strings"
)

// Platforms are the social platforms CheckMawathoq knows, in the names we send.
var Platforms = []string{"snapchat", "twitter", "tiktok", "youtube", "facebook", "instagram"}

// NormalizePlatform returns the platform name Gmedia expects: lower case,
// trimmed, with "x" taken as the platform's new name for twitter.
func NormalizePlatform(s string) (string, error) {
	p := strings.ToLower(strings.TrimSpace(s))
	if p == "x" {
		return "twitter", nil
	}
	for _, known := range Platforms {
		if p == known {
			return p, nil
		}
	}
	if len(p) > 32 {
		p = p[:32] + "…"
	}
	return "", fmt.Errorf("unknown platform %q: want one of %s (x is accepted for twitter)", p, strings.Join(Platforms, ", "))
}

// Account validation errors. They never contain the number: it identifies a person.
var (
	ErrAccountLength     = errors.New("account must be 10 digits (0-9)")
	ErrAccountKind       = errors.New("account must start with 1 (citizen) or 2 (resident)")
	ErrAccountCheckDigit = errors.New("account check digit is wrong")
)

// ValidateAccount checks a Saudi national ID (starts with 1) or iqama (starts
// with 2): exactly ten ASCII digits whose last is a Luhn check digit. Gmedia
// accepts only these, so anything else would cost a request to learn "invalid".
func ValidateAccount(s string) error {
	if len(s) != 10 {
		return ErrAccountLength
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return ErrAccountLength
		}
	}
	if s[0] != '1' && s[0] != '2' {
		return ErrAccountKind
	}
	if !luhn(s) {
		return ErrAccountCheckDigit
	}
	return nil
}

// luhn reports whether the digit string's last digit is its Luhn check digit.
func luhn(digits string) bool {
	sum := 0
	double := false
	for i := len(digits) - 1; i >= 0; i-- {
		d := int(digits[i] - '0')
		if double {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return sum%10 == 0
}
