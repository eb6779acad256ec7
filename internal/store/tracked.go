package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// TrackedKind is the kind of a tracked target (syncer.tracked_targets.kind):
// which provider checks it. Like the transfer journal's words it is typed
// in the store, which persists it and may not import the tracked or
// provider packages.
type TrackedKind string

const (
	TrackedMawthoq    TrackedKind = "mawthoq"
	TrackedFirstlight TrackedKind = "firstlight"
)

// TargetInput is a target to track.
type TargetInput struct {
	Key         string          // natural key, unique per kind (mawthoq "platform:account", firstlight the name)
	Params      json.RawMessage // the provider's fields, a JSON object
	Label       string
	SubjectHash string // "" for none
}

// UpsertResult counts what an upsert of targets did.
type UpsertResult struct {
	Added     int64 // new targets
	Updated   int64 // changed or re-activated targets
	Unchanged int64 // already tracked exactly so
}

// UpsertTargets tracks targets of a kind in one transaction: COPY into a
// staging table, then one INSERT ... ON CONFLICT that touches only rows that
// differ, so importing the same file twice changes nothing. A removed target
// is tracked again. keepLabels leaves the stored label of existing targets
// alone (an add without --label). Keys must be unique within targets.
func (db *DB) UpsertTargets(ctx context.Context, kind TrackedKind, targets []TargetInput, keepLabels bool) (UpsertResult, error) {
	var res UpsertResult
	err := db.WithTx(ctx, func(tx *Tx) error {
		// ON COMMIT DELETE ROWS: the table outlives the transaction on this
		// connection, so the next import skips the catalog work.
		if _, err := tx.exec(ctx, `
			CREATE TEMP TABLE IF NOT EXISTS tracked_targets_stage (
			    natural_key text NOT NULL, params text NOT NULL, label text NOT NULL, subject_hash text NOT NULL
			) ON COMMIT DELETE ROWS`); err != nil {
			return fmt.Errorf("tracked targets staging table: %w", err)
		}
		vals := make([]any, 4)
		i := 0
		src := pgx.CopyFromFunc(func() ([]any, error) {
			if i == len(targets) {
				return nil, nil
			}
			t := targets[i]
			i++
			vals[0], vals[1], vals[2], vals[3] = pgText(t.Key), string(t.Params), pgText(t.Label), t.SubjectHash
			return vals, nil
		})
		if _, err := tx.copyFrom(ctx, pgx.Identifier{"tracked_targets_stage"},
			[]string{"natural_key", "params", "label", "subject_hash"}, src); err != nil {
			return fmt.Errorf("copy %s targets: %w", kind, err)
		}
		return tx.queryRow(ctx, `
			WITH up AS (
			    INSERT INTO syncer.tracked_targets AS t (kind, natural_key, params, label, subject_hash)
			    SELECT $1, natural_key, params::jsonb, label, nullif(subject_hash, '') FROM tracked_targets_stage
			    ON CONFLICT (kind, natural_key) DO UPDATE
			    SET params = excluded.params,
			        label = CASE WHEN $2 THEN t.label ELSE excluded.label END,
			        subject_hash = excluded.subject_hash,
			        active = true, removed_at = NULL, updated_at = now()
			    WHERE (t.params, t.subject_hash, t.active) IS DISTINCT FROM (excluded.params, excluded.subject_hash, true)
			       OR (NOT $2 AND t.label IS DISTINCT FROM excluded.label)
			    RETURNING (t.xmax = 0) AS inserted
			)
			SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM up`,
			kind, keepLabels).Scan(&res.Added, &res.Updated)
	})
	if err != nil {
		return UpsertResult{}, fmt.Errorf("track %s targets: %w", kind, err)
	}
	res.Unchanged = int64(len(targets)) - res.Added - res.Updated
	return res, nil
}

// ErrNotTracked: no active target has that key. It is an ErrNotFound, with
// wording the tracked commands show as it is.
var ErrNotTracked error = &notFound{"not tracked"}

// RemoveTarget stops tracking a target. Its history stays; its open status
// period is closed now, since nobody will check it any more.
func (db *DB) RemoveTarget(ctx context.Context, kind TrackedKind, key string) error {
	return db.WithTx(ctx, func(tx *Tx) error {
		var id int64
		err := tx.queryRow(ctx, `
			UPDATE syncer.tracked_targets
			SET active = false, removed_at = now(), updated_at = now(), lease_until = NULL, leased_by = NULL
			WHERE kind = $1 AND natural_key = $2 AND active
			RETURNING id`, kind, key).Scan(&id)
		if errors.Is(err, ErrNotFound) {
			return ErrNotTracked
		}
		if err != nil {
			return fmt.Errorf("remove %s target: %w", kind, err)
		}
		if _, err := tx.exec(ctx, `
			WITH closed AS (
			    UPDATE syncer.tracked_status_history SET valid_to = greatest(now(), valid_from)
			    WHERE target_id = $1 AND valid_to IS NULL
			)
			UPDATE syncer.tracked_targets SET current_history_id = NULL WHERE id = $1`, id); err != nil {
			return fmt.Errorf("close the status of %s target %d: %w", kind, id, err)
		}
		return nil
	})
}

// TargetRow is a tracked target with its open status period.
type TargetRow struct {
	ID            int64
	Key           string
	Params        json.RawMessage
	Label         string
	SubjectHash   string
	Active        bool
	CreatedAt     time.Time
	RemovedAt     *time.Time
	LastCheckedAt *time.Time
	// Of the open period; "" before the first check.
	Outcome      Outcome
	Status, Code string
	StatusSince  *time.Time
}

// ListTargets calls fn for each target of a kind (only active ones unless
// all), in id order, one row at a time.
func (db *DB) ListTargets(ctx context.Context, kind TrackedKind, all bool, fn func(TargetRow) error) error {
	rows, err := db.query(ctx, `
		SELECT t.id, t.natural_key, t.params, t.label, coalesce(t.subject_hash, ''), t.active,
		       t.created_at, t.removed_at, nullif(t.last_checked_at, '-infinity'),
		       coalesce(h.outcome, ''), coalesce(h.status, ''), coalesce(h.code, ''), h.valid_from
		FROM syncer.tracked_targets t
		LEFT JOIN syncer.tracked_status_history h ON h.id = t.current_history_id
		WHERE t.kind = $1 AND (t.active OR $2)
		ORDER BY t.id`, kind, all)
	if err != nil {
		return fmt.Errorf("list %s targets: %w", kind, err)
	}
	defer rows.Close()
	for rows.Next() {
		var r TargetRow
		var params []byte
		if err := rows.Scan(&r.ID, &r.Key, &params, &r.Label, &r.SubjectHash, &r.Active,
			&r.CreatedAt, &r.RemovedAt, &r.LastCheckedAt, &r.Outcome, &r.Status, &r.Code, &r.StatusSince); err != nil {
			return fmt.Errorf("list %s targets: %w", kind, err)
		}
		r.Params = params
		if err := fn(r); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("list %s targets: %w", kind, err)
	}
	return nil
}

// pgText makes s storable as Postgres text, which holds neither NUL bytes
// nor invalid UTF-8: a provider's message must not fail a whole batch.
func pgText(s string) string {
	if strings.IndexByte(s, 0) >= 0 {
		s = strings.ReplaceAll(s, "\x00", "")
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}
