package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"syncer/internal/store"
	"syncer/internal/tracked"
)

// claimHashKey records SYNCER_HASH_KEY's fingerprint on first use and
// refuses (exit 2) a key other than the one the stored hashes were computed
// under: account_hash computed under two keys breaks every join on it.
func (a *app) claimHashKey(ctx context.Context) error {
	fp := tracked.HashKeyFingerprint([]byte(a.cfg.HashKey.Value()))
	err := a.db.ClaimHashKey(ctx, fp)
	if errors.Is(err, store.ErrHashKeyChanged) {
		return usagef("%v.\n  Use the key the database was filled with, or rotate to this one on purpose: "+
			"`syncer mawthoq rehash` recomputes every account_hash under it (dashboards keyed on old hashes must re-join)", err)
	}
	return err
}

// cmdMawthoqRehash rotates SYNCER_HASH_KEY: every Mawthoq target's
// account_hash is recomputed under the configured key, and its fingerprint
// recorded, in one transaction.
func cmdMawthoqRehash(ctx context.Context, e env, args []string) error {
	fs, path := newFlags("mawthoq rehash", e)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("mawthoq rehash takes no arguments: set the new SYNCER_HASH_KEY and run syncer mawthoq rehash")
	}
	a, err := open(ctx, e, *path, needs{checks: checkNoJobs, hashKey: true})
	if err != nil {
		return err
	}
	defer a.close()
	key := []byte(a.cfg.HashKey.Value())
	fp := tracked.HashKeyFingerprint(key)
	n, err := a.db.RehashTargets(ctx, store.TrackedMawthoq, fp, func(params json.RawMessage) string {
		_, account := tracked.MawthoqAccount(params)
		return tracked.AccountHash(key, account)
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "rehashed %d mawthoq target%s under the key with fingerprint %s\n", n, plural(int(n)), fp)
	return nil
}
