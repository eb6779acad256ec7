-- Issue 15: BI views fast for the questions analysts ask themselves, with
-- the server's default settings (JIT on).
--
-- * bi.source_freshness and bi.coverage: their bodies, unchanged, run inside
--   functions planned with jit = off and declared small (ROWS). As views, the
--   planner's guesses (1,000 rows per generate_series, 100 agencies per
--   recursive step, a subplan per row) put their cost over jit_above_cost on
--   any database, and compiling took 0.4-0.8 s of a query that runs in 1 ms.
-- * syncer.mgid_spend_agency_day: spend per agency per day, kept by the spend
--   write path, so month-over-month spend reads 365 rows a year, not the
--   year's client rows: bi.mgid_agency_spend_daily, bi.mgid_agency_spend_monthly.
-- * bi.mgid_client_wallet_periods: the stored periods themselves, so a filter
--   on time, balance or client reaches the stored rows (partition pruning on
--   valid_to) instead of running after every snapshot is expanded.
-- * bi.mgid_client_daily: daily balance next to daily spend, one day column,
--   so a date filter reaches both the balance rows and the spend rows.
-- * An index on the daily balance rows by client, for one client's year.

-- +goose Up

-- +goose StatementBegin
CREATE FUNCTION syncer.bi_source_freshness()
RETURNS TABLE (job text, last_success_at timestamptz, age interval, expected_interval interval,
               stale boolean, stale_after interval, schedule text, enabled boolean)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp SET jit = off
ROWS 20 AS $$
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
    ) ok ON true
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION syncer.bi_coverage()
RETURNS TABLE (source text, agency_id bigint, day date, state text, last_observed_at timestamptz)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp SET jit = off
ROWS 500 AS $$
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
    WHERE a.agency_id IS NOT NULL
$$;
-- +goose StatementEnd

CREATE OR REPLACE VIEW bi.source_freshness AS
SELECT f.job, f.last_success_at, f.age, f.expected_interval, f.stale, f.stale_after, f.schedule, f.enabled
FROM syncer.bi_source_freshness() f;

CREATE OR REPLACE VIEW bi.coverage AS
SELECT c.source, c.agency_id, c.day, c.state, c.last_observed_at
FROM syncer.bi_coverage() c;

-- Spend per agency per calendar day, kept by store.UpsertSpend for each
-- (agency, day) it writes or revises, in the same transaction.
CREATE TABLE syncer.mgid_spend_agency_day (
    agency_id  bigint        NOT NULL,
    spend_date date          NOT NULL,
    spent      numeric(18,4) NOT NULL,
    clients    integer       NOT NULL,
    PRIMARY KEY (agency_id, spend_date)
);
INSERT INTO syncer.mgid_spend_agency_day (agency_id, spend_date, spent, clients)
SELECT agency_id, spend_date, sum(spent), count(*)
FROM syncer.mgid_client_spend_daily
GROUP BY agency_id, spend_date;

CREATE VIEW bi.mgid_agency_spend_daily AS
SELECT d.agency_id, d.spend_date, d.spent, d.clients, z.timezone AS spend_timezone
FROM syncer.mgid_spend_agency_day d
LEFT JOIN syncer.mgid_spend_day z ON z.agency_id = d.agency_id AND z.spend_date = d.spend_date;
COMMENT ON VIEW bi.mgid_agency_spend_daily IS 'Spend per MGID agency per calendar day: the sum of bi.mgid_client_spend_daily, kept as the spend is written (fast at any history length).';
COMMENT ON COLUMN bi.mgid_agency_spend_daily.agency_id IS 'MGID agency id.';
COMMENT ON COLUMN bi.mgid_agency_spend_daily.spend_date IS 'Calendar day in spend_timezone.';
COMMENT ON COLUMN bi.mgid_agency_spend_daily.spent IS 'Sum of the day''s current client spend (restatements included).';
COMMENT ON COLUMN bi.mgid_agency_spend_daily.clients IS 'Clients with a spend row that day.';
COMMENT ON COLUMN bi.mgid_agency_spend_daily.spend_timezone IS 'The zone whose calendar day spend_date is.';

CREATE VIEW bi.mgid_agency_spend_monthly AS
SELECT agency_id, date_trunc('month', spend_date)::date AS month, sum(spent)::numeric(18,4) AS spent,
       count(*)::integer AS days, max(clients) AS max_clients
FROM syncer.mgid_spend_agency_day
GROUP BY agency_id, date_trunc('month', spend_date)::date;
COMMENT ON VIEW bi.mgid_agency_spend_monthly IS 'Spend per MGID agency per calendar month (of spend_date): month-over-month questions read about 12 rows a year per agency.';
COMMENT ON COLUMN bi.mgid_agency_spend_monthly.agency_id IS 'MGID agency id.';
COMMENT ON COLUMN bi.mgid_agency_spend_monthly.month IS 'First day of the month.';
COMMENT ON COLUMN bi.mgid_agency_spend_monthly.spent IS 'Sum of the month''s current daily client spend.';
COMMENT ON COLUMN bi.mgid_agency_spend_monthly.days IS 'Days of the month with spend rows.';
COMMENT ON COLUMN bi.mgid_agency_spend_monthly.max_clients IS 'Most clients with spend on one day of the month.';

-- The stored periods, one row per state a client's wallet held. valid_to is
-- 'infinity' for the open period (the state in the latest snapshot), so
-- "valid_from < hi AND valid_to > lo" finds every period overlapping
-- [lo, hi) and the partitions outside it are not read.
CREATE VIEW bi.mgid_client_wallet_periods AS
SELECT c.agency_id, c.client_id, p.valid_from, p.valid_to, p.balance, p.credit, p.income
FROM syncer.mgid_client_period p
JOIN syncer.mgid_client c ON c.client_key = p.client_key;
COMMENT ON VIEW bi.mgid_client_wallet_periods IS 'Every MGID client wallet state and the time it held: one row per change, not per snapshot (the history view repeats each row for every snapshot in [valid_from, valid_to)). Filter on valid_from/valid_to, balance or client here for questions over long periods.';
COMMENT ON COLUMN bi.mgid_client_wallet_periods.agency_id IS 'MGID agency account id.';
COMMENT ON COLUMN bi.mgid_client_wallet_periods.client_id IS 'MGID client id.';
COMMENT ON COLUMN bi.mgid_client_wallet_periods.valid_from IS 'The first snapshot that showed this state.';
COMMENT ON COLUMN bi.mgid_client_wallet_periods.valid_to IS 'The first snapshot that showed another state or did not list the client; infinity while the state is current.';
COMMENT ON COLUMN bi.mgid_client_wallet_periods.balance IS 'Wallet balance in the agency currency; NULL if MGID did not send it.';
COMMENT ON COLUMN bi.mgid_client_wallet_periods.credit IS 'Overdraft allowed; NULL if MGID did not send it.';
COMMENT ON COLUMN bi.mgid_client_wallet_periods.income IS 'Total replenished; NULL if MGID did not send it.';

-- Balance and spend per client per day side by side. Built as one GROUP BY
-- over both, so a filter on day (or client, agency) is applied to the
-- balance rows and the spend rows alike; a join of the two views applies it
-- to one side only and reads the other side's whole history.
CREATE VIEW bi.mgid_client_daily AS
SELECT x.agency_id, x.client_id, x.day,
       max(x.opening_balance) AS opening_balance, max(x.closing_balance) AS closing_balance,
       max(x.min_balance) AS min_balance, max(x.max_balance) AS max_balance,
       max(x.snapshots) AS snapshots, max(x.spent) AS spent
FROM (SELECT b.agency_id, b.client_id, b.day, b.opening_balance, b.closing_balance, b.min_balance, b.max_balance,
             b.snapshots, NULL::numeric(18,4) AS spent
      FROM bi.mgid_client_balance_daily b
      UNION ALL
      SELECT s.agency_id, s.client_id, s.spend_date, NULL, NULL, NULL, NULL, NULL, s.spent
      FROM syncer.mgid_client_spend_daily s) x
GROUP BY x.agency_id, x.client_id, x.day;
COMMENT ON VIEW bi.mgid_client_daily IS 'Per MGID client per calendar day (MGID_TIMEZONE): the day''s balances (as bi.mgid_client_balance_daily) next to its spend (as bi.mgid_client_spend_daily); a filter on day reaches both.';
COMMENT ON COLUMN bi.mgid_client_daily.agency_id IS 'MGID agency account id.';
COMMENT ON COLUMN bi.mgid_client_daily.client_id IS 'MGID client id.';
COMMENT ON COLUMN bi.mgid_client_daily.day IS 'Calendar day in MGID_TIMEZONE.';
COMMENT ON COLUMN bi.mgid_client_daily.opening_balance IS 'Balance at the client''s first snapshot of the day; NULL when no snapshot listed it.';
COMMENT ON COLUMN bi.mgid_client_daily.closing_balance IS 'Balance at the client''s last snapshot of the day (so far, for today); NULL when no snapshot listed it.';
COMMENT ON COLUMN bi.mgid_client_daily.min_balance IS 'Lowest balance in the day''s snapshots.';
COMMENT ON COLUMN bi.mgid_client_daily.max_balance IS 'Highest balance in the day''s snapshots.';
COMMENT ON COLUMN bi.mgid_client_daily.snapshots IS 'How many of the day''s snapshots listed the client; NULL when none did.';
COMMENT ON COLUMN bi.mgid_client_daily.spent IS 'The day''s spend (latest value read); NULL when MGID reported none.';

-- One client's closed days by client, not by scanning every client of each day.
CREATE INDEX mgid_client_balance_day_client ON syncer.mgid_client_balance_day (client_key, day);

-- +goose Down
DROP INDEX syncer.mgid_client_balance_day_client;
DROP VIEW bi.mgid_client_daily;
DROP VIEW bi.mgid_client_wallet_periods;
DROP VIEW bi.mgid_agency_spend_monthly;
DROP VIEW bi.mgid_agency_spend_daily;
DROP TABLE syncer.mgid_spend_agency_day;
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

CREATE OR REPLACE VIEW bi.coverage AS
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

DROP FUNCTION syncer.bi_coverage();
DROP FUNCTION syncer.bi_source_freshness();
