package gmedia

import (
	"errors"
	"strings"
	"testing"
)

func TestValidateAccount(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want error
	}{
		{"1000000008", nil},
		{"2000000006", nil},
		{"1234567897", nil},
		{"2345678904", nil},
		{"1000000016", nil},
		{"1999999996", nil},
		{"2765432105", nil},
		{"1000000000", ErrAccountCheckDigit},
		{"1000000009", ErrAccountCheckDigit},
		{"2000000005", ErrAccountCheckDigit},
		{"1234567890", ErrAccountCheckDigit},
		{"3000000004", ErrAccountKind},
		{"0000000000", ErrAccountKind},
		{"9000000000", ErrAccountKind},
		{"", ErrAccountLength},
		{"100000008", ErrAccountLength},   // 9 digits
		{"10000000008", ErrAccountLength}, // 11 digits
		{"١٠٠٠٠٠٠٠٠٨", ErrAccountLength},  // Arabic-Indic digits
		{"۱۰۰۰۰۰۰۰۰۸", ErrAccountLength},  // Extended Arabic-Indic (Persian) digits
		{"１０００００００08", ErrAccountLength},  // full-width digits
		{"10000000a8", ErrAccountLength},
		{"abcdefghij", ErrAccountLength},
		{" 100000008", ErrAccountLength},
		{"1000000008 ", ErrAccountLength},
		{"-100000008", ErrAccountLength},
		{"+100000008", ErrAccountLength},
		{"1.00000008", ErrAccountLength},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			t.Parallel()
			err := ValidateAccount(tc.in)
			if !errors.Is(err, tc.want) {
				t.Errorf("ValidateAccount(%q) = %v, want %v", tc.in, err, tc.want)
			}
			if err != nil && len(tc.in) >= 4 && strings.Contains(err.Error(), tc.in) {
				t.Errorf("ValidateAccount(%q) error %q echoes the number", tc.in, err)
			}
		})
	}
}

func TestAccountErrorMessages(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"123":        "account must be 10 digits",
		"3000000004": "account must start with 1 (citizen) or 2 (resident)",
		"1000000000": "account check digit is wrong",
	} {
		t.Run(in, func(t *testing.T) {
			t.Parallel()
			if err := ValidateAccount(in); err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("ValidateAccount(%q) = %v, want it to say %q", in, err, want)
			}
		})
	}
}

func TestNormalizePlatform(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"snapchat", "snapchat", true},
		{"Snapchat", "snapchat", true},
		{"twitter", "twitter", true},
		{"TWITTER", "twitter", true},
		{"x", "twitter", true},
		{"X", "twitter", true},
		{" x ", "twitter", true},
		{"tiktok", "tiktok", true},
		{"TikTok", "tiktok", true},
		{"youtube", "youtube", true},
		{"YouTube", "youtube", true},
		{"facebook", "facebook", true},
		{"Facebook\n", "facebook", true},
		{"instagram", "instagram", true},
		{"\tInstagram ", "instagram", true},
		{"", "", false},
		{"  ", "", false},
		{"xx", "", false},
		{"x.com", "", false},
		{"twitter.com", "", false},
		{"tik tok", "", false},
		{"tik-tok", "", false},
		{"linkedin", "", false},
		{"snap", "", false},
		{"ｘ", "", false}, // full-width x
		{strings.Repeat("a", 200), "", false},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			t.Parallel()
			got, err := NormalizePlatform(tc.in)
			if (err == nil) != tc.ok || got != tc.want {
				t.Errorf("NormalizePlatform(%q) = %q, %v; want %q, ok=%v", tc.in, got, err, tc.want, tc.ok)
			}
			if err != nil && !strings.Contains(err.Error(), "snapchat, twitter, tiktok, youtube, facebook, instagram") {
				t.Errorf("NormalizePlatform(%q) error %q does not list the platforms", tc.in, err)
			}
			if err != nil && len(err.Error()) > 200 {
				t.Errorf("NormalizePlatform error is %d bytes long; a long input should be cut", len(err.Error()))
			}
		})
	}
}
