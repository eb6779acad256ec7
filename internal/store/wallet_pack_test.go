package store_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"syncer/internal/testdb"
)

// The first run of a month rebuilds the (client_key, valid_to) index of the
// months that ended, once: built as periods arrive (each client's next
// period at the end of its run in the index) it is far larger than rebuilt.
func TestPackWalletIndexesOnceAMonthEnded(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	ctx := context.Background()
	jan := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	ensureWalletMonths(t, db, jan) // January to March
	// 300 clients, a period ending every hour for each, written in time
	// order as the snapshots write them.
	testdb.Exec(t, db, `
		INSERT INTO syncer.mgid_client_wallet (client_key, valid_from, valid_to, balance)
		SELECT k, $1::timestamptz + (h - 1) * interval '1 hour', $1::timestamptz + h * interval '1 hour', h
		FROM generate_series(1, 200) h, generate_series(1, 300) k
		ORDER BY h, k`, jan)
	size := func() (n int64) {
		t.Helper()
		if err := testdb.QueryRow(t, db, `SELECT pg_relation_size('syncer.mgid_client_wallet_202601_client_key_valid_to_idx')`).Scan(&n); err != nil || n == 0 {
			t.Fatalf("January's index size: %d, %v", n, err)
		}
		return n
	}
	before := size()

	// In January nothing has ended yet.
	if packed, err := db.PackWalletIndexes(ctx, jan.Add(20*24*time.Hour)); err != nil || len(packed) != 0 {
		t.Fatalf("in January: packed %v, %v; want none", packed, err)
	}
	// In March, January and February have ended.
	march := time.Date(2026, 3, 3, 0, 0, 0, 0, time.UTC)
	packed, err := db.PackWalletIndexes(ctx, march)
	if err != nil || !slices.Equal(packed, []string{"mgid_client_wallet_202601", "mgid_client_wallet_202602"}) {
		t.Fatalf("in March: packed %v, %v; want January and February", packed, err)
	}
	after := size()
	if after > before*4/5 {
		t.Errorf("January's index: %d bytes built as periods arrived, %d rebuilt; want at least a fifth less", before, after)
	}
	t.Logf("January's (client_key, valid_to) index for 60,000 periods: %d bytes as written, %d rebuilt (%.1f and %.1f bytes a period)",
		before, after, float64(before)/60000, float64(after)/60000)
	// Once only, and every index left valid.
	if packed, err := db.PackWalletIndexes(ctx, march); err != nil || len(packed) != 0 {
		t.Fatalf("again in March: packed %v, %v; want none", packed, err)
	}
	if n := testdb.Count(t, db, `SELECT count(*) FROM pg_index i JOIN pg_inherits h ON h.inhrelid = i.indrelid
		WHERE h.inhparent = 'syncer.mgid_client_wallet'::regclass AND NOT i.indisvalid`); n != 0 {
		t.Errorf("%d invalid indexes on the wallet partitions", n)
	}
	// The rebuilt index still serves a client's lookup.
	var bal int64
	if err := testdb.QueryRow(t, db, `SELECT balance FROM syncer.mgid_client_wallet WHERE client_key = 7 AND valid_to > $1 ORDER BY valid_to LIMIT 1`,
		jan.Add(50*time.Hour+time.Minute)).Scan(&bal); err != nil {
		t.Fatal(err)
	}
	if bal != 51 {
		t.Errorf("client 7's period after hour 50: balance %d, want 51", bal)
	}
}

// A claim left by a replica that died in the middle of a rebuild (no
// packed_at) is taken again once it is an hour old, and a fresh one is not.
func TestPackWalletIndexesRetakesAStaleClaim(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	ctx := context.Background()
	ensureWalletMonths(t, db, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	testdb.Exec(t, db, `INSERT INTO syncer.mgid_wallet_packed (partition, claimed_at) VALUES
		('mgid_client_wallet_202601', now() - interval '2 hours'), ('mgid_client_wallet_202602', now() - interval '5 minutes')`)
	packed, err := db.PackWalletIndexes(ctx, time.Date(2026, 3, 3, 0, 0, 0, 0, time.UTC))
	if err != nil || !slices.Equal(packed, []string{"mgid_client_wallet_202601"}) {
		t.Fatalf("packed %v, %v; want January (stale claim) and not February (claimed 5 minutes ago)", packed, err)
	}
}
