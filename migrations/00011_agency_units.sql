-- An MGID agency is the unit of work of mgid-balances and mgid-spend (and of
-- each backfill day): every agency has its own transaction and its own
-- outcome, so one agency's refused login or garbage answer never throws away
-- another's data.
--
-- How a run is recorded: one row in syncer.runs per replica and run, as
-- before, plus one row per agency the run took in syncer.agency_runs. The
-- run fails when any of its agencies failed, and its error names them; the
-- agencies that succeeded committed all the same. Freshness per agency comes
-- from the agency rows (bi.agency_freshness), so an agency that keeps failing
-- shows stale while the others stay fresh.

-- +goose Up
-- Which tick each (job, agency) was last taken for, by which run, and until
-- when that claim holds. Replicas claim agencies here with FOR UPDATE SKIP
-- LOCKED, as the tracked checks claim targets, so each agency is done once
-- per tick however many replicas run the tick.
CREATE TABLE syncer.agency_claims (
    job         text        NOT NULL,
    login       text        NOT NULL,
    name        text        NOT NULL,
    tick        timestamptz,
    run_id      bigint,
    claimed_by  text,
    lease_until timestamptz,
    -- The claim ended (committed, or failed and recorded): the agency is
    -- free for the next tick even before the lease runs out.
    done        boolean     NOT NULL DEFAULT true,
    PRIMARY KEY (job, login)
);

-- One row per agency per run: its own outcome.
CREATE TABLE syncer.agency_runs (
    id            bigserial   PRIMARY KEY,
    run_id        bigint      NOT NULL REFERENCES syncer.runs (id),
    job           text        NOT NULL,
    agency_name   text        NOT NULL,
    agency_login  text        NOT NULL,
    agency_id     bigint,
    window_date   date,
    -- The tick the agency was claimed for (a backfill run: its day).
    tick          timestamptz,
    status        text        NOT NULL CHECK (status IN ('succeeded', 'failed', 'cancelled')),
    started_at    timestamptz NOT NULL,
    finished_at   timestamptz NOT NULL DEFAULT now(),
    rows_written  bigint      NOT NULL DEFAULT 0,
    error_class   text,
    error_message text,
    observed      boolean     NOT NULL DEFAULT false
);
CREATE INDEX agency_runs_run ON syncer.agency_runs (run_id);
-- The latest outcome and the latest success of each (job, agency) are index probes.
CREATE INDEX agency_runs_latest ON syncer.agency_runs (job, agency_login, finished_at DESC);
CREATE INDEX agency_runs_success ON syncer.agency_runs (job, agency_login, finished_at DESC)
    WHERE status = 'succeeded' AND observed;

CREATE VIEW bi.sync_run_agencies AS
SELECT a.run_id,
       a.job,
       r.trigger,
       a.agency_name,
       a.agency_login,
       a.agency_id,
       a.window_date,
       a.tick,
       a.status,
       a.started_at,
       a.finished_at,
       a.rows_written,
       a.error_class,
       a.error_message AS error,
       a.observed
FROM syncer.agency_runs a
JOIN syncer.runs r ON r.id = a.run_id;

-- Per job and agency: the latest outcome and the latest live success that
-- read data, against the job's schedule (syncer.job_schedules), with the
-- staleness rule of bi.source_freshness. The agencies are those with a claim
-- row: every agency a replica of this version was configured with.
CREATE VIEW bi.agency_freshness AS
SELECT c.job,
       c.name                                                   AS agency_name,
       c.login                                                  AS agency_login,
       last.agency_id,
       ok.last_success_at,
       now() - ok.last_success_at                               AS age,
       CASE WHEN s.enabled IS FALSE THEN false
            WHEN ok.last_success_at IS NULL THEN true
            WHEN s.job IS NULL THEN false
            ELSE now() - ok.last_success_at > s.expected_interval + s.tick_interval
       END                                                      AS stale,
       s.expected_interval + s.tick_interval                    AS stale_after,
       last.status                                              AS last_status,
       last.finished_at                                         AS last_run_at,
       last.error_class                                         AS last_error_class,
       last.error_message                                       AS last_error,
       CASE WHEN last.status = 'failed' THEN
           (SELECT min(f.finished_at) FROM syncer.agency_runs f
            WHERE f.job = c.job AND f.agency_login = c.login
              AND f.finished_at > coalesce(ok.last_success_at, '-infinity'))
       END                                                      AS failing_since
FROM syncer.agency_claims c
LEFT JOIN syncer.job_schedules s ON s.job = c.job
LEFT JOIN LATERAL (
    SELECT a.agency_id, a.status, a.finished_at, a.error_class, a.error_message
    FROM syncer.agency_runs a
    WHERE a.job = c.job AND a.agency_login = c.login AND a.window_date IS NULL
    ORDER BY a.finished_at DESC LIMIT 1
) last ON true
LEFT JOIN LATERAL (
    SELECT a.finished_at AS last_success_at
    FROM syncer.agency_runs a
    JOIN syncer.runs r ON r.id = a.run_id AND r.trigger <> 'backfill'
    WHERE a.job = c.job AND a.agency_login = c.login AND a.status = 'succeeded' AND a.observed
    ORDER BY a.finished_at DESC LIMIT 1
) ok ON true;

COMMENT ON VIEW bi.sync_run_agencies IS 'One row per agency per run of mgid-balances and mgid-spend (and per agency per backfill day): each agency is its own unit of work, with its own outcome.';
COMMENT ON COLUMN bi.sync_run_agencies.run_id IS 'The run (bi.sync_runs.run_id) that took the agency.';
COMMENT ON COLUMN bi.sync_run_agencies.job IS 'Job name: mgid-balances or mgid-spend.';
COMMENT ON COLUMN bi.sync_run_agencies.trigger IS 'What started the run: schedule, catchup, manual or backfill.';
COMMENT ON COLUMN bi.sync_run_agencies.agency_name IS 'The agency''s configured name (mgid.agencies[].name; the login when none is given).';
COMMENT ON COLUMN bi.sync_run_agencies.agency_login IS 'The agency''s MGID login (never its password).';
COMMENT ON COLUMN bi.sync_run_agencies.agency_id IS 'MGID agency id; NULL when the agency failed before MGID told it (e.g. a refused login).';
COMMENT ON COLUMN bi.sync_run_agencies.window_date IS 'The day a backfill run covered; NULL for other runs.';
COMMENT ON COLUMN bi.sync_run_agencies.tick IS 'The schedule tick the agency was taken for (replicas share a tick''s agencies; each is done once per tick); a manual run''s start; NULL for a backfill day.';
COMMENT ON COLUMN bi.sync_run_agencies.status IS 'succeeded, failed or cancelled: this agency''s outcome alone.';
COMMENT ON COLUMN bi.sync_run_agencies.started_at IS 'When the run began this agency.';
COMMENT ON COLUMN bi.sync_run_agencies.finished_at IS 'When this agency''s work ended.';
COMMENT ON COLUMN bi.sync_run_agencies.rows_written IS 'Rows this agency committed (0 when it failed: its transaction rolled back).';
COMMENT ON COLUMN bi.sync_run_agencies.error_class IS 'Class of this agency''s failure (auth, timeout, retryable, malformed, database...); NULL when it succeeded.';
COMMENT ON COLUMN bi.sync_run_agencies.error IS 'This agency''s failure message; never holds a secret.';
COMMENT ON COLUMN bi.sync_run_agencies.observed IS 'True when this agency succeeded and its provider data was read.';

COMMENT ON VIEW bi.agency_freshness IS 'Per job and MGID agency: when the agency''s data was last read in a live run, whether that is older than the schedule allows, and its latest outcome.';
COMMENT ON COLUMN bi.agency_freshness.job IS 'Job name: mgid-balances or mgid-spend.';
COMMENT ON COLUMN bi.agency_freshness.agency_name IS 'The agency''s configured name.';
COMMENT ON COLUMN bi.agency_freshness.agency_login IS 'The agency''s MGID login.';
COMMENT ON COLUMN bi.agency_freshness.agency_id IS 'MGID agency id from the latest outcome; NULL if MGID never told it.';
COMMENT ON COLUMN bi.agency_freshness.last_success_at IS 'End of this agency''s latest successful live (not backfill) unit that read data; NULL if never.';
COMMENT ON COLUMN bi.agency_freshness.age IS 'now() - last_success_at; NULL if never.';
COMMENT ON COLUMN bi.agency_freshness.stale IS 'True when the job is enabled and this agency never read data or its age exceeds stale_after (the rule of bi.source_freshness).';
COMMENT ON COLUMN bi.agency_freshness.stale_after IS 'Age past which the agency is stale: the job''s expected interval plus one more tick. NULL until a daemon recorded the schedule.';
COMMENT ON COLUMN bi.agency_freshness.last_status IS 'Outcome of this agency''s latest live unit: succeeded, failed or cancelled; NULL if never run.';
COMMENT ON COLUMN bi.agency_freshness.last_run_at IS 'When that latest unit ended.';
COMMENT ON COLUMN bi.agency_freshness.last_error_class IS 'Class of the latest failure when last_status is failed.';
COMMENT ON COLUMN bi.agency_freshness.last_error IS 'Message of the latest failure when last_status is failed; never holds a secret.';
COMMENT ON COLUMN bi.agency_freshness.failing_since IS 'When the agency''s current run of failures began (its first failure after its last success); NULL unless last_status is failed.';

-- +goose Down
DROP VIEW bi.agency_freshness;
DROP VIEW bi.sync_run_agencies;
DROP TABLE syncer.agency_runs;
DROP TABLE syncer.agency_claims;
