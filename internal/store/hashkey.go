package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// SettingHashKeyFingerprint holds the fingerprint of the SYNCER_HASH_KEY the
// stored account hashes were computed under (tracked.HashKeyFingerprint).
const SettingHashKeyFingerprint = "hash_key_fingerprint"

// ErrHashKeyChanged: SYNCER_HASH_KEY is not the key the stored account
// hashes were computed under.
var ErrHashKeyChanged = errors.New("SYNCER_HASH_KEY is not the key the stored account_hash values were computed with")

// ClaimHashKey records fp as the hash key's fingerprint on first use and
// returns ErrHashKeyChanged (with both fingerprints and when the stored one
// was recorded) when another key's is already stored.
func (db *DB) ClaimHashKey(ctx context.Context, fp string) error {
	if _, err := db.exec(ctx, `
		INSERT INTO syncer.settings (key, value, updated_at) VALUES ($1, $2, now())
		ON CONFLICT (key) DO NOTHING`, SettingHashKeyFingerprint, fp); err != nil {
		return fmt.Errorf("hash key fingerprint: %w", err)
	}
	var stored string
	var at time.Time
	if err := db.queryRow(ctx, `SELECT value, updated_at FROM syncer.settings WHERE key = $1`, SettingHashKeyFingerprint).
		Scan(&stored, &at); err != nil {
		return fmt.Errorf("hash key fingerprint: %w", err)
	}
	if stored != fp {
		return fmt.Errorf("%w (the database holds hashes under the key with fingerprint %s, recorded %s; this key's is %s)",
			ErrHashKeyChanged, stored, at.UTC().Format(time.RFC3339), fp)
	}
	return nil
}

// RehashTargets recomputes the subject hash of every target of kind with
// hash (given the target's params) and records fp as the key's fingerprint,
// in one transaction: the views never show hashes under two keys. It
// returns how many targets it rehashed.
func (db *DB) RehashTargets(ctx context.Context, kind TrackedKind, fp string, hash func(params json.RawMessage) string) (int64, error) {
	var n int64
	err := db.WithTx(ctx, func(tx *Tx) error {
		rows, err := tx.query(ctx, `SELECT id, params FROM syncer.tracked_targets WHERE kind = $1 ORDER BY id FOR UPDATE`, kind)
		if err != nil {
			return err
		}
		var ids []int64
		var hashes []string
		for rows.Next() {
			var id int64
			var params json.RawMessage
			if err := rows.Scan(&id, &params); err != nil {
				rows.Close()
				return err
			}
			ids = append(ids, id)
			hashes = append(hashes, hash(params))
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		tag, err := tx.exec(ctx, `
			UPDATE syncer.tracked_targets t SET subject_hash = v.h
			FROM unnest($1::bigint[], $2::text[]) AS v(id, h) WHERE t.id = v.id`, ids, hashes)
		if err != nil {
			return err
		}
		n = tag.RowsAffected()
		_, err = tx.exec(ctx, `
			INSERT INTO syncer.settings (key, value, updated_at) VALUES ($1, $2, now())
			ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
			SettingHashKeyFingerprint, fp)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("rehash %s targets: %w", kind, err)
	}
	return n, nil
}
