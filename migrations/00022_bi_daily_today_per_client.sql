-- Issue 15: today's rows of bi.mgid_client_balance_daily for one client are
-- computed for that client only.
--
-- The open days (normally today) came from syncer.mgid_balance_day_rows(),
-- which computes every client of the agency: a filter on client_id was
-- applied to its 10,000 rows afterwards (185 ms for one client's 30 days).
-- The same computation is now plain SQL the planner sees through: a filter
-- on client_id (or agency_id, day) reaches syncer.mgid_client, and that
-- client's periods are found by its key AND the BRIN index on valid_to
-- (only the pages of periods that ended since the open days began). Without
-- a client filter the plan is the function's: the periods that ended since
-- then by BRIN, hashed against the clients. The results are the function's
-- (TestDailyOpenDayMatchesTheRollupFunction compares them).

-- +goose Up

-- The start of the earliest open day over all agencies: closed periods that
-- ended before it cannot touch an open day. Every agency with a snapshot
-- has a rollup row (its first snapshot's close call writes it); an agency
-- without one has all its days open, and the bound is then -infinity.
-- +goose StatementBegin
CREATE FUNCTION syncer.mgid_open_days_since() RETURNS timestamptz
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    WITH RECURSIVE agencies (agency_id) AS (
        SELECT min(agency_id) FROM syncer.mgid_agency_balance
        UNION ALL
        SELECT (SELECT min(b.agency_id) FROM syncer.mgid_agency_balance b WHERE b.agency_id > a.agency_id)
        FROM agencies a WHERE a.agency_id IS NOT NULL
    )
    SELECT coalesce(min(coalesce(r.through_at, '-infinity')), 'infinity')
    FROM agencies a
    LEFT JOIN syncer.mgid_balance_rollup r ON r.agency_id = a.agency_id
    WHERE a.agency_id IS NOT NULL
$$;
-- +goose StatementEnd

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

-- +goose Down
CREATE OR REPLACE VIEW bi.mgid_client_balance_daily AS
SELECT c.agency_id, c.client_id, d.day, d.opening_balance, d.closing_balance,
       d.min_balance, d.max_balance, d.snapshots
FROM syncer.mgid_client_balance_day d
JOIN syncer.mgid_client c USING (client_key)
UNION ALL
SELECT c.agency_id, c.client_id, r.day, r.opening_balance, r.closing_balance,
       r.min_balance, r.max_balance, r.snapshots
FROM (SELECT DISTINCT a.agency_id, (a.captured_at AT TIME ZONE syncer.mgid_timezone())::date AS day
      FROM syncer.mgid_agency_balance a
      LEFT JOIN syncer.mgid_balance_rollup u USING (agency_id)
      WHERE a.captured_at >= coalesce(u.through_at, '-infinity')) o
CROSS JOIN LATERAL syncer.mgid_balance_day_rows(o.agency_id, o.day, syncer.mgid_timezone()) r
JOIN syncer.mgid_client c ON c.client_key = r.client_key;
DROP FUNCTION syncer.mgid_open_days_since();
