-- Issue 15: "licences expiring within 30 days" at 100,000 Mawthoq targets.
-- bi.mawthoq_status_current found each target's last found answer with a
-- DISTINCT ON over every found period of every target, and its expiry_date
-- was computed from that answer's JSON: a filter on expiry_date could only
-- run after both, for every target. Each target now carries its last found
-- period (found_history_id) and that answer's expiry (license_expiry), kept
-- by store.RecordChecks in the same transaction as the history, and the
-- view reads them: an expiry filter is a range on an index of the targets,
-- and the last found answer is a primary-key lookup per row it returns.
-- The view's columns, their order, types and meaning are unchanged.

-- +goose Up
ALTER TABLE syncer.tracked_targets
    ADD COLUMN found_history_id bigint,
    ADD COLUMN license_expiry   date;
COMMENT ON COLUMN syncer.tracked_targets.found_history_id IS
    'Mawthoq: the latest status period whose outcome is found (the licence bi shows), kept by RecordChecks.';
COMMENT ON COLUMN syncer.tracked_targets.license_expiry IS
    'Mawthoq: syncer.iso_date of that period''s expiryDate, kept by RecordChecks so expiry filters use an index.';

UPDATE syncer.tracked_targets t
SET found_history_id = f.id,
    license_expiry = syncer.iso_date(f.detail ->> 'expiryDate')
FROM (
    SELECT DISTINCT ON (x.target_id) x.target_id, x.id, x.detail
    FROM syncer.tracked_status_history x
    WHERE x.outcome = 'found'
    ORDER BY x.target_id, x.valid_from DESC, x.id DESC) f
WHERE f.target_id = t.id AND t.kind = 'mawthoq';

CREATE INDEX tracked_targets_license_expiry
    ON syncer.tracked_targets (license_expiry) WHERE kind = 'mawthoq' AND active;

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
       syncer.iso_date(f.detail ->> 'expiryDate')     AS expiry_date,
       CASE WHEN syncer.iso_date(f.detail ->> 'expiryDate') IS NULL
            THEN f.detail ->> 'expiryDate' END        AS expiry_date_unparsed,
       f.last_checked_at                              AS license_checked_at,
       h.outcome                                      AS last_check_outcome,
       nullif(t.last_checked_at, '-infinity')         AS last_check_at,
       CASE WHEN h.outcome <> 'found'
            THEN coalesce(nullif(h.message, ''), nullif(h.code, ''), h.outcome) END AS last_error,
       nullif(h.code, '')                             AS last_error_code,
       h.http_status                                  AS last_http_status,
       h.valid_from                                   AS last_outcome_since,
       h.outcome                                      AS outcome,
       nullif(t.last_checked_at, '-infinity')         AS last_checked_at,
       nullif(h.code, '')                             AS error_code,
       nullif(h.message, '')                          AS message,
       h.http_status                                  AS http_status,
       h.valid_from                                   AS valid_from,
       NULL::timestamptz                              AS valid_to
FROM syncer.tracked_targets t
LEFT JOIN syncer.tracked_status_history h ON h.id = t.current_history_id
LEFT JOIN (
    SELECT DISTINCT ON (x.target_id) x.target_id, x.status, x.detail, x.last_checked_at
    FROM syncer.tracked_status_history x
    WHERE x.outcome = 'found'
    ORDER BY x.target_id, x.valid_from DESC, x.id DESC) f ON f.target_id = t.id
WHERE t.kind = 'mawthoq' AND t.active;
DROP INDEX syncer.tracked_targets_license_expiry;
ALTER TABLE syncer.tracked_targets DROP COLUMN found_history_id, DROP COLUMN license_expiry;
