package store_test

import (
	"context"
	"testing"

	"syncer/internal/money"
	"syncer/internal/store"
	"syncer/internal/testdb"
)

// The hand-written binary numeric encoding must agree with Postgres' own
// reading of the text form, in both directions, for awkward values.
func TestAmountRoundTripsThroughNumeric(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	ctx := context.Background()
	values := []string{"0", "0.0001", "-0.0001", "1", "-1", "10000", "9999.9999", "12345678.9", "100000000",
		"99999999999999.9999", "-99999999999999.9999", "0.5", "10000.0001", "1.2300", "-150.25"}
	for _, v := range values {
		t.Run(v, func(t *testing.T) {
			t.Parallel()
			roundTrip(t, db, v)
		})
	}
	var a money.Amount
	if err := db.QueryRow(ctx, `SELECT 1.00001::numeric`).Scan(&a); err == nil {
		t.Errorf("a fifth decimal place was accepted as %s", a)
	}
}

// roundTrip checks one value both ways: our encoding read by Postgres, and
// Postgres' own numeric decoded by us.
func roundTrip(t *testing.T, db *store.DB, v string) {
	t.Helper()
	ctx := context.Background()
	a := money.MustParse(v)
	var text string
	var back money.Amount
	if err := db.QueryRow(ctx, `SELECT $1::numeric(18,4)::text, $1::numeric(18,4)`, a).Scan(&text, &back); err != nil {
		t.Fatalf("%s: %v", v, err)
	}
	if got := money.MustParse(text); got != a {
		t.Errorf("%s: Postgres read %s", v, text)
	}
	if back != a {
		t.Errorf("%s: scanned back %s", v, back)
	}
	// And the value Postgres writes itself decodes the same.
	var fromText money.Amount
	if err := db.QueryRow(ctx, `SELECT $1::text::numeric`, v).Scan(&fromText); err != nil {
		t.Fatalf("%s: %v", v, err)
	}
	if fromText != a {
		t.Errorf("%s: decoded Postgres' numeric as %s", v, fromText)
	}
}
