-- Observability: truthful freshness, explicit coverage, a read-only BI role
-- and a data dictionary on every bi view.
--
-- Freshness needs two facts SQL could not see before: whether a run read
-- provider data (syncer.runs.observed, set by the runner from what the job
-- reports) and how often a job is expected to run (syncer.job_schedules,
-- written by `syncer run` at start: schedules live in configuration).
--
-- Coverage needs to know which spend days were fetched even when no client
-- spent anything (syncer.mgid_spend_fetches) and in which zone MGID's days
-- close (syncer.settings 'mgid_timezone', written by the commands that run
-- MGID jobs; UTC, MGID_TIMEZONE's default, until then).

-- +goose Up

-- Did the run read data from its provider? Set by the job (Run.MarkObserved)
-- and kept only for runs that succeeded: a top-up round skipped for a stale
-- snapshot, or a tracked round whose every check failed, reads nothing.
ALTER TABLE syncer.runs ADD COLUMN observed boolean NOT NULL DEFAULT false;

-- Runs recorded before this migration did not say; infer it from their
-- details, the same rules the jobs now apply.
UPDATE syncer.runs SET observed = true
WHERE status = 'succeeded'
  AND CASE job
      WHEN 'mgid-topup' THEN
          NOT coalesce(detail ?| array['skipped_no_snapshot', 'skipped_stale_snapshot', 'agency_busy'], false)
      WHEN 'mawthoq-recheck' THEN
          EXISTS (SELECT 1 FROM jsonb_each_text(coalesce(detail, '{}')) e
                  WHERE e.key <> 'provider_error' AND e.value::numeric > 0)
      WHEN 'firstlight-redeem' THEN
          EXISTS (SELECT 1 FROM jsonb_each_text(coalesce(detail, '{}')) e
                  WHERE e.key <> 'provider_error' AND e.value::numeric > 0)
      ELSE true
      END;

-- Freshness reads the latest observed live run of a job off this index.
CREATE INDEX runs_job_observed ON syncer.runs (job, finished_at DESC)
    WHERE status = 'succeeded' AND observed AND trigger <> 'backfill';

-- Each job's schedule as the daemon last started with it. Several replicas
-- upsert the same rows; the last to start wins, and replicas are meant to
-- share one configuration.
CREATE TABLE syncer.job_schedules (
    job               text        PRIMARY KEY,
    schedule          text        NOT NULL,
    enabled           boolean     NOT NULL,
    -- The longest gap between two ticks of the schedule.
    tick_interval     interval    NOT NULL,
    -- How long fresh data may take to arrive: the tick interval, plus the
    -- recheck period for tracked checks (a round checks only due targets).
    expected_interval interval    NOT NULL,
    recorded_at       timestamptz NOT NULL DEFAULT now(),
    recorded_by       text        NOT NULL
);

-- Configuration SQL must agree with: mgid_timezone, the zone whose calendar
-- days MGID reports spend in (MGID_TIMEZONE).
CREATE TABLE syncer.settings (
    key        text        PRIMARY KEY,
    value      text        NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- One row per agency and spend day fetched, whether or not any client
-- spent: a day with no spend rows is still known, not missing.
CREATE TABLE syncer.mgid_spend_fetches (
    agency_id        bigint      NOT NULL,
    spend_date       date        NOT NULL,
    first_fetched_at timestamptz NOT NULL,
    last_fetched_at  timestamptz NOT NULL,
    fetches          integer     NOT NULL DEFAULT 1,
    run_id           bigint      NOT NULL,
    PRIMARY KEY (agency_id, spend_date)
);
-- Days stored before this migration were fetched at least when their rows
-- were last written; a day fetched with no spend left no trace to recover.
INSERT INTO syncer.mgid_spend_fetches (agency_id, spend_date, first_fetched_at, last_fetched_at, fetches, run_id)
SELECT agency_id, spend_date, min(first_seen_at), max(updated_at), 1, max(run_id)
FROM syncer.mgid_client_spend_daily
GROUP BY agency_id, spend_date;

-- Coverage asks, per agency and day, whether a value changed after the day closed.
CREATE INDEX mgid_client_spend_revision_day
    ON syncer.mgid_client_spend_revision (agency_id, spend_date, replaced_at);

CREATE OR REPLACE VIEW bi.sync_runs AS
SELECT id            AS run_id,
       job,
       trigger,
       status,
       started_at,
       finished_at,
       rows_written,
       window_date,
       detail,
       error_class,
       error_message AS error,
       observed
FROM syncer.runs;

-- Every job a daemon scheduled or that ever ran. The first three columns
-- keep their names and meaning (last_success_at is now truthful).
CREATE OR REPLACE VIEW bi.source_freshness AS
WITH jobs AS (
    SELECT job FROM syncer.job_schedules
    UNION
    SELECT DISTINCT job FROM syncer.runs
)
SELECT j.job,
       ok.last_success_at,
       now() - ok.last_success_at                              AS age,
       s.expected_interval,
       CASE WHEN s.enabled IS FALSE THEN false
            WHEN ok.last_success_at IS NULL THEN true
            WHEN s.job IS NULL THEN false
            ELSE now() - ok.last_success_at > s.expected_interval + s.tick_interval
       END                                                     AS stale,
       s.expected_interval + s.tick_interval                   AS stale_after,
       s.schedule,
       s.enabled
FROM jobs j
LEFT JOIN syncer.job_schedules s ON s.job = j.job
LEFT JOIN LATERAL (
    SELECT max(r.finished_at) AS last_success_at
    FROM syncer.runs r
    WHERE r.job = j.job AND r.status = 'succeeded' AND r.observed AND r.trigger <> 'backfill'
) ok ON true;

-- Source x agency x day, in MGID_TIMEZONE days, from each agency's first
-- observed day to today. Balances are snapshots and are never restated.
-- The balances arm reads the snapshot table by primary-key probes (each
-- agency, its first snapshot, each day's latest) instead of grouping every
-- snapshot: 60 days of 5 agencies cost a few hundred probes, not a pass
-- over years of 15-minute snapshots.
CREATE VIEW bi.coverage AS
WITH RECURSIVE calendar AS (
    SELECT z.tz, (now() AT TIME ZONE z.tz)::date AS today
    FROM (SELECT coalesce((SELECT value FROM syncer.settings WHERE key = 'mgid_timezone'), 'UTC') AS tz) z
), spend_days AS (
    SELECT a.agency_id, d::date AS day, (d + interval '1 day') AT TIME ZONE c.tz AS closes_at
    FROM (SELECT agency_id, min(spend_date) AS first_day FROM syncer.mgid_spend_fetches GROUP BY agency_id) a
    CROSS JOIN calendar c
    CROSS JOIN LATERAL generate_series(a.first_day::timestamp, c.today::timestamp, interval '1 day') d
), balance_agencies (agency_id) AS (
    SELECT min(agency_id) FROM syncer.mgid_agency_balance
    UNION ALL
    SELECT (SELECT min(b.agency_id) FROM syncer.mgid_agency_balance b WHERE b.agency_id > ba.agency_id)
    FROM balance_agencies ba WHERE ba.agency_id IS NOT NULL
)
SELECT 'mgid-spend'::text AS source,
       s.agency_id,
       s.day,
       CASE WHEN f.spend_date IS NULL THEN 'missing'
            WHEN now() < s.closes_at THEN 'provisional'
            WHEN EXISTS (SELECT 1 FROM syncer.mgid_client_spend_revision r
                         WHERE r.agency_id = s.agency_id AND r.spend_date = s.day
                           AND r.replaced_at >= s.closes_at) THEN 'restated'
            WHEN f.last_fetched_at >= s.closes_at THEN 'observed'
            -- Read only while the day was open: its final value is not known yet.
            ELSE 'provisional'
       END AS state,
       f.last_fetched_at AS last_observed_at
FROM spend_days s
LEFT JOIN syncer.mgid_spend_fetches f ON f.agency_id = s.agency_id AND f.spend_date = s.day
UNION ALL
SELECT 'mgid-balances'::text,
       a.agency_id,
       d::date,
       CASE WHEN snap.last_at IS NULL THEN 'missing'
            WHEN d::date >= c.today THEN 'provisional'
            ELSE 'observed'
       END,
       snap.last_at
FROM balance_agencies a
CROSS JOIN calendar c
CROSS JOIN LATERAL (SELECT min(b.captured_at) AS first_at FROM syncer.mgid_agency_balance b
                    WHERE b.agency_id = a.agency_id) first
CROSS JOIN LATERAL generate_series((first.first_at AT TIME ZONE c.tz)::date::timestamp, c.today::timestamp,
                                   interval '1 day') d
CROSS JOIN LATERAL (SELECT max(b.captured_at) AS last_at FROM syncer.mgid_agency_balance b
                    WHERE b.agency_id = a.agency_id
                      AND b.captured_at >= d AT TIME ZONE c.tz
                      AND b.captured_at < (d + interval '1 day') AT TIME ZONE c.tz) snap
WHERE a.agency_id IS NOT NULL;

-- The read-only BI role. Roles belong to the whole server, and many
-- databases (tests, other environments) may migrate at once: creating it is
-- idempotent, and a concurrent creator's win is not an error. A migrating
-- user without CREATEROLE gets a warning, not a failed migration; a DBA
-- then creates the role and re-runs the grants below (see README).
-- +goose StatementBegin
DO $$
BEGIN
    CREATE ROLE syncer_bi NOLOGIN;
EXCEPTION
    WHEN duplicate_object OR unique_violation THEN NULL;
    WHEN insufficient_privilege THEN
        RAISE WARNING 'cannot create role syncer_bi (%): create it and grant it as README.md shows', SQLERRM;
END
$$;
-- +goose StatementEnd

-- +goose StatementBegin
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'syncer_bi') THEN
        GRANT USAGE ON SCHEMA bi TO syncer_bi;
        GRANT SELECT ON ALL TABLES IN SCHEMA bi TO syncer_bi;
        -- Views later migrations create (as this same user) are covered too.
        ALTER DEFAULT PRIVILEGES IN SCHEMA bi GRANT SELECT ON TABLES TO syncer_bi;
        -- Nothing in syncer: BI reads the contract, never the internals.
        REVOKE ALL ON SCHEMA syncer FROM syncer_bi;
    END IF;
END
$$;
-- +goose StatementEnd

-- The data dictionary. Comments go through a list, and a column another
-- migration has since renamed or dropped is skipped rather than failing the
-- migration: the test that every bi column has a comment catches the rest.
COMMENT ON SCHEMA bi IS 'The BI contract: stable views over syncer''s history. Dashboards read only this schema.';

-- +goose StatementBegin
DO $$
DECLARE
    c record;
BEGIN
    FOR c IN SELECT * FROM (VALUES
        ('sync_runs', NULL, 'One row per job run: scheduled, catch-up, manual, or one backfill day.'),
        ('sync_runs', 'run_id', 'Run identifier.'),
        ('sync_runs', 'job', 'Job name, e.g. mgid-spend.'),
        ('sync_runs', 'trigger', 'What started the run: schedule, catchup, manual or backfill.'),
        ('sync_runs', 'status', 'running, succeeded, failed or cancelled.'),
        ('sync_runs', 'started_at', 'When the run started.'),
        ('sync_runs', 'finished_at', 'When the run ended; NULL while running.'),
        ('sync_runs', 'rows_written', 'Rows the run wrote (0 for a failed run: its writes were rolled back).'),
        ('sync_runs', 'window_date', 'The day a backfill run covered; NULL for other runs.'),
        ('sync_runs', 'detail', 'Per-run counters as JSON, e.g. tracked checks by outcome.'),
        ('sync_runs', 'error_class', 'Class of the failure: provider error kind, timeout, cancelled, abandoned...'),
        ('sync_runs', 'error', 'The failure message; never holds a secret.'),
        ('sync_runs', 'observed', 'True when the run succeeded and read data from its provider (not a skipped round, not a round whose every check failed).'),

        ('source_freshness', NULL, 'Per job: when it last read provider data in a live run, and whether that is older than its schedule allows.'),
        ('source_freshness', 'job', 'Job name.'),
        ('source_freshness', 'last_success_at', 'End of the latest successful live run that read provider data; backfills, skipped rounds and rounds whose every check failed do not count. NULL if never.'),
        ('source_freshness', 'age', 'now() - last_success_at; NULL if never.'),
        ('source_freshness', 'expected_interval', 'How often fresh data is expected: the longest gap of the schedule, plus the recheck period for tracked checks. NULL until a daemon recorded the schedule.'),
        ('source_freshness', 'stale', 'True when an enabled job never read data or its age exceeds stale_after. False for disabled jobs.'),
        ('source_freshness', 'stale_after', 'Age past which the job is stale: expected_interval plus one more tick.'),
        ('source_freshness', 'schedule', 'Cron schedule the daemon last started with.'),
        ('source_freshness', 'enabled', 'Whether the daemon runs the job; NULL if no daemon recorded it.'),

        ('coverage', NULL, 'Per source, agency and calendar day (MGID_TIMEZONE), from the first observed day to today: observed, missing, provisional or restated.'),
        ('coverage', 'source', 'mgid-spend or mgid-balances.'),
        ('coverage', 'agency_id', 'MGID agency id.'),
        ('coverage', 'day', 'Calendar day in MGID_TIMEZONE.'),
        ('coverage', 'state', 'observed: read after the day closed; provisional: the day is open, or was read only while open; restated: a value changed after the day closed; missing: never read (fill with syncer backfill mgid-spend --gaps).'),
        ('coverage', 'last_observed_at', 'Latest fetch of the day (spend) or latest snapshot taken that day (balances); NULL when missing.'),

        ('mgid_agency_balance_history', NULL, 'Every snapshot of each MGID agency''s own wallets.'),
        ('mgid_agency_balance_history', 'agency_id', 'MGID agency id.'),
        ('mgid_agency_balance_history', 'captured_at', 'When the snapshot was taken.'),
        ('mgid_agency_balance_history', 'personal_account', 'Agency personal account balance.'),
        ('mgid_agency_balance_history', 'bonus_account', 'Agency bonus account balance.'),
        ('mgid_agency_balance_history', 'clients_balance', 'Sum of the agency''s clients'' balances, as MGID reports it.'),

        ('mgid_client_balance_history', NULL, 'Every snapshot of every client wallet of each agency.'),
        ('mgid_client_balance_history', 'agency_id', 'MGID agency id.'),
        ('mgid_client_balance_history', 'client_id', 'MGID client id.'),
        ('mgid_client_balance_history', 'email', 'Client e-mail as MGID reports it.'),
        ('mgid_client_balance_history', 'captured_at', 'When the snapshot was taken.'),
        ('mgid_client_balance_history', 'balance', 'Client wallet balance.'),
        ('mgid_client_balance_history', 'credit', 'Client credit limit.'),
        ('mgid_client_balance_history', 'income', 'Client income as MGID reports it.'),

        ('mgid_client_balance_latest', NULL, 'The clients in each agency''s most recent snapshot.'),
        ('mgid_client_balance_latest', 'agency_id', 'MGID agency id.'),
        ('mgid_client_balance_latest', 'client_id', 'MGID client id.'),
        ('mgid_client_balance_latest', 'email', 'Client e-mail as MGID reports it.'),
        ('mgid_client_balance_latest', 'captured_at', 'When the snapshot was taken.'),
        ('mgid_client_balance_latest', 'balance', 'Client wallet balance.'),
        ('mgid_client_balance_latest', 'credit', 'Client credit limit.'),
        ('mgid_client_balance_latest', 'income', 'Client income as MGID reports it.'),

        ('mgid_client_spend_daily', NULL, 'Current spend per client per calendar day (MGID_TIMEZONE).'),
        ('mgid_client_spend_daily', 'agency_id', 'MGID agency id.'),
        ('mgid_client_spend_daily', 'client_id', 'MGID client id.'),
        ('mgid_client_spend_daily', 'spend_date', 'Calendar day in MGID_TIMEZONE.'),
        ('mgid_client_spend_daily', 'spent', 'Spend of that day, latest value read.'),
        ('mgid_client_spend_daily', 'first_seen_at', 'When the day''s value was first read.'),
        ('mgid_client_spend_daily', 'updated_at', 'When the current value was read (first read or last restatement).'),
        ('mgid_client_spend_daily', 'revisions', 'How many times MGID restated the value.'),

        ('mgid_client_spend_revisions', NULL, 'Every spend value a restatement replaced, with the period it was current.'),
        ('mgid_client_spend_revisions', 'agency_id', 'MGID agency id.'),
        ('mgid_client_spend_revisions', 'client_id', 'MGID client id.'),
        ('mgid_client_spend_revisions', 'spend_date', 'Calendar day in MGID_TIMEZONE.'),
        ('mgid_client_spend_revisions', 'spent', 'The replaced value.'),
        ('mgid_client_spend_revisions', 'valid_from', 'When that value was read.'),
        ('mgid_client_spend_revisions', 'valid_to', 'When a different value replaced it.'),

        ('mgid_transfers', NULL, 'The journal of MGID agency-to-client transfers: manual, auto top-up and dry-run plans.'),
        ('mgid_transfers', 'transfer_id', 'Journal entry id.'),
        ('mgid_transfers', 'agency_id', 'MGID agency id.'),
        ('mgid_transfers', 'client_id', 'MGID client id.'),
        ('mgid_transfers', 'amount', 'Amount moved (or planned).'),
        ('mgid_transfers', 'account_type', 'Agency account drawn from: personal or bonus.'),
        ('mgid_transfers', 'origin', 'manual (syncer mgid transfer) or topup (the auto top-up job).'),
        ('mgid_transfers', 'requested_by', 'OS user who ran the command, or mgid-topup.'),
        ('mgid_transfers', 'dry_run', 'True for planned rows that were never sent.'),
        ('mgid_transfers', 'status', 'planned, in_flight, succeeded, rejected, unknown (a person must settle it) or not_applied.'),
        ('mgid_transfers', 'before_source', 'Where the before figures came from: provider (read just before sending) or snapshot.'),
        ('mgid_transfers', 'before_at', 'When the before figures were true.'),
        ('mgid_transfers', 'client_balance_before', 'Client balance before the transfer.'),
        ('mgid_transfers', 'client_income_before', 'Client income before the transfer.'),
        ('mgid_transfers', 'agency_account_before', 'Agency account (personal or bonus) before the transfer.'),
        ('mgid_transfers', 'client_balance_after', 'Client balance after, from MGID''s answer; success only.'),
        ('mgid_transfers', 'agency_account_after', 'Agency account after, from MGID''s answer; success only.'),
        ('mgid_transfers', 'provider_message', 'MGID''s refusal message, e.g. insufficient funds.'),
        ('mgid_transfers', 'error', 'Our side of an unknown or unsent transfer.'),
        ('mgid_transfers', 'created_at', 'When the transfer was journaled.'),
        ('mgid_transfers', 'sent_at', 'When the request was sent; NULL for planned rows.'),
        ('mgid_transfers', 'settled_at', 'When the outcome became known; NULL while in flight or unknown.'),
        ('mgid_transfers', 'run_id', 'The top-up run that made it (bi.sync_runs.run_id); NULL for manual transfers.'),
        ('mgid_transfers', 'reconciled_at', 'When reconcile or a person settled an unknown outcome.'),
        ('mgid_transfers', 'reconcile_note', 'How the outcome was settled.'),

        ('mawthoq_status_history', NULL, 'Every status period of every tracked Mawthoq account (Gmedia CheckMawathoq).'),
        ('mawthoq_status_history', 'target_id', 'Tracked target id.'),
        ('mawthoq_status_history', 'platform', 'Social-media platform, e.g. tiktok.'),
        ('mawthoq_status_history', 'account_masked', 'Account number with all but the last 4 characters masked.'),
        ('mawthoq_status_history', 'account_hash', 'Keyed hash (HMAC-SHA256) of the account, stable for joins.'),
        ('mawthoq_status_history', 'label', 'Free label given when tracking.'),
        ('mawthoq_status_history', 'outcome', 'Check outcome, e.g. found, not_found, invalid, provider_error.'),
        ('mawthoq_status_history', 'status', 'Licence status: active, expired or suspended; NULL if none.'),
        ('mawthoq_status_history', 'error_code', 'Provider error code; NULL if none.'),
        ('mawthoq_status_history', 'message', 'Provider message of the latest check in the period.'),
        ('mawthoq_status_history', 'http_status', 'HTTP status of the latest check in the period.'),
        ('mawthoq_status_history', 'license_number', 'Licence number, when licensed.'),
        ('mawthoq_status_history', 'expiry_date', 'Licence expiry date as the provider gives it.'),
        ('mawthoq_status_history', 'valid_from', 'Start of the status period.'),
        ('mawthoq_status_history', 'valid_to', 'End of the period; NULL while current.'),
        ('mawthoq_status_history', 'last_checked_at', 'Latest check that confirmed this period.'),
        ('mawthoq_status_history', 'checks', 'Checks that confirmed this period.'),

        ('mawthoq_status_current', NULL, 'Every tracked Mawthoq account with its current status period.'),
        ('mawthoq_status_current', 'target_id', 'Tracked target id.'),
        ('mawthoq_status_current', 'platform', 'Social-media platform, e.g. tiktok.'),
        ('mawthoq_status_current', 'account_masked', 'Account number with all but the last 4 characters masked.'),
        ('mawthoq_status_current', 'account_hash', 'Keyed hash (HMAC-SHA256) of the account, stable for joins.'),
        ('mawthoq_status_current', 'label', 'Free label given when tracking.'),
        ('mawthoq_status_current', 'tracked_since', 'When the account was first tracked.'),
        ('mawthoq_status_current', 'outcome', 'Check outcome; NULL until the first check.'),
        ('mawthoq_status_current', 'status', 'Licence status: active, expired or suspended; NULL if none.'),
        ('mawthoq_status_current', 'error_code', 'Provider error code; NULL if none.'),
        ('mawthoq_status_current', 'message', 'Provider message of the latest check.'),
        ('mawthoq_status_current', 'http_status', 'HTTP status of the latest check.'),
        ('mawthoq_status_current', 'license_number', 'Licence number, when licensed.'),
        ('mawthoq_status_current', 'expiry_date', 'Licence expiry date as the provider gives it.'),
        ('mawthoq_status_current', 'valid_from', 'Start of the current status period.'),
        ('mawthoq_status_current', 'valid_to', 'End of the period; NULL while current.'),
        ('mawthoq_status_current', 'last_checked_at', 'Latest check; NULL if never checked.'),

        ('firstlight_redeem_history', NULL, 'Every status period of every tracked Firstlight redeem check.'),
        ('firstlight_redeem_history', 'target_id', 'Tracked target id.'),
        ('firstlight_redeem_history', 'check_name', 'Name given to the check when tracking.'),
        ('firstlight_redeem_history', 'device_id', 'Device the redeem is checked for.'),
        ('firstlight_redeem_history', 'content_id', 'Content id.'),
        ('firstlight_redeem_history', 'content_type', 'Content type, e.g. vod.'),
        ('firstlight_redeem_history', 'catalog_type', 'Catalog type, e.g. movie.'),
        ('firstlight_redeem_history', 'delivery', 'Delivery, e.g. streaming.'),
        ('firstlight_redeem_history', 'user_token_ref', 'Name of the user token reference; never the token.'),
        ('firstlight_redeem_history', 'outcome', 'Check outcome, e.g. allowed, denied, auth_failed, provider_error.'),
        ('firstlight_redeem_history', 'error_code', 'Provider error code; NULL if none.'),
        ('firstlight_redeem_history', 'description', 'Provider description of the latest check in the period.'),
        ('firstlight_redeem_history', 'http_status', 'HTTP status of the latest check in the period.'),
        ('firstlight_redeem_history', 'tracking_id', 'Provider tracking id of the latest check.'),
        ('firstlight_redeem_history', 'valid_from', 'Start of the status period.'),
        ('firstlight_redeem_history', 'valid_to', 'End of the period; NULL while current.'),
        ('firstlight_redeem_history', 'last_checked_at', 'Latest check that confirmed this period.'),
        ('firstlight_redeem_history', 'checks', 'Checks that confirmed this period.'),

        ('firstlight_redeem_current', NULL, 'Every tracked Firstlight redeem check with its current status period.'),
        ('firstlight_redeem_current', 'target_id', 'Tracked target id.'),
        ('firstlight_redeem_current', 'check_name', 'Name given to the check when tracking.'),
        ('firstlight_redeem_current', 'device_id', 'Device the redeem is checked for.'),
        ('firstlight_redeem_current', 'content_id', 'Content id.'),
        ('firstlight_redeem_current', 'content_type', 'Content type, e.g. vod.'),
        ('firstlight_redeem_current', 'catalog_type', 'Catalog type, e.g. movie.'),
        ('firstlight_redeem_current', 'delivery', 'Delivery, e.g. streaming.'),
        ('firstlight_redeem_current', 'user_token_ref', 'Name of the user token reference; never the token.'),
        ('firstlight_redeem_current', 'tracked_since', 'When the check was first tracked.'),
        ('firstlight_redeem_current', 'outcome', 'Check outcome; NULL until the first check.'),
        ('firstlight_redeem_current', 'error_code', 'Provider error code; NULL if none.'),
        ('firstlight_redeem_current', 'description', 'Provider description of the latest check.'),
        ('firstlight_redeem_current', 'http_status', 'HTTP status of the latest check.'),
        ('firstlight_redeem_current', 'tracking_id', 'Provider tracking id of the latest check.'),
        ('firstlight_redeem_current', 'valid_from', 'Start of the current status period.'),
        ('firstlight_redeem_current', 'valid_to', 'End of the period; NULL while current.'),
        ('firstlight_redeem_current', 'last_checked_at', 'Latest check; NULL if never checked.')
    ) AS v(view_name, column_name, note)
    LOOP
        IF c.column_name IS NULL THEN
            IF to_regclass(format('bi.%I', c.view_name)) IS NOT NULL THEN
                EXECUTE format('COMMENT ON VIEW bi.%I IS %L', c.view_name, c.note);
            END IF;
        ELSIF EXISTS (SELECT 1 FROM information_schema.columns
                      WHERE table_schema = 'bi' AND table_name = c.view_name AND column_name = c.column_name) THEN
            EXECUTE format('COMMENT ON COLUMN bi.%I.%I IS %L', c.view_name, c.column_name, c.note);
        END IF;
    END LOOP;
END
$$;
-- +goose StatementEnd

-- +goose Down

-- The role belongs to the whole server and other databases on it may use
-- it: this database lets go of it, and the role stays (DROP ROLE it by hand
-- once no database grants it anything).
-- +goose StatementBegin
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'syncer_bi') THEN
        ALTER DEFAULT PRIVILEGES IN SCHEMA bi REVOKE SELECT ON TABLES FROM syncer_bi;
        REVOKE SELECT ON ALL TABLES IN SCHEMA bi FROM syncer_bi;
        REVOKE USAGE ON SCHEMA bi FROM syncer_bi;
    END IF;
END
$$;
-- +goose StatementEnd

DROP VIEW bi.coverage;
-- Views drop columns only by being recreated: back to 00001's definitions.
DROP VIEW bi.source_freshness;
CREATE VIEW bi.source_freshness AS
SELECT job,
       max(finished_at)         AS last_success_at,
       now() - max(finished_at) AS age
FROM syncer.runs
WHERE status = 'succeeded'
GROUP BY job;
DROP VIEW bi.sync_runs;
CREATE VIEW bi.sync_runs AS
SELECT id            AS run_id,
       job,
       trigger,
       status,
       started_at,
       finished_at,
       rows_written,
       window_date,
       detail,
       error_class,
       error_message AS error
FROM syncer.runs;

DROP INDEX syncer.mgid_client_spend_revision_day;
DROP TABLE syncer.mgid_spend_fetches;
DROP TABLE syncer.settings;
DROP TABLE syncer.job_schedules;
DROP INDEX syncer.runs_job_observed;
ALTER TABLE syncer.runs DROP COLUMN observed;
