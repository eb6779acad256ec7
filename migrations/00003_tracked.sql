-- Tracked status checks: the targets syncer re-checks on schedule (Mawthoq
-- licences at Gmedia, Firstlight redeem entitlements) and one row per status
-- period of each. One pair of tables serves both providers; a provider's own
-- fields live in params. Full national ID numbers are in these internal
-- tables only: the bi views mask them.

-- +goose Up
CREATE TABLE syncer.tracked_targets (
    id              bigserial   PRIMARY KEY,
    kind            text        NOT NULL CHECK (kind IN ('mawthoq', 'firstlight')),
    -- mawthoq: "platform:account"; firstlight: the check's name.
    natural_key     text        NOT NULL,
    -- mawthoq: {platform, account}; firstlight: {device_id, content_id,
    -- content_type, catalog_type, delivery, user_token_ref}. Never a user
    -- token: only the name of the reference that resolves to one at run time.
    params          jsonb       NOT NULL,
    label           text        NOT NULL DEFAULT '',
    -- mawthoq: HMAC-SHA256 of the account under SYNCER_HASH_KEY, hex,
    -- computed by syncer: the key never reaches the database.
    subject_hash    text,
    active          boolean     NOT NULL DEFAULT true,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    removed_at      timestamptz,
    -- '-infinity' until the first check: NOT NULL keeps "due" a plain
    -- range that the claim reads off the index in order, whatever the
    -- planner's statistics say.
    last_checked_at timestamptz NOT NULL DEFAULT '-infinity',
    -- The open status period, so recording a check finds it by primary key.
    current_history_id bigint,
    -- A claim: the replica checking the target holds it until lease_until,
    -- so a crashed replica's targets come back when its leases run out.
    lease_until     timestamptz,
    leased_by       text,
    UNIQUE (kind, natural_key),
    CHECK (active = (removed_at IS NULL))
);
-- The claim walks this in order, never-checked and stalest first.
CREATE INDEX tracked_targets_due
    ON syncer.tracked_targets (kind, last_checked_at, id) WHERE active;

-- One row per status period of a target. A check that finds what the open
-- period says moves only last_checked_at (and checks); a different outcome,
-- status or code closes it (valid_to) and opens a new one.
CREATE TABLE syncer.tracked_status_history (
    id              bigserial   PRIMARY KEY,
    target_id       bigint      NOT NULL REFERENCES syncer.tracked_targets (id),
    outcome         text        NOT NULL,
    status          text        NOT NULL DEFAULT '',  -- mawthoq: active|expired|suspended
    code            text        NOT NULL DEFAULT '',  -- provider error code
    message         text        NOT NULL DEFAULT '',  -- provider message or description, of the latest check
    http_status     integer,
    -- Of the latest check in the period: Gmedia's raw 200 body, or
    -- {"tracking_id": ...} for Firstlight.
    detail          jsonb,
    valid_from      timestamptz NOT NULL,
    valid_to        timestamptz,
    last_checked_at timestamptz NOT NULL,
    checks          integer     NOT NULL DEFAULT 1,
    run_id          bigint,
    CHECK (valid_to IS NULL OR valid_to >= valid_from)
);
-- At most one open period per target, even if two replicas record it at once.
CREATE UNIQUE INDEX tracked_status_current
    ON syncer.tracked_status_history (target_id) WHERE valid_to IS NULL;
CREATE INDEX tracked_status_history_target
    ON syncer.tracked_status_history (target_id, valid_from);

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

-- Every tracked (active) account, with its open period; outcome is NULL
-- until the first check.
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

CREATE VIEW bi.firstlight_redeem_history AS
SELECT t.id                                           AS target_id,
       t.natural_key                                  AS check_name,
       t.params ->> 'device_id'                       AS device_id,
       t.params ->> 'content_id'                      AS content_id,
       t.params ->> 'content_type'                    AS content_type,
       t.params ->> 'catalog_type'                    AS catalog_type,
       t.params ->> 'delivery'                        AS delivery,
       t.params ->> 'user_token_ref'                  AS user_token_ref,
       h.outcome,
       nullif(h.code, '')                             AS error_code,
       nullif(h.message, '')                          AS description,
       h.http_status,
       h.detail ->> 'tracking_id'                     AS tracking_id,
       h.valid_from,
       h.valid_to,
       h.last_checked_at,
       h.checks
FROM syncer.tracked_status_history h
JOIN syncer.tracked_targets t ON t.id = h.target_id
WHERE t.kind = 'firstlight';

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

-- +goose Down
DROP VIEW bi.firstlight_redeem_current;
DROP VIEW bi.firstlight_redeem_history;
DROP VIEW bi.mawthoq_status_current;
DROP VIEW bi.mawthoq_status_history;
DROP TABLE syncer.tracked_status_history;
DROP TABLE syncer.tracked_targets;
