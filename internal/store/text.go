package store

import (
	"strings"
	"unicode/utf8"
)

// StorableText returns s as a Postgres text value can hold it, and how many
// characters were replaced: a NUL byte (text cannot hold one) and each byte
// of s that is not valid UTF-8 become U+FFFD. Providers send such strings at
// times (an email with \u0000 in it); one bad character must cost that
// character, not the snapshot it is in.
func StorableText(s string) (string, int) {
	if strings.IndexByte(s, 0) < 0 && utf8.ValidString(s) {
		return s, 0 // the common case: no copy
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	n := 0
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1, r == 0:
			b.WriteRune(utf8.RuneError)
			n++
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String(), n
}
