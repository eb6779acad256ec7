package tracked

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
)

// fingerprintMessage is what the fingerprint HMACs: a fixed string, so the
// fingerprint identifies the key without being a hash of any account.
const fingerprintMessage = "syncer SYNCER_HASH_KEY fingerprint v1"

// HashKeyFingerprint identifies SYNCER_HASH_KEY without revealing it: the
// first 16 hex digits of HMAC-SHA256(key, a fixed string). The database
// keeps the fingerprint of the key its account_hash values were computed
// under, so that a different key is refused instead of silently splitting
// the table into two hashes that no join can match.
func HashKeyFingerprint(key []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(fingerprintMessage))
	return hex.EncodeToString(m.Sum(nil))[:16]
}
