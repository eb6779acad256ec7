package store

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
)

// Claim asks for a batch of due targets.
type Claim struct {
	Kind    TrackedKind
	Replica string
	Now     time.Time // a lease that runs out at or before Now is over
	// DueBefore: a target last checked at or after this is not due. A round
	// fixes it when it starts, so a target it checked is never due again in
	// the same round, however long the round takes.
	DueBefore  time.Time
	LeaseUntil time.Time
	Limit      int
	// After continues a round's walk where its previous claim stopped (the
	// zero value starts at the stalest target), so claims do not rescan
	// what the round already took.
	After ClaimCursor
}

// ClaimCursor is a position in the order claims walk: stalest first.
type ClaimCursor struct {
	lastChecked pgtype.Timestamptz
	id          int64
}

func (c ClaimCursor) args() (pgtype.Timestamptz, int64) {
	if !c.lastChecked.Valid {
		return pgtype.Timestamptz{InfinityModifier: pgtype.NegativeInfinity, Valid: true}, 0
	}
	return c.lastChecked, c.id
}

func (c ClaimCursor) before(t pgtype.Timestamptz, id int64) bool {
	if !c.lastChecked.Valid {
		return true
	}
	a, b := c.lastChecked, t
	switch {
	case a.InfinityModifier != b.InfinityModifier:
		return a.InfinityModifier < b.InfinityModifier
	case a.InfinityModifier == pgtype.Finite && !a.Time.Equal(b.Time):
		return a.Time.Before(b.Time)
	}
	return c.id < id
}

// ClaimedTarget is a target leased to one replica for checking.
type ClaimedTarget struct {
	ID     int64
	Key    string
	Params json.RawMessage
}

// ClaimTargets leases up to c.Limit due targets to c.Replica, stalest first:
// active, not checked since c.DueBefore, not leased to anyone, and after
// c.After. SKIP LOCKED lets replicas claim at the same moment without
// waiting on each other, and the lease keeps a claimed target from being
// claimed again until it is recorded or the lease runs out (its replica
// died; the next round takes it). It returns the position to continue from.
func (db *DB) ClaimTargets(ctx context.Context, c Claim) ([]ClaimedTarget, ClaimCursor, error) {
	afterChecked, afterID := c.After.args()
	rows, err := db.query(ctx, `
		WITH due AS MATERIALIZED (
		    SELECT id FROM syncer.tracked_targets
		    WHERE kind = $1 AND active AND last_checked_at < $2
		      AND (last_checked_at, id) > ($7, $8)
		      AND (lease_until IS NULL OR lease_until <= $3)
		    ORDER BY last_checked_at, id
		    LIMIT $4
		    FOR UPDATE SKIP LOCKED
		)
		UPDATE syncer.tracked_targets t
		SET lease_until = $5, leased_by = $6
		FROM due WHERE t.id = due.id
		RETURNING t.id, t.natural_key, t.params, t.last_checked_at`,
		c.Kind, c.DueBefore, c.Now, c.Limit, c.LeaseUntil, c.Replica, afterChecked, afterID)
	if err != nil {
		return nil, c.After, fmt.Errorf("claim %s targets: %w", c.Kind, err)
	}
	defer rows.Close()
	var out []ClaimedTarget
	next := c.After
	for rows.Next() {
		var t ClaimedTarget
		var params []byte
		var checked pgtype.Timestamptz
		if err := rows.Scan(&t.ID, &t.Key, &params, &checked); err != nil {
			return nil, c.After, fmt.Errorf("claim %s targets: %w", c.Kind, err)
		}
		t.Params = params
		out = append(out, t)
		if next.before(checked, t.ID) {
			next = ClaimCursor{lastChecked: checked, id: t.ID}
		}
	}
	if err := rows.Err(); err != nil {
		return nil, c.After, fmt.Errorf("claim %s targets: %w", c.Kind, err)
	}
	return out, next, nil
}

// ReleaseTargets gives back leases the replica holds on targets it did not
// check (a round that stopped early), so the next round need not wait for
// them to run out.
func (db *DB) ReleaseTargets(ctx context.Context, replica string, ids []int64) error {
	if len(ids) == 0 {
		return nil
	}
	_, err := db.exec(ctx, `
		UPDATE syncer.tracked_targets SET lease_until = NULL, leased_by = NULL
		WHERE id = ANY($1) AND leased_by = $2`, ids, replica)
	if err != nil {
		return fmt.Errorf("release %d leases: %w", len(ids), err)
	}
	return nil
}

// Outcome is what a check of a tracked target came to
// (syncer.tracked_status_history.outcome). The words are the provider
// packages' (firstlight.Outcome, the Mawthoq client's); the store keeps
// them as a type of its own because it may not import those packages, and
// internal/tracked converts at the one place that sees both.
type Outcome string

// CheckResult is one check of one target.
type CheckResult struct {
	TargetID   int64
	Outcome    Outcome
	Status     string // e.g. a Mawthoq licence status
	Code       string // the provider's error code
	Message    string
	HTTPStatus int             // 0 when no answer arrived
	Detail     json.RawMessage // a JSON object, or nil
	CheckedAt  time.Time
}

// RecordResult counts the history rows a batch wrote.
type RecordResult struct {
	Continued int64 // open periods whose status held: only last_checked_at moved
	Closed    int64 // open periods ended by a different status
	Opened    int64 // new periods: first checks and changes
}

// Rows is the history rows written or updated.
func (r RecordResult) Rows() int64 { return r.Continued + r.Closed + r.Opened }

// RecordChecks stores a batch of checks in one transaction of one round
// trip: every target's last_checked_at (and the end of its lease), and its
// status history, where a check that matches the open period (same outcome,
// status and code) only moves that period's last_checked_at, and any other
// closes it and opens a new one. A check of a target removed meanwhile
// touches only last_checked_at.
func (db *DB) RecordChecks(ctx context.Context, replica string, runID int64, checks []CheckResult) (RecordResult, error) {
	checks = latestPerTarget(checks)
	if len(checks) == 0 {
		return RecordResult{}, nil
	}
	n := len(checks)
	ids := make([]int64, n)
	outcomes, statuses, codes, messages := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	https := make([]*int32, n)
	details := make([]*string, n)
	at := make([]time.Time, n)
	expiries, numbers := make([]*string, n), make([]*string, n)
	numbersInSQL := make([]bool, n)
	for i, c := range checks {
		ids[i], at[i] = c.TargetID, c.CheckedAt
		outcomes[i], statuses[i], codes[i], messages[i] = pgText(string(c.Outcome)), pgText(c.Status), pgText(c.Code), pgText(c.Message)
		if c.HTTPStatus != 0 {
			h := int32(c.HTTPStatus)
			https[i] = &h
		}
		if d := pgJSON(c.Detail); d != nil {
			details[i] = d
		}
		if c.Outcome == "found" {
			expiries[i], numbers[i], numbersInSQL[i] = licence(details[i])
		}
	}
	const input = `unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::int[], $7::text[], $8::timestamptz[])
		AS c(target_id, outcome, status, code, message, http_status, detail, checked_at)`
	args := []any{ids, outcomes, statuses, codes, messages, https, details, at}
	// The targets' update also reads each found answer's expiryDate ($10)
	// and licenseNumber ($11): taken out in Go, so SQL does not parse each
	// detail as jsonb once more (the write path's cost before and after is
	// in BENCHMARKS.md, issue 15's Mawthoq section); only a licenseNumber
	// that is not a string ($12) is read by jsonb.
	const inputLicence = `unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::int[], $7::text[], $8::timestamptz[],
		$10::text[], $11::text[], $12::bool[])
		AS c(target_id, outcome, status, code, message, http_status, detail, checked_at, expiry, license_number, number_in_sql)`

	var res RecordResult
	err := db.WithTx(ctx, func(tx *Tx) error {
		b := &pgx.Batch{}
		b.Queue(`
			UPDATE syncer.tracked_targets t
			SET last_checked_at = greatest(t.last_checked_at, c.checked_at),
			    lease_until = CASE WHEN t.leased_by = $9 THEN NULL ELSE t.lease_until END,
			    leased_by = CASE WHEN t.leased_by = $9 THEN NULL ELSE t.leased_by END,
			    -- A found answer is the licence bi shows from now on (the
			    -- period below continues or opens with this detail): its
			    -- expiry and number are kept here so an expiry filter is an
			    -- index range and bi reads no history row for either.
			    license_expiry = CASE WHEN t.kind = 'mawthoq' AND t.active AND c.outcome = 'found'
			        THEN syncer.iso_date(c.expiry) ELSE t.license_expiry END,
			    license_number = CASE WHEN t.kind = 'mawthoq' AND t.active AND c.outcome = 'found'
			        THEN CASE WHEN c.number_in_sql THEN c.detail::jsonb ->> 'licenseNumber' ELSE c.license_number END
			        ELSE t.license_number END
			FROM `+inputLicence+`
			WHERE t.id = c.target_id`, append(args[:len(args):len(args)], replica, expiries, numbers, numbersInSQL)...)
		// One statement continues or closes each open period, found by
		// primary key through the target: no plan here depends on how many
		// periods the planner thinks are open.
		const same = `(h.outcome, h.status, h.code) = (c.outcome, c.status, c.code)`
		b.Queue(`
			UPDATE syncer.tracked_status_history h
			SET valid_to = CASE WHEN `+same+` THEN NULL ELSE greatest(c.checked_at, h.valid_from) END,
			    last_checked_at = CASE WHEN `+same+` THEN greatest(h.last_checked_at, c.checked_at) ELSE h.last_checked_at END,
			    checks = h.checks + CASE WHEN `+same+` THEN 1 ELSE 0 END,
			    message = CASE WHEN `+same+` THEN c.message ELSE h.message END,
			    http_status = CASE WHEN `+same+` THEN c.http_status ELSE h.http_status END,
			    detail = CASE WHEN `+same+` THEN c.detail::jsonb ELSE h.detail END
			FROM `+input+`
			JOIN syncer.tracked_targets t ON t.id = c.target_id AND t.active
			WHERE h.id = t.current_history_id AND h.valid_to IS NULL
			RETURNING h.valid_to IS NULL`, args...)
		// The previous statement's changes are visible here: a target whose
		// period it closed, or that has none, gets a new one. Should another
		// replica have opened one meanwhile (its lease ran out), that one is
		// kept and becomes the target's.
		b.Queue(`
			WITH opened AS (
			    INSERT INTO syncer.tracked_status_history AS x
			        (target_id, outcome, status, code, message, http_status, detail, valid_from, last_checked_at, run_id)
			    SELECT c.target_id, c.outcome, c.status, c.code, c.message, c.http_status, c.detail::jsonb,
			           c.checked_at, c.checked_at, $9
			    FROM `+input+`
			    JOIN syncer.tracked_targets t ON t.id = c.target_id AND t.active
			    LEFT JOIN syncer.tracked_status_history h ON h.id = t.current_history_id
			    WHERE h.id IS NULL OR h.valid_to IS NOT NULL
			    ON CONFLICT (target_id) WHERE valid_to IS NULL
			    DO UPDATE SET last_checked_at = greatest(x.last_checked_at, excluded.last_checked_at)
			    RETURNING x.id, x.target_id, x.outcome, (x.xmax = 0) AS inserted
			)
			UPDATE syncer.tracked_targets t SET current_history_id = opened.id,
			    found_history_id = CASE WHEN opened.outcome = 'found' THEN opened.id ELSE t.found_history_id END
			FROM opened WHERE t.id = opened.target_id
			RETURNING opened.inserted`, append(args, runID)...)
		br := tx.sendBatch(ctx, b)
		defer br.Close()
		if _, err := br.Exec(); err != nil {
			return fmt.Errorf("record last checks: %w", err)
		}
		// Each open period continued (true) or closed (false).
		kept, err := batchBools(br)
		if err != nil {
			return fmt.Errorf("record status periods: %w", err)
		}
		// Each period opened (true) or adopted from another replica (false).
		opened, err := batchBools(br)
		if err != nil {
			return fmt.Errorf("open status periods: %w", err)
		}
		for _, k := range kept {
			if k {
				res.Continued++
			} else {
				res.Closed++
			}
		}
		for _, o := range opened {
			if o {
				res.Opened++
			}
		}
		return br.Close()
	})
	if err != nil {
		return RecordResult{}, err
	}
	return res, nil
}

// batchBools reads the next result of a batch: one boolean per row.
func batchBools(br pgx.BatchResults) ([]bool, error) {
	rows, err := br.Query()
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[bool])
}

// pgJSON makes a provider's JSON storable as jsonb, which refuses \u0000
// and lone UTF-16 surrogates that JSON itself allows: one odd answer must
// not fail a whole batch. Such a body goes through Go's decoder, which
// turns bad surrogates into U+FFFD, with NULs dropped; a body that is not
// JSON at all is not kept. nil for none.
func pgJSON(raw json.RawMessage) *string {
	if len(raw) == 0 {
		return nil
	}
	if !bytes.Contains(raw, []byte(`\u`)) && utf8.Valid(raw) && json.Valid(raw) {
		s := string(raw)
		return &s
	}
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil
	}
	b, err := json.Marshal(dropNUL(v))
	if err != nil {
		return nil
	}
	s := string(b)
	return &s
}

func dropNUL(v any) any {
	switch x := v.(type) {
	case string:
		return pgText(x)
	case []any:
		for i := range x {
			x[i] = dropNUL(x[i])
		}
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[pgText(k)] = dropNUL(e)
		}
		return out
	}
	return v
}

// latestPerTarget keeps each target's latest check: two checks of one
// target in one statement would fight over its open period.
func latestPerTarget(checks []CheckResult) []CheckResult {
	seen := make(map[int64]int, len(checks))
	dup := false
	for i, c := range checks {
		if j, ok := seen[c.TargetID]; ok {
			dup = true
			if c.CheckedAt.Before(checks[j].CheckedAt) {
				continue
			}
		}
		seen[c.TargetID] = i
	}
	if !dup {
		return checks
	}
	out := make([]CheckResult, 0, len(seen))
	for i, c := range checks {
		if seen[c.TargetID] == i {
			out = append(out, c)
		}
	}
	slices.SortFunc(out, func(a, b CheckResult) int { return a.CheckedAt.Compare(b.CheckedAt) })
	return out
}

// licence is a found Mawthoq answer's expiryDate and licenseNumber as the
// bi views read them (detail ->> 'expiryDate', detail ->> 'licenseNumber'),
// taken from the detail as stored (pgJSON's output, so the strings are the
// ones jsonb holds) with exact key names as jsonb matches them. expiry is
// nil when absent or not a string (syncer.iso_date would not read it as a
// date either). number is nil when absent or null; inSQL is set when it is
// something other than a string, which only jsonb prints as ->> does.
func licence(detail *string) (expiry, number *string, inSQL bool) {
	var d map[string]json.RawMessage
	if detail == nil || json.Unmarshal([]byte(*detail), &d) != nil {
		return nil, nil, false
	}
	str := func(raw json.RawMessage) (*string, bool) {
		var s string
		if len(raw) == 0 || raw[0] != '"' || json.Unmarshal(raw, &s) != nil {
			return nil, false
		}
		return &s, true
	}
	expiry, _ = str(d["expiryDate"])
	raw := d["licenseNumber"]
	number, ok := str(raw)
	return expiry, number, !ok && len(raw) > 0 && string(raw) != "null"
}
