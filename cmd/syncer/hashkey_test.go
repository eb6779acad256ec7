package main

import (
	"context"
	"strings"
	"testing"

	"syncer/internal/testdb"
	"syncer/internal/tracked"
)

// The hash key's fingerprint is stored on first use; another key is
// refused with exit 2 naming the problem and the rotation, and nothing is
// written; `syncer mawthoq rehash` rotates every account_hash to the new key.
func TestHashKeyFingerprintRefusesAnotherKey(t *testing.T) {
	t.Parallel()
	db, dbURL := testdb.NewWithURL(t)
	const keyA, keyB = "canary-hash-key-A-0123456789", "canary-hash-key-B-9876543210"
	envA := []string{"DATABASE_URL=" + dbURL, "SYNCER_HASH_KEY=" + keyA}
	envB := []string{"DATABASE_URL=" + dbURL, "SYNCER_HASH_KEY=" + keyB}
	if r := syncer(context.Background(), envA, "mawthoq", "track", "add", "--platform", "tiktok", "--account", "1000000008"); r.code != exitOK {
		t.Fatalf("add under key A: exit %d %s", r.code, r.stderr)
	}
	var fp string
	if err := testdb.QueryRow(t, db, `SELECT value FROM syncer.settings WHERE key = 'hash_key_fingerprint'`).Scan(&fp); err != nil {
		t.Fatal(err)
	}
	if fp != tracked.HashKeyFingerprint([]byte(keyA)) || strings.Contains(fp, "canary") {
		t.Errorf("stored fingerprint %q", fp)
	}
	r := syncer(context.Background(), envB, "mawthoq", "track", "add", "--platform", "snapchat", "--account", "1000000016")
	if r.code != exitBadArgs || !strings.Contains(r.stderr, "SYNCER_HASH_KEY is not the key the stored account_hash values were computed with") ||
		!strings.Contains(r.stderr, "syncer mawthoq rehash") {
		t.Errorf("add under key B: exit %d\n%s", r.code, r.stderr)
	}
	if n := testdb.Count(t, db, "SELECT count(*) FROM syncer.tracked_targets"); n != 1 {
		t.Errorf("%d targets after the refused add, want 1", n)
	}
	if strings.Contains(r.stdout+r.stderr, "canary") {
		t.Error("a hash key was printed")
	}
	// Rotation: every hash is recomputed under key B, then B is accepted.
	if r := syncer(context.Background(), envB, "mawthoq", "rehash"); r.code != exitOK || !strings.Contains(r.stdout, "rehashed 1 mawthoq target ") {
		t.Fatalf("rehash: exit %d %s %s", r.code, r.stdout, r.stderr)
	}
	var h string
	if err := testdb.QueryRow(t, db, `SELECT account_hash FROM bi.mawthoq_status_current`).Scan(&h); err != nil {
		t.Fatal(err)
	}
	if h != tracked.AccountHash([]byte(keyB), "1000000008") {
		t.Errorf("account_hash after rehash is not under key B")
	}
	if r := syncer(context.Background(), envB, "mawthoq", "track", "add", "--platform", "snapchat", "--account", "1000000016"); r.code != exitOK {
		t.Errorf("add under key B after rehash: exit %d %s", r.code, r.stderr)
	}
	if r := syncer(context.Background(), envA, "mawthoq", "track", "add", "--platform", "x", "--account", "1000000024"); r.code != exitBadArgs {
		t.Errorf("add under the old key A after rotation: exit %d", r.code)
	}
}
