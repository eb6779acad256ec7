-- Issue 10, the contract that tells the truth (columns listed in CHANGELOG.md):
-- * a spend revision says whether it replaced a figure while its day was still
--   open in MGID_TIMEZONE (intraday growth) or after it closed (a restatement),
--   and bi.mgid_client_spend_daily.revisions counts restatements only;
-- * each stored spend day says which zone its calendar day is in;
-- * the tracked "current" views keep the last definite answer (Mawthoq's last
--   `found` licence, Firstlight's last entitled/not_entitled) when a later
--   check fails, with the failed check beside it, and expiry_date is a date.
--
-- Revisions written before this migration are classified in the zone that
-- syncer.mgid_timezone() (migration 00007) gives at migration time: UTC
-- unless a job has recorded MGID_TIMEZONE. New rows are classified by the
-- spend job at write time in its own zone, so no read depends on a setting.

-- +goose Up

-- The zone the migration classifies old rows in; gone at commit.
-- +goose StatementBegin
DO $$
DECLARE
    zone text := 'UTC';
BEGIN
    IF to_regproc('syncer.mgid_timezone') IS NOT NULL THEN
        EXECUTE 'SELECT syncer.mgid_timezone()' INTO zone;
    END IF;
    CREATE TEMP TABLE migration_00008_zone ON COMMIT DROP AS SELECT zone AS name;
END
$$;
-- +goose StatementEnd

-- One row per agency per spend day: the zone whose calendar day spend_date
-- is. Kept per day rather than per client row (one value would repeat for
-- 10,000 clients) and rather than read from the current setting (a changed
-- MGID_TIMEZONE must not relabel days already stored).
CREATE TABLE syncer.mgid_spend_day (
    agency_id  bigint NOT NULL,
    spend_date date   NOT NULL,
    timezone   text   NOT NULL,
    PRIMARY KEY (agency_id, spend_date)
);
INSERT INTO syncer.mgid_spend_day (agency_id, spend_date, timezone)
SELECT d.agency_id, d.spend_date, z.name
FROM (SELECT DISTINCT agency_id, spend_date FROM syncer.mgid_client_spend_daily) d, migration_00008_zone z;

-- kind is stored, not computed in the view: the writer knows the zone, the
-- database need not, and a stored value can be indexed.
ALTER TABLE syncer.mgid_client_spend_revision ADD COLUMN kind text;
UPDATE syncer.mgid_client_spend_revision r
SET kind = CASE WHEN r.replaced_at >= (r.spend_date + 1)::timestamp AT TIME ZONE z.name
                THEN 'restatement' ELSE 'intraday' END
FROM migration_00008_zone z;
ALTER TABLE syncer.mgid_client_spend_revision
    ALTER COLUMN kind SET NOT NULL,
    ADD CONSTRAINT mgid_client_spend_revision_kind CHECK (kind IN ('intraday', 'restatement'));
-- "Restatements after close, recently": a range over the few restatement
-- rows only; intraday growth, most revisions, stays out of the index.
CREATE INDEX mgid_client_spend_restatement
    ON syncer.mgid_client_spend_revision (replaced_at) WHERE kind = 'restatement';

-- revisions now counts restatements only.
UPDATE syncer.mgid_client_spend_daily d
SET revisions = r.n
FROM (SELECT agency_id, spend_date, client_id, count(*) FILTER (WHERE kind = 'restatement') AS n
      FROM syncer.mgid_client_spend_revision
      GROUP BY agency_id, spend_date, client_id) r
WHERE (d.agency_id, d.spend_date, d.client_id) = (r.agency_id, r.spend_date, r.client_id)
  AND d.revisions <> r.n;

-- Columns only added at the end: CREATE OR REPLACE keeps the views' grants
-- and comments. The LEFT JOIN on the day table's key is removed by the
-- planner when a query does not read spend_timezone.
CREATE OR REPLACE VIEW bi.mgid_client_spend_daily AS
SELECT s.agency_id, s.client_id, s.spend_date, s.spent, s.first_seen_at, s.updated_at, s.revisions,
       sd.timezone AS spend_timezone
FROM syncer.mgid_client_spend_daily s
LEFT JOIN syncer.mgid_spend_day sd ON sd.agency_id = s.agency_id AND sd.spend_date = s.spend_date;

CREATE OR REPLACE VIEW bi.mgid_client_spend_revisions AS
SELECT agency_id, client_id, spend_date, spent, valid_from, replaced_at AS valid_to, kind
FROM syncer.mgid_client_spend_revision;

COMMENT ON VIEW bi.mgid_client_spend_daily IS
    'MGID spend per client per calendar day (in spend_timezone): the current value, with a count of restatements.';
COMMENT ON COLUMN bi.mgid_client_spend_daily.agency_id IS 'MGID agency account id.';
COMMENT ON COLUMN bi.mgid_client_spend_daily.client_id IS 'MGID client id.';
COMMENT ON COLUMN bi.mgid_client_spend_daily.spend_date IS 'Calendar day of the spend, in spend_timezone.';
COMMENT ON COLUMN bi.mgid_client_spend_daily.spent IS 'Amount spent that day, as MGID last reported it (numeric, agency currency).';
COMMENT ON COLUMN bi.mgid_client_spend_daily.first_seen_at IS 'When syncer first stored a figure for this client and day.';
COMMENT ON COLUMN bi.mgid_client_spend_daily.updated_at IS 'When the current figure was first seen.';
COMMENT ON COLUMN bi.mgid_client_spend_daily.revisions IS
    'How many times MGID changed the figure after the day had closed (restatements); growth while the day was open is not counted.';
COMMENT ON COLUMN bi.mgid_client_spend_daily.spend_timezone IS
    'IANA zone (MGID_TIMEZONE when the day was written) whose calendar day spend_date is.';

COMMENT ON VIEW bi.mgid_client_spend_revisions IS
    'Every MGID spend figure that a later figure replaced: what it was and when it held. kind separates intraday growth from restatements.';
COMMENT ON COLUMN bi.mgid_client_spend_revisions.agency_id IS 'MGID agency account id.';
COMMENT ON COLUMN bi.mgid_client_spend_revisions.client_id IS 'MGID client id.';
COMMENT ON COLUMN bi.mgid_client_spend_revisions.spend_date IS 'Calendar day of the spend, in the day''s spend_timezone.';
COMMENT ON COLUMN bi.mgid_client_spend_revisions.spent IS 'The replaced figure.';
COMMENT ON COLUMN bi.mgid_client_spend_revisions.valid_from IS 'When syncer first saw the replaced figure.';
COMMENT ON COLUMN bi.mgid_client_spend_revisions.valid_to IS 'When syncer saw the figure that replaced it.';
COMMENT ON COLUMN bi.mgid_client_spend_revisions.kind IS
    '''intraday'': replaced while spend_date was still open in spend_timezone (normal growth); ''restatement'': replaced after the day closed.';

-- Gmedia's spec gives no format for expiryDate; its answers (and the
-- simulator) use YYYY-MM-DD. Anything else, or an impossible date, is NULL
-- here and the text is shown as it came. Plain SQL, no exception handler
-- and not STRICT (a STRICT function whose body is a CASE is not inlined):
-- the planner inlines it, about 3x faster than a call per row over 100,000
-- targets. NULL in gives NULL out all the same.
-- +goose StatementBegin
CREATE FUNCTION syncer.iso_date(s text) RETURNS date
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
SELECT CASE
    WHEN s !~ '^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$' THEN NULL
    WHEN substr(s, 1, 4) = '0000' THEN NULL
    WHEN substr(s, 9, 2)::int > extract(day FROM make_date(substr(s, 1, 4)::int, substr(s, 6, 2)::int, 1)
                                                 + interval '1 month' - interval '1 day') THEN NULL
    ELSE make_date(substr(s, 1, 4)::int, substr(s, 6, 2)::int, substr(s, 9, 2)::int)
END
$$;
-- +goose StatementEnd

-- Each target's latest definite period, read off this index in order
-- (DISTINCT ON below, no sort). A DISTINCT ON join rather than a LATERAL
-- ... LIMIT 1 per target: both do one index pass over 100,000 targets, but
-- the LATERAL plan is costed high enough that default settings JIT-compile
-- it with optimisation, which took seconds for a sub-second read.
CREATE INDEX tracked_status_definite
    ON syncer.tracked_status_history (target_id, valid_from DESC, id DESC)
    WHERE outcome IN ('found', 'entitled', 'not_entitled');

-- expiry_date changes type and columns are renamed: these views are dropped
-- and created again, so each gets its comments here.
DROP VIEW bi.mawthoq_status_current;
DROP VIEW bi.mawthoq_status_history;
DROP VIEW bi.firstlight_redeem_current;

CREATE VIEW bi.mawthoq_status_history AS
SELECT t.id                                           AS target_id,
       t.params ->> 'platform'                        AS platform,
       repeat('*', greatest(length(t.params ->> 'account') - 4, 0))
           || right(t.params ->> 'account', 4)        AS account_masked,
       t.subject_hash                                 AS account_hash,
       t.label,
       h.outcome,
       nullif(h.status, '')                           AS status,
       nullif(h.code, '')                             AS error_code,
       nullif(h.message, '')                          AS message,
       h.http_status,
       h.detail ->> 'licenseNumber'                   AS license_number,
       syncer.iso_date(h.detail ->> 'expiryDate')     AS expiry_date,
       h.valid_from,
       h.valid_to,
       h.last_checked_at,
       h.checks,
       CASE WHEN syncer.iso_date(h.detail ->> 'expiryDate') IS NULL
            THEN h.detail ->> 'expiryDate' END        AS expiry_date_unparsed
FROM syncer.tracked_status_history h
JOIN syncer.tracked_targets t ON t.id = h.target_id
WHERE t.kind = 'mawthoq';

-- Every tracked (active) account: the licence as the last `found` answer
-- gave it, and beside it what the latest check said. A failed or
-- not-found check does not blank the licence; last_check_outcome tells.
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

-- Every tracked check: the last definite answer (entitled or not_entitled)
-- and beside it what the latest check said, which may be a failure
-- (auth_failed, invalid_request, provider_error) that does not replace it.
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

COMMENT ON VIEW bi.mawthoq_status_history IS
    'One row per status period of each tracked Mawthoq account: a period lasts while checks give the same outcome, status and code.';
COMMENT ON COLUMN bi.mawthoq_status_history.target_id IS 'Tracked target id (syncer tracked list).';
COMMENT ON COLUMN bi.mawthoq_status_history.platform IS 'Social-media platform, as Gmedia names it.';
COMMENT ON COLUMN bi.mawthoq_status_history.account_masked IS 'Operator ID number with all but the last 4 characters masked.';
COMMENT ON COLUMN bi.mawthoq_status_history.account_hash IS 'HMAC-SHA256 (hex) of the operator ID under SYNCER_HASH_KEY, to join without the number.';
COMMENT ON COLUMN bi.mawthoq_status_history.label IS 'Free label given when the account was tracked.';
COMMENT ON COLUMN bi.mawthoq_status_history.outcome IS 'found, not_found, invalid or provider_error.';
COMMENT ON COLUMN bi.mawthoq_status_history.status IS 'Licence status Gmedia gave (active, expired, suspended); NULL unless found.';
COMMENT ON COLUMN bi.mawthoq_status_history.error_code IS 'Gmedia error code, if any.';
COMMENT ON COLUMN bi.mawthoq_status_history.message IS 'Gmedia message or syncer''s description, of the latest check in the period.';
COMMENT ON COLUMN bi.mawthoq_status_history.http_status IS 'HTTP status of the latest check in the period; NULL when no answer arrived.';
COMMENT ON COLUMN bi.mawthoq_status_history.license_number IS 'Licence number from a found answer.';
COMMENT ON COLUMN bi.mawthoq_status_history.expiry_date IS 'Licence expiry date from a found answer; NULL when absent or not a YYYY-MM-DD date.';
COMMENT ON COLUMN bi.mawthoq_status_history.valid_from IS 'When the period began (the first check with this result).';
COMMENT ON COLUMN bi.mawthoq_status_history.valid_to IS 'When a different result ended the period; NULL while it is open.';
COMMENT ON COLUMN bi.mawthoq_status_history.last_checked_at IS 'Latest check in the period.';
COMMENT ON COLUMN bi.mawthoq_status_history.checks IS 'Number of checks in the period.';
COMMENT ON COLUMN bi.mawthoq_status_history.expiry_date_unparsed IS 'Gmedia''s expiryDate text when it is not a valid YYYY-MM-DD date; NULL otherwise.';

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

-- +goose Down
DROP VIEW bi.firstlight_redeem_current;
DROP VIEW bi.mawthoq_status_current;
DROP VIEW bi.mawthoq_status_history;
DROP INDEX syncer.tracked_status_definite;
DROP FUNCTION syncer.iso_date(text);

-- The definitions of 00003.
CREATE VIEW bi.mawthoq_status_history AS
SELECT t.id                                           AS target_id,
       t.params ->> 'platform'                        AS platform,
       repeat('*', greatest(length(t.params ->> 'account') - 4, 0))
           || right(t.params ->> 'account', 4)        AS account_masked,
       t.subject_hash                                 AS account_hash,
       t.label,
       h.outcome,
       nullif(h.status, '')                           AS status,
       nullif(h.code, '')                             AS error_code,
       nullif(h.message, '')                          AS message,
       h.http_status,
       h.detail ->> 'licenseNumber'                   AS license_number,
       h.detail ->> 'expiryDate'                      AS expiry_date,
       h.valid_from,
       h.valid_to,
       h.last_checked_at,
       h.checks
FROM syncer.tracked_status_history h
JOIN syncer.tracked_targets t ON t.id = h.target_id
WHERE t.kind = 'mawthoq';

CREATE VIEW bi.mawthoq_status_current AS
SELECT t.id                                           AS target_id,
       t.params ->> 'platform'                        AS platform,
       repeat('*', greatest(length(t.params ->> 'account') - 4, 0))
           || right(t.params ->> 'account', 4)        AS account_masked,
       t.subject_hash                                 AS account_hash,
       t.label,
       t.created_at                                   AS tracked_since,
       h.outcome,
       nullif(h.status, '')                           AS status,
       nullif(h.code, '')                             AS error_code,
       nullif(h.message, '')                          AS message,
       h.http_status,
       h.detail ->> 'licenseNumber'                   AS license_number,
       h.detail ->> 'expiryDate'                      AS expiry_date,
       h.valid_from,
       h.valid_to,
       nullif(t.last_checked_at, '-infinity')         AS last_checked_at
FROM syncer.tracked_targets t
LEFT JOIN syncer.tracked_status_history h ON h.id = t.current_history_id
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
       h.outcome,
       nullif(h.code, '')                             AS error_code,
       nullif(h.message, '')                          AS description,
       h.http_status,
       h.detail ->> 'tracking_id'                     AS tracking_id,
       h.valid_from,
       h.valid_to,
       nullif(t.last_checked_at, '-infinity')         AS last_checked_at
FROM syncer.tracked_targets t
LEFT JOIN syncer.tracked_status_history h ON h.id = t.current_history_id
WHERE t.kind = 'firstlight' AND t.active;

-- A view cannot lose columns in place: the spend views are created again as
-- 00002 had them.
DROP VIEW bi.mgid_client_spend_revisions;
DROP VIEW bi.mgid_client_spend_daily;
CREATE VIEW bi.mgid_client_spend_daily AS
SELECT agency_id, client_id, spend_date, spent, first_seen_at, updated_at, revisions
FROM syncer.mgid_client_spend_daily;
CREATE VIEW bi.mgid_client_spend_revisions AS
SELECT agency_id, client_id, spend_date, spent, valid_from, replaced_at AS valid_to
FROM syncer.mgid_client_spend_revision;

-- revisions counts every replaced value again, as before 00008.
UPDATE syncer.mgid_client_spend_daily d
SET revisions = r.n
FROM (SELECT agency_id, spend_date, client_id, count(*) AS n
      FROM syncer.mgid_client_spend_revision
      GROUP BY agency_id, spend_date, client_id) r
WHERE (d.agency_id, d.spend_date, d.client_id) = (r.agency_id, r.spend_date, r.client_id)
  AND d.revisions <> r.n;
DROP INDEX syncer.mgid_client_spend_restatement;
ALTER TABLE syncer.mgid_client_spend_revision DROP COLUMN kind;
DROP TABLE syncer.mgid_spend_day;
