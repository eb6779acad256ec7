-- Issue 15: no JIT surprise on bi.mgid_client_balance_daily (and
-- bi.mgid_client_daily, built on it).
--
-- The open days' part (00022) finds today's periods with
-- "valid_to > (SELECT syncer.mgid_open_days_since())". The planner cannot
-- know that value when it plans, so it takes the default one third of every
-- stored period: with a year of history for 1,000 clients it expected 2.8 M
-- periods where there are a few thousand, the plan's cost reached 650,000,
-- over jit_inline_above_cost and jit_optimize_above_cost (500,000), and JIT
-- compiled for 1.0 s of a query that runs in tens of milliseconds. The same
-- for today's snapshots ("captured_at >= ...": a third of a year of them).
--
-- Each of those two conditions now has an upper bound that is always true
-- (a stored period closes, and a snapshot is taken, before 'infinity'),
-- written as a sub-select so that it is just as unknown to the planner as the
-- lower bound. For a range between two unknown bounds the planner assumes
-- 0.5% of the rows instead of a third (its DEFAULT_RANGE_INEQ_SEL), which is
-- much closer to what the open days hold. The results are unchanged
-- (TestDailyOpenDayMatchesTheRollupFunction), and the bound costs nothing to
-- evaluate.

-- +goose Up
CREATE OR REPLACE VIEW bi.mgid_client_balance_daily AS
SELECT c.agency_id, c.client_id, d.day, d.opening_balance, d.closing_balance,
       d.min_balance, d.max_balance, d.snapshots
FROM syncer.mgid_client_balance_day d
JOIN syncer.mgid_client c USING (client_key)
UNION ALL
-- Open days: as syncer.mgid_balance_day_rows (00007), for each period that
-- overlaps the day, the number of the day's snapshots it covers (binary
-- search in the day's sorted snapshot times); opening and closing are the
-- balances of the earliest and latest such period.
SELECT x.agency_id, x.client_id, x.day,
       (min(ARRAY[extract(epoch FROM x.valid_from)::numeric, x.balance]))[2],
       (max(ARRAY[extract(epoch FROM x.valid_from)::numeric, x.balance]))[2],
       min(x.balance), max(x.balance), sum(x.n)::integer
FROM (
    WITH o AS (
        SELECT a.agency_id, (a.captured_at AT TIME ZONE z.tz)::date AS day,
               min(a.captured_at) AS first_at, max(a.captured_at) AS last_at,
               array_agg(a.captured_at ORDER BY a.captured_at) AS at
        -- OFFSET 0: the zone is looked up once, not once per snapshot row
        -- (a SECURITY DEFINER call each, most of the open day's time).
        FROM (SELECT syncer.mgid_timezone() AS tz OFFSET 0) z
        CROSS JOIN syncer.mgid_agency_balance a
        LEFT JOIN syncer.mgid_balance_rollup u ON u.agency_id = a.agency_id
        WHERE a.captured_at >= coalesce(u.through_at, '-infinity')
          AND a.captured_at >= (SELECT syncer.mgid_open_days_since())
          -- Always true, for the planner: see the top.
          AND a.captured_at < (SELECT 'infinity'::timestamptz)
        GROUP BY 1, 2)
    -- Closed periods that overlap an open day and cover one of its
    -- snapshots (they start and end at snapshots of the agency).
    SELECT c.agency_id, c.client_id, o.day, w.valid_from, w.balance,
           width_bucket(w.valid_to - interval '1 microsecond', o.at)
         - width_bucket(w.valid_from - interval '1 microsecond', o.at) AS n
    FROM o
    JOIN syncer.mgid_client c ON c.agency_id = o.agency_id
    JOIN syncer.mgid_client_wallet w ON w.client_key = c.client_key
     AND w.valid_to > o.first_at AND w.valid_from <= o.last_at
    WHERE w.valid_to > (SELECT syncer.mgid_open_days_since())
      -- Always true (open periods are not in this table), for the planner.
      AND w.valid_to < (SELECT 'infinity'::timestamptz)
    UNION ALL
    -- The open period of each client in the latest snapshot.
    SELECT c.agency_id, c.client_id, o.day, c.since, c.balance,
           width_bucket('infinity'::timestamptz, o.at) - width_bucket(c.since - interval '1 microsecond', o.at)
    FROM o
    JOIN syncer.mgid_client c ON c.agency_id = o.agency_id AND c.present AND c.since <= o.last_at
) x
GROUP BY x.agency_id, x.client_id, x.day;

-- +goose Down
CREATE OR REPLACE VIEW bi.mgid_client_balance_daily AS
SELECT c.agency_id, c.client_id, d.day, d.opening_balance, d.closing_balance,
       d.min_balance, d.max_balance, d.snapshots
FROM syncer.mgid_client_balance_day d
JOIN syncer.mgid_client c USING (client_key)
UNION ALL
-- Open days: as syncer.mgid_balance_day_rows (00007), for each period that
-- overlaps the day, the number of the day's snapshots it covers (binary
-- search in the day's sorted snapshot times); opening and closing are the
-- balances of the earliest and latest such period.
SELECT x.agency_id, x.client_id, x.day,
       (min(ARRAY[extract(epoch FROM x.valid_from)::numeric, x.balance]))[2],
       (max(ARRAY[extract(epoch FROM x.valid_from)::numeric, x.balance]))[2],
       min(x.balance), max(x.balance), sum(x.n)::integer
FROM (
    WITH o AS (
        SELECT a.agency_id, (a.captured_at AT TIME ZONE z.tz)::date AS day,
               min(a.captured_at) AS first_at, max(a.captured_at) AS last_at,
               array_agg(a.captured_at ORDER BY a.captured_at) AS at
        -- OFFSET 0: the zone is looked up once, not once per snapshot row
        -- (a SECURITY DEFINER call each, most of the open day's time).
        FROM (SELECT syncer.mgid_timezone() AS tz OFFSET 0) z
        CROSS JOIN syncer.mgid_agency_balance a
        LEFT JOIN syncer.mgid_balance_rollup u ON u.agency_id = a.agency_id
        WHERE a.captured_at >= coalesce(u.through_at, '-infinity')
          AND a.captured_at >= (SELECT syncer.mgid_open_days_since())
        GROUP BY 1, 2)
    -- Closed periods that overlap an open day and cover one of its
    -- snapshots (they start and end at snapshots of the agency).
    SELECT c.agency_id, c.client_id, o.day, w.valid_from, w.balance,
           width_bucket(w.valid_to - interval '1 microsecond', o.at)
         - width_bucket(w.valid_from - interval '1 microsecond', o.at) AS n
    FROM o
    JOIN syncer.mgid_client c ON c.agency_id = o.agency_id
    JOIN syncer.mgid_client_wallet w ON w.client_key = c.client_key
     AND w.valid_to > o.first_at AND w.valid_from <= o.last_at
    WHERE w.valid_to > (SELECT syncer.mgid_open_days_since())
    UNION ALL
    -- The open period of each client in the latest snapshot.
    SELECT c.agency_id, c.client_id, o.day, c.since, c.balance,
           width_bucket('infinity'::timestamptz, o.at) - width_bucket(c.since - interval '1 microsecond', o.at)
    FROM o
    JOIN syncer.mgid_client c ON c.agency_id = o.agency_id AND c.present AND c.since <= o.last_at
) x
GROUP BY x.agency_id, x.client_id, x.day;

