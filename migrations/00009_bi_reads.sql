-- Views call functions with the reader's rights, not the owner's: a view
-- that calls syncer.mgid_timezone() or syncer.mgid_balance_day_rows()
-- failed for syncer_bi with "permission denied for schema syncer". So
-- syncer_bi may look functions up in schema syncer (USAGE grants no read of
-- any table), and the two functions that read syncer tables run with their
-- owner's rights, on a fixed search_path.

-- bi.source_freshness also finds its jobs by index probes (below).

-- +goose Up
CREATE OR REPLACE VIEW bi.source_freshness AS
WITH RECURSIVE run_jobs AS (
    -- Every job with a run, one index probe of runs_job_started per job:
    -- SELECT DISTINCT read the whole runs table (65 ms at 300k runs) on
    -- every status page view and scrape.
    (SELECT job FROM syncer.runs ORDER BY job LIMIT 1)
    UNION ALL
    SELECT (SELECT r.job FROM syncer.runs r WHERE r.job > run_jobs.job ORDER BY r.job LIMIT 1)
    FROM run_jobs WHERE run_jobs.job IS NOT NULL
), jobs AS (
    SELECT job FROM syncer.job_schedules
    UNION
    SELECT job FROM run_jobs WHERE job IS NOT NULL
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

ALTER FUNCTION syncer.mgid_timezone() SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION syncer.mgid_balance_day_rows(bigint, date, text) SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
-- +goose StatementBegin
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'syncer_bi') THEN
        GRANT USAGE ON SCHEMA syncer TO syncer_bi;
    END IF;
END $$;
-- +goose StatementEnd

-- +goose Down
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

-- +goose StatementBegin
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'syncer_bi') THEN
        REVOKE USAGE ON SCHEMA syncer FROM syncer_bi;
    END IF;
END $$;
-- +goose StatementEnd
ALTER FUNCTION syncer.mgid_balance_day_rows(bigint, date, text) SECURITY INVOKER RESET search_path;
ALTER FUNCTION syncer.mgid_timezone() SECURITY INVOKER RESET search_path;
