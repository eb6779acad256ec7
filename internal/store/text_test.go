package store_test

import (
	"context"
	"testing"
	"time"

	"syncer/internal/store"
)

func TestStorableText(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, in, want string
		replaced       int
	}{
		{"plain", "a@example.com", "a@example.com", 0},
		{"unicode kept", "jörg@пример.рф", "jörg@пример.рф", 0},
		{"NUL", "a\x00b@example.com", "a\uFFFDb@example.com", 1},
		{"two NULs", "\x00\x00", "\uFFFD\uFFFD", 2},
		{"invalid byte", "a\xffb", "a\uFFFDb", 1},
		{"truncated sequence", "x\xe2\x82", "x\uFFFD\uFFFD", 2},
		{"U+FFFD sent by the provider is not counted", "\uFFFD", "\uFFFD", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, n := store.StorableText(tc.in)
			if got != tc.want || n != tc.replaced {
				t.Errorf("StorableText(%q) = %q, %d; want %q, %d", tc.in, got, n, tc.want, tc.replaced)
			}
		})
	}
}

// ensureWalletMonths makes the wallet partitions of at's month and the
// months after it, as migrate and mgid-balances do before a snapshot: the
// snapshot itself refuses to run DDL.
func ensureWalletMonths(tb testing.TB, db *store.DB, at time.Time) {
	tb.Helper()
	ctx := context.Background()
	if err := db.WithTx(ctx, func(tx *store.Tx) error {
		_, err := tx.EnsureWalletPartitions(ctx, at)
		return err
	}); err != nil {
		tb.Fatal(err)
	}
}
