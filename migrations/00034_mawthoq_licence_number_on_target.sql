-- Issue 15: "licences expiring within 30 days" at 100,000 Mawthoq targets
-- still read each returned target's last found period (a random heap fetch
-- per row, about 3,900 at the bench's scale) for one field, licenseNumber.
-- Each target now keeps that answer's licence number next to its expiry
-- (00023), written by store.RecordChecks in the same statement, and the view
-- reads it from there: a question asking for the licence number, expiry,
-- account and label touches no history row, and Postgres drops both
-- history joins from its plan (their keys are unique and nothing else of
-- them is read). The view's columns, their order, types and meaning are
-- unchanged.

-- +goose Up
ALTER TABLE syncer.tracked_targets ADD COLUMN license_number text;
COMMENT ON COLUMN syncer.tracked_targets.license_number IS
    'Mawthoq: licenseNumber of the period found_history_id names (the licence bi shows), kept by RecordChecks.';

UPDATE syncer.tracked_targets t
SET license_number = f.detail ->> 'licenseNumber'
FROM syncer.tracked_status_history f
WHERE f.id = t.found_history_id;

CREATE OR REPLACE VIEW bi.mawthoq_status_current AS
SELECT t.id                                           AS target_id,
       t.params ->> 'platform'                        AS platform,
       repeat('*', greatest(length(t.params ->> 'account') - 4, 0))
           || right(t.params ->> 'account', 4)        AS account_masked,
       t.subject_hash                                 AS account_hash,
       t.label,
       t.created_at                                   AS tracked_since,
       nullif(f.status, '')                           AS status,
       t.license_number                               AS license_number,
       t.license_expiry                               AS expiry_date,
       CASE WHEN t.license_expiry IS NULL
            THEN f.detail ->> 'expiryDate' END        AS expiry_date_unparsed,
       f.last_checked_at                              AS license_checked_at,
       h.outcome                                      AS last_check_outcome,
       nullif(t.last_checked_at, '-infinity')         AS last_check_at,
       CASE WHEN h.outcome <> 'found'
            THEN coalesce(nullif(h.message, ''), nullif(h.code, ''), h.outcome) END AS last_error,
       nullif(h.code, '')                             AS last_error_code,
       h.http_status                                  AS last_http_status,
       h.valid_from                                   AS last_outcome_since,
       -- Deprecated aliases (issue 15), as before 00008.
       h.outcome                                      AS outcome,
       nullif(t.last_checked_at, '-infinity')         AS last_checked_at,
       nullif(h.code, '')                             AS error_code,
       nullif(h.message, '')                          AS message,
       h.http_status                                  AS http_status,
       h.valid_from                                   AS valid_from,
       NULL::timestamptz                              AS valid_to
FROM syncer.tracked_targets t
LEFT JOIN syncer.tracked_status_history h ON h.id = t.current_history_id
LEFT JOIN syncer.tracked_status_history f ON f.id = t.found_history_id
WHERE t.kind = 'mawthoq' AND t.active;


-- +goose Down
CREATE OR REPLACE VIEW bi.mawthoq_status_current AS
SELECT t.id                                           AS target_id,
       t.params ->> 'platform'                        AS platform,
       repeat('*', greatest(length(t.params ->> 'account') - 4, 0))
           || right(t.params ->> 'account', 4)        AS account_masked,
       t.subject_hash                                 AS account_hash,
       t.label,
       t.created_at                                   AS tracked_since,
       nullif(f.status, '')                           AS status,
       f.detail ->> 'licenseNumber'                   AS license_number,
       t.license_expiry                               AS expiry_date,
       CASE WHEN t.license_expiry IS NULL
            THEN f.detail ->> 'expiryDate' END        AS expiry_date_unparsed,
       f.last_checked_at                              AS license_checked_at,
       h.outcome                                      AS last_check_outcome,
       nullif(t.last_checked_at, '-infinity')         AS last_check_at,
       CASE WHEN h.outcome <> 'found'
            THEN coalesce(nullif(h.message, ''), nullif(h.code, ''), h.outcome) END AS last_error,
       nullif(h.code, '')                             AS last_error_code,
       h.http_status                                  AS last_http_status,
       h.valid_from                                   AS last_outcome_since,
       -- Deprecated aliases (issue 15), as before 00008.
       h.outcome                                      AS outcome,
       nullif(t.last_checked_at, '-infinity')         AS last_checked_at,
       nullif(h.code, '')                             AS error_code,
       nullif(h.message, '')                          AS message,
       h.http_status                                  AS http_status,
       h.valid_from                                   AS valid_from,
       NULL::timestamptz                              AS valid_to
FROM syncer.tracked_targets t
LEFT JOIN syncer.tracked_status_history h ON h.id = t.current_history_id
LEFT JOIN syncer.tracked_status_history f ON f.id = t.found_history_id
WHERE t.kind = 'mawthoq' AND t.active;

ALTER TABLE syncer.tracked_targets DROP COLUMN license_number;
