-- Issue 15: the columns issue 10 (00008) renamed in bi.mawthoq_status_current
-- and bi.firstlight_redeem_current come back under their old names, as
-- deprecated aliases, so a dashboard written against the old names keeps
-- working for a release while it moves to the new ones. Appended at the end
-- (CREATE OR REPLACE VIEW may only add columns after the existing ones), with
-- the meaning they had before 00008: the latest check's own values.
-- expiry_date's retype (text -> date) has no alias: a column cannot have two
-- types under one name; expiry_date_unparsed keeps the text that is not a date.

-- +goose Up
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
LEFT JOIN (
    SELECT DISTINCT ON (x.target_id) x.target_id, x.status, x.detail, x.last_checked_at
    FROM syncer.tracked_status_history x
    WHERE x.outcome = 'found'
    ORDER BY x.target_id, x.valid_from DESC, x.id DESC) f ON f.target_id = t.id
WHERE t.kind = 'mawthoq' AND t.active;

COMMENT ON COLUMN bi.mawthoq_status_current.outcome IS 'Deprecated (issue 15; to be removed in a later release): use last_check_outcome.';
COMMENT ON COLUMN bi.mawthoq_status_current.last_checked_at IS 'Deprecated (issue 15; to be removed in a later release): use last_check_at.';
COMMENT ON COLUMN bi.mawthoq_status_current.error_code IS 'Deprecated (issue 15; to be removed in a later release): use last_error_code.';
COMMENT ON COLUMN bi.mawthoq_status_current.message IS 'Deprecated (issue 15; to be removed in a later release): the latest check''s message as before issue 10; use last_error.';
COMMENT ON COLUMN bi.mawthoq_status_current.http_status IS 'Deprecated (issue 15; to be removed in a later release): use last_http_status.';
COMMENT ON COLUMN bi.mawthoq_status_current.valid_from IS 'Deprecated (issue 15; to be removed in a later release): use last_outcome_since.';
COMMENT ON COLUMN bi.mawthoq_status_current.valid_to IS 'Deprecated (issue 15; to be removed in a later release): always NULL (the current period is open).';

CREATE OR REPLACE VIEW bi.firstlight_redeem_current AS
SELECT t.id                                           AS target_id,
       t.natural_key                                  AS check_name,
       t.params ->> 'device_id'                       AS device_id,
       t.params ->> 'content_id'                      AS content_id,
       t.params ->> 'content_type'                    AS content_type,
       t.params ->> 'catalog_type'                    AS catalog_type,
       t.params ->> 'delivery'                        AS delivery,
       t.params ->> 'user_token_ref'                  AS user_token_ref,
       t.created_at                                   AS tracked_since,
       a.outcome                                      AS entitlement,
       nullif(a.code, '')                             AS entitlement_code,
       nullif(a.message, '')                          AS entitlement_description,
       a.detail ->> 'tracking_id'                     AS tracking_id,
       a.valid_from                                   AS entitlement_since,
       a.last_checked_at                              AS entitlement_checked_at,
       h.outcome                                      AS last_check_outcome,
       nullif(t.last_checked_at, '-infinity')         AS last_check_at,
       CASE WHEN h.outcome NOT IN ('entitled', 'not_entitled')
            THEN coalesce(nullif(h.message, ''), nullif(h.code, ''), h.outcome) END AS last_error,
       CASE WHEN h.outcome NOT IN ('entitled', 'not_entitled')
            THEN nullif(h.code, '') END               AS last_error_code,
       h.http_status                                  AS last_http_status,
       h.detail ->> 'tracking_id'                     AS last_tracking_id,
       h.valid_from                                   AS last_outcome_since,
       -- Deprecated aliases (issue 15), as before 00008.
       h.outcome                                      AS outcome,
       nullif(h.code, '')                             AS error_code,
       nullif(h.message, '')                          AS description,
       h.http_status                                  AS http_status,
       h.valid_from                                   AS valid_from,
       NULL::timestamptz                              AS valid_to,
       nullif(t.last_checked_at, '-infinity')         AS last_checked_at
FROM syncer.tracked_targets t
LEFT JOIN syncer.tracked_status_history h ON h.id = t.current_history_id
LEFT JOIN (
    SELECT DISTINCT ON (x.target_id) x.target_id, x.outcome, x.code, x.message, x.detail, x.valid_from, x.last_checked_at
    FROM syncer.tracked_status_history x
    WHERE x.outcome IN ('entitled', 'not_entitled')
    ORDER BY x.target_id, x.valid_from DESC, x.id DESC) a ON a.target_id = t.id
WHERE t.kind = 'firstlight' AND t.active;

COMMENT ON COLUMN bi.firstlight_redeem_current.outcome IS 'Deprecated (issue 15; to be removed in a later release): use last_check_outcome.';
COMMENT ON COLUMN bi.firstlight_redeem_current.error_code IS 'Deprecated (issue 15; to be removed in a later release): the latest check''s code as before issue 10, set for every outcome; use last_error_code or entitlement_code.';
COMMENT ON COLUMN bi.firstlight_redeem_current.description IS 'Deprecated (issue 15; to be removed in a later release): the latest check''s description as before issue 10; use last_error or entitlement_description.';
COMMENT ON COLUMN bi.firstlight_redeem_current.http_status IS 'Deprecated (issue 15; to be removed in a later release): use last_http_status.';
COMMENT ON COLUMN bi.firstlight_redeem_current.valid_from IS 'Deprecated (issue 15; to be removed in a later release): use last_outcome_since.';
COMMENT ON COLUMN bi.firstlight_redeem_current.valid_to IS 'Deprecated (issue 15; to be removed in a later release): always NULL (the current period is open).';
COMMENT ON COLUMN bi.firstlight_redeem_current.last_checked_at IS 'Deprecated (issue 15; to be removed in a later release): use last_check_at.';

-- +goose Down
-- Views cannot drop columns in place: created again as 00008 left them.
DROP VIEW bi.mawthoq_status_current;
DROP VIEW bi.firstlight_redeem_current;
CREATE VIEW bi.mawthoq_status_current AS
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
       h.valid_from                                   AS last_outcome_since
FROM syncer.tracked_targets t
LEFT JOIN syncer.tracked_status_history h ON h.id = t.current_history_id
LEFT JOIN (
    SELECT DISTINCT ON (x.target_id) x.target_id, x.status, x.detail, x.last_checked_at
    FROM syncer.tracked_status_history x
    WHERE x.outcome = 'found'
    ORDER BY x.target_id, x.valid_from DESC, x.id DESC) f ON f.target_id = t.id
WHERE t.kind = 'mawthoq' AND t.active;

CREATE VIEW bi.firstlight_redeem_current AS
SELECT t.id                                           AS target_id,
       t.natural_key                                  AS check_name,
       t.params ->> 'device_id'                       AS device_id,
       t.params ->> 'content_id'                      AS content_id,
       t.params ->> 'content_type'                    AS content_type,
       t.params ->> 'catalog_type'                    AS catalog_type,
       t.params ->> 'delivery'                        AS delivery,
       t.params ->> 'user_token_ref'                  AS user_token_ref,
       t.created_at                                   AS tracked_since,
       a.outcome                                      AS entitlement,
       nullif(a.code, '')                             AS entitlement_code,
       nullif(a.message, '')                          AS entitlement_description,
       a.detail ->> 'tracking_id'                     AS tracking_id,
       a.valid_from                                   AS entitlement_since,
       a.last_checked_at                              AS entitlement_checked_at,
       h.outcome                                      AS last_check_outcome,
       nullif(t.last_checked_at, '-infinity')         AS last_check_at,
       CASE WHEN h.outcome NOT IN ('entitled', 'not_entitled')
            THEN coalesce(nullif(h.message, ''), nullif(h.code, ''), h.outcome) END AS last_error,
       CASE WHEN h.outcome NOT IN ('entitled', 'not_entitled')
            THEN nullif(h.code, '') END               AS last_error_code,
       h.http_status                                  AS last_http_status,
       h.detail ->> 'tracking_id'                     AS last_tracking_id,
       h.valid_from                                   AS last_outcome_since
FROM syncer.tracked_targets t
LEFT JOIN syncer.tracked_status_history h ON h.id = t.current_history_id
LEFT JOIN (
    SELECT DISTINCT ON (x.target_id) x.target_id, x.outcome, x.code, x.message, x.detail, x.valid_from, x.last_checked_at
    FROM syncer.tracked_status_history x
    WHERE x.outcome IN ('entitled', 'not_entitled')
    ORDER BY x.target_id, x.valid_from DESC, x.id DESC) a ON a.target_id = t.id
WHERE t.kind = 'firstlight' AND t.active;

COMMENT ON VIEW bi.mawthoq_status_current IS
    'Every actively tracked Mawthoq account: the licence from the last found answer, and the latest check''s outcome beside it.';
COMMENT ON COLUMN bi.mawthoq_status_current.target_id IS 'Tracked target id (syncer tracked list).';
COMMENT ON COLUMN bi.mawthoq_status_current.platform IS 'Social-media platform, as Gmedia names it.';
COMMENT ON COLUMN bi.mawthoq_status_current.account_masked IS 'Operator ID number with all but the last 4 characters masked.';
COMMENT ON COLUMN bi.mawthoq_status_current.account_hash IS 'HMAC-SHA256 (hex) of the operator ID under SYNCER_HASH_KEY, to join without the number.';
COMMENT ON COLUMN bi.mawthoq_status_current.label IS 'Free label given when the account was tracked.';
COMMENT ON COLUMN bi.mawthoq_status_current.tracked_since IS 'When the account was first tracked.';
COMMENT ON COLUMN bi.mawthoq_status_current.status IS 'Licence status (active, expired, suspended) from the last found answer; NULL if none was ever found.';
COMMENT ON COLUMN bi.mawthoq_status_current.license_number IS 'Licence number from the last found answer.';
COMMENT ON COLUMN bi.mawthoq_status_current.expiry_date IS 'Licence expiry date from the last found answer; NULL when absent or not a YYYY-MM-DD date.';
COMMENT ON COLUMN bi.mawthoq_status_current.expiry_date_unparsed IS 'The last found answer''s expiryDate text when it is not a valid YYYY-MM-DD date; NULL otherwise.';
COMMENT ON COLUMN bi.mawthoq_status_current.license_checked_at IS 'Latest check that found this licence (how fresh status, license_number and expiry_date are).';
COMMENT ON COLUMN bi.mawthoq_status_current.last_check_outcome IS 'Outcome of the latest check: found, not_found, invalid or provider_error; NULL before the first check.';
COMMENT ON COLUMN bi.mawthoq_status_current.last_check_at IS 'When the account was last checked; NULL before the first check.';
COMMENT ON COLUMN bi.mawthoq_status_current.last_error IS 'Why the latest check did not find a licence (message, else code, else outcome); NULL when it found one.';
COMMENT ON COLUMN bi.mawthoq_status_current.last_error_code IS 'Gmedia error code of the latest check, if any.';
COMMENT ON COLUMN bi.mawthoq_status_current.last_http_status IS 'HTTP status of the latest check; NULL when no answer arrived.';
COMMENT ON COLUMN bi.mawthoq_status_current.last_outcome_since IS 'Since when checks have given the latest check''s result.';

COMMENT ON VIEW bi.firstlight_redeem_current IS
    'Every actively tracked Firstlight redeem check: the last definite answer (entitled or not_entitled), and the latest check''s outcome beside it.';
COMMENT ON COLUMN bi.firstlight_redeem_current.target_id IS 'Tracked target id (syncer tracked list).';
COMMENT ON COLUMN bi.firstlight_redeem_current.check_name IS 'Name the check was tracked under.';
COMMENT ON COLUMN bi.firstlight_redeem_current.device_id IS 'Device the check asks about.';
COMMENT ON COLUMN bi.firstlight_redeem_current.content_id IS 'Content the check asks about.';
COMMENT ON COLUMN bi.firstlight_redeem_current.content_type IS 'Firstlight content type.';
COMMENT ON COLUMN bi.firstlight_redeem_current.catalog_type IS 'Firstlight catalog type.';
COMMENT ON COLUMN bi.firstlight_redeem_current.delivery IS 'Firstlight delivery (stream or download).';
COMMENT ON COLUMN bi.firstlight_redeem_current.user_token_ref IS 'Name of the user token reference (never the token).';
COMMENT ON COLUMN bi.firstlight_redeem_current.tracked_since IS 'When the check was first tracked.';
COMMENT ON COLUMN bi.firstlight_redeem_current.entitlement IS 'Last definite answer: entitled or not_entitled; NULL if none yet.';
COMMENT ON COLUMN bi.firstlight_redeem_current.entitlement_code IS 'Firstlight code of the last definite answer (40400140 for not_entitled).';
COMMENT ON COLUMN bi.firstlight_redeem_current.entitlement_description IS 'Firstlight description of the last definite answer.';
COMMENT ON COLUMN bi.firstlight_redeem_current.tracking_id IS 'Firstlight tracking id of the last definite answer.';
COMMENT ON COLUMN bi.firstlight_redeem_current.entitlement_since IS 'Since when checks have given the last definite answer (start of its period).';
COMMENT ON COLUMN bi.firstlight_redeem_current.entitlement_checked_at IS 'Latest check that gave the last definite answer.';
COMMENT ON COLUMN bi.firstlight_redeem_current.last_check_outcome IS 'Outcome of the latest check: entitled, not_entitled, auth_failed, invalid_request or provider_error; NULL before the first check.';
COMMENT ON COLUMN bi.firstlight_redeem_current.last_check_at IS 'When the check last ran; NULL before the first check.';
COMMENT ON COLUMN bi.firstlight_redeem_current.last_error IS 'Why the latest check gave no definite answer (description, else code, else outcome); NULL when it gave one.';
COMMENT ON COLUMN bi.firstlight_redeem_current.last_error_code IS 'Firstlight or syncer error code of the latest check when it failed.';
COMMENT ON COLUMN bi.firstlight_redeem_current.last_http_status IS 'HTTP status of the latest check; NULL when no answer arrived.';
COMMENT ON COLUMN bi.firstlight_redeem_current.last_tracking_id IS 'Firstlight tracking id of the latest check, if it had one.';
COMMENT ON COLUMN bi.firstlight_redeem_current.last_outcome_since IS 'Since when checks have given the latest check''s result.';
