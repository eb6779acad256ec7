package sim

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strconv"
)

// Salts keep the hash streams of unrelated values apart.
const (
	saltWallet uint64 = iota + 1
	saltFormat
	saltAgency
	saltSpend
	saltMawthoq
	saltRedeem
	saltFault
)

// mix is the splitmix64 finalizer: cheap, and good enough that neighbouring
// inputs (client i and i+1, day d and d+1) look unrelated.
func mix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// hash2 combines a running hash with one more input.
func hash2(h, v uint64) uint64 { return mix(h ^ mix(v)) }

// hashString folds a string into h with FNV-1a, then mixes.
func hashString(h uint64, s string) uint64 {
	x := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		x ^= uint64(s[i])
		x *= 1099511628211
	}
	return hash2(h, x)
}

// unit maps a hash to [0, 1).
func unit(h uint64) float64 { return float64(h>>11) / (1 << 53) }

// randomToken is an unguessable token; tokens are the one thing not derived
// from the seed, since a test that guesses one must fail.
func randomToken(prefix string) string {
	var b [24]byte
	_, _ = rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

// newUUID is a random version-4 UUID for generated tracking ids.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// appendCents writes an amount of cents with two places, as a JSON string
// ("10.50") or as a JSON number with trailing zeros trimmed (10.5, 10, 0):
// MGID sends both and clients must read both.
func appendCents(b []byte, cents int64, asString bool) []byte {
	if cents < 0 {
		if asString {
			b = append(b, '"')
		}
		b = append(b, '-')
		b = appendCents(b, -cents, false)
		if asString {
			b = append(b, '"')
		}
		return b
	}
	if asString {
		b = append(b, '"')
		b = strconv.AppendInt(b, cents/100, 10)
		b = append(b, '.', byte('0'+cents%100/10), byte('0'+cents%10))
		return append(b, '"')
	}
	b = strconv.AppendInt(b, cents/100, 10)
	switch frac := cents % 100; {
	case frac == 0:
	case frac%10 == 0:
		b = append(b, '.', byte('0'+frac/10))
	default:
		b = append(b, '.', byte('0'+frac/10), byte('0'+frac%10))
	}
	return b
}

// appendUnits4 writes an amount of 1/10000 units with exactly four places as
// a JSON string ("12.3400"), or trimmed as a JSON number (12.34).
func appendUnits4(b []byte, units int64, asString bool) []byte {
	if asString {
		b = append(b, '"')
	}
	b = strconv.AppendInt(b, units/10000, 10)
	frac := units % 10000
	digits := [4]byte{byte('0' + frac/1000), byte('0' + frac/100%10), byte('0' + frac/10%10), byte('0' + frac%10)}
	n := 4
	if !asString {
		for n > 0 && digits[n-1] == '0' {
			n--
		}
	}
	if n > 0 {
		b = append(b, '.')
		b = append(b, digits[:n]...)
	}
	if asString {
		b = append(b, '"')
	}
	return b
}

const contentTypeJSON = "application/json; charset=utf-8"

// writeJSON answers a small body; large ones are streamed by their handlers.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "sim: "+err.Error(), http.StatusInternalServerError)
		return
	}
	writeRaw(w, status, b)
}

func writeRaw(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", contentTypeJSON)
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
