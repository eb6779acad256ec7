-- Client wallet history that grows with change, not with time (issue 10).
--
-- 00002 stored one row per client per snapshot (134 bytes, the email in
-- every row): 45 GB a year for 10,000 clients at 96 snapshots a day, most
-- rows repeating the previous one. Now:
--   syncer.mgid_client         one row per client: its key, email, when it
--                              was first and last seen, and its open period
--                              (the state of the latest snapshot it was in);
--   syncer.mgid_client_wallet  one row per closed period: a state (balance,
--                              credit, income) that held from valid_from, the
--                              first snapshot that showed it, until valid_to,
--                              the first snapshot that showed something else
--                              or did not list the client. Append-only,
--                              partitioned by month of valid_to so retention
--                              drops whole partitions;
--   syncer.mgid_client_email   every email a client had, from when;
--   syncer.mgid_agency_balance stays the snapshot index: a client's wallet at
--                              snapshot s is the period of that client that
--                              contains s, so every observation is kept.
--   syncer.mgid_client_balance_day  the daily rows of closed days (in
--                              MGID_TIMEZONE), written once when a day closes.

-- +goose Up

-- MGID_TIMEZONE as SQL sees it: syncer.settings (00006) holds it, upserted
-- by the commands and jobs that write MGID days.
CREATE FUNCTION syncer.mgid_timezone() RETURNS text
LANGUAGE sql STABLE AS
$$ SELECT coalesce((SELECT value FROM syncer.settings WHERE key = 'mgid_timezone'), 'UTC') $$;

CREATE TABLE syncer.mgid_client (
    client_key    integer       GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    agency_id     bigint        NOT NULL,
    client_id     bigint        NOT NULL,
    email         text          NOT NULL,  -- the latest one; the history is in mgid_client_email
    first_seen_at timestamptz   NOT NULL,
    -- The last snapshot the client was in, set when it drops out of one:
    -- while present, that is its agency's latest snapshot, and writing it on
    -- every snapshot would rewrite every client every 15 minutes.
    last_seen_at  timestamptz   NOT NULL,
    present       boolean       NOT NULL,  -- in its agency's latest snapshot
    -- The open period (meaningful while present): the state since "since".
    since         timestamptz   NOT NULL,
    balance       numeric(18,4),
    credit        numeric(18,4),           -- NULL: MGID did not send it
    income        numeric(18,4),
    UNIQUE (agency_id, client_id)
-- Half-empty pages: a snapshot updates the rows of every changed client, and
-- with room on the page those updates are HOT (no index entry written).
) WITH (fillfactor = 50);

CREATE TABLE syncer.mgid_client_email (
    client_key integer     NOT NULL REFERENCES syncer.mgid_client (client_key),
    valid_from timestamptz NOT NULL,
    email      text        NOT NULL,
    PRIMARY KEY (client_key, valid_from)
);

CREATE TABLE syncer.mgid_client_wallet (
    client_key integer       NOT NULL,
    valid_from timestamptz   NOT NULL,
    valid_to   timestamptz   NOT NULL,
    balance    numeric(18,4),
    credit     numeric(18,4),
    income     numeric(18,4),
    CHECK (valid_to > valid_from)
) PARTITION BY RANGE (valid_to);
-- A client's periods. Not a primary key on (client_key, valid_to): periods
-- are appended in valid_to order, which lands in the middle of that index
-- and splits its pages half-empty (45 bytes a row, measured); a plain index
-- on client_key keeps a client's rows as one deduplicated posting list
-- (a few bytes a row). One period per client per snapshot is the write
-- path's invariant (mgid_client holds one open period per client).
CREATE INDEX mgid_client_wallet_client ON syncer.mgid_client_wallet (client_key);
-- Periods are closed, and so appended, in valid_to order: a BRIN index finds
-- the periods that ended after a moment (today's) for a few pages.
CREATE INDEX mgid_client_wallet_valid_to ON syncer.mgid_client_wallet USING brin (valid_to);

-- The partition of the month (UTC) of at, created when missing.
-- +goose StatementBegin
CREATE FUNCTION syncer.mgid_wallet_partition(at timestamptz) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    lo   timestamptz := date_trunc('month', at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC';
    hi   timestamptz := (date_trunc('month', at AT TIME ZONE 'UTC') + interval '1 month') AT TIME ZONE 'UTC';
    name text := 'mgid_client_wallet_' || to_char(at AT TIME ZONE 'UTC', 'YYYYMM');
BEGIN
    IF to_regclass('syncer.' || name) IS NULL THEN
        EXECUTE format('CREATE TABLE syncer.%I PARTITION OF syncer.mgid_client_wallet FOR VALUES FROM (%L) TO (%L)',
                       name, lo, hi);
    END IF;
    RETURN name;
END $$;
-- +goose StatementEnd

CREATE TABLE syncer.mgid_client_balance_day (
    day             date          NOT NULL,
    client_key      integer       NOT NULL,
    opening_balance numeric(18,4),
    closing_balance numeric(18,4),
    min_balance     numeric(18,4),
    max_balance     numeric(18,4),
    snapshots       integer       NOT NULL,
    PRIMARY KEY (day, client_key)
);

-- Per agency: the days before through_day are rolled up into
-- mgid_client_balance_day; through_at is through_day's start in the zone
-- used, so the open days are the snapshots from through_at on.
CREATE TABLE syncer.mgid_balance_rollup (
    agency_id  bigint      PRIMARY KEY,
    through_day date       NOT NULL,
    through_at timestamptz NOT NULL,
    timezone   text        NOT NULL
);

-- Every period of an agency's clients, closed and open.
CREATE VIEW syncer.mgid_client_period AS
SELECT w.client_key, w.valid_from, w.valid_to, w.balance, w.credit, w.income
FROM syncer.mgid_client_wallet w
UNION ALL
SELECT c.client_key, c.since, 'infinity'::timestamptz, c.balance, c.credit, c.income
FROM syncer.mgid_client c
WHERE c.present;

-- One day's rows of one agency: for each period that overlaps the day, the
-- number of the day's snapshots it covers, found by binary search
-- (width_bucket) in the sorted array of the day's snapshot times; then
-- opening, closing, min and max over the periods that cover any.
-- SET jit = off also keeps the function from being inlined: inlined, its
-- estimated cost once per open day (the planner guesses hundreds) pushed
-- the daily view over jit_optimize_above_cost, and compiling took 490 ms of
-- a 680 ms query (measured by make bench-bi); planned alone it runs in 210.
CREATE FUNCTION syncer.mgid_balance_day_rows(p_agency bigint, p_day date, p_tz text)
RETURNS TABLE (client_key integer, day date, opening_balance numeric, closing_balance numeric,
               min_balance numeric, max_balance numeric, snapshots integer)
LANGUAGE sql STABLE SET jit = off AS $$
    WITH b AS (
        SELECT (p_day::timestamp AT TIME ZONE p_tz) AS lo, ((p_day + 1)::timestamp AT TIME ZONE p_tz) AS hi
    ), s AS (
        SELECT array_agg(a.captured_at ORDER BY a.captured_at) AS at
        FROM syncer.mgid_agency_balance a, b
        WHERE a.agency_id = p_agency AND a.captured_at >= b.lo AND a.captured_at < b.hi
    ), p AS (
        SELECT w.client_key, w.valid_from, w.balance,
               width_bucket(w.valid_to - interval '1 microsecond', s.at)
             - width_bucket(w.valid_from - interval '1 microsecond', s.at) AS n
        FROM syncer.mgid_client_wallet w, b, s
        WHERE w.valid_to > b.lo AND w.valid_from < b.hi
          AND w.client_key IN (SELECT c.client_key FROM syncer.mgid_client c WHERE c.agency_id = p_agency)
        UNION ALL
        SELECT c.client_key, c.since, c.balance,
               width_bucket('infinity'::timestamptz, s.at) - width_bucket(c.since - interval '1 microsecond', s.at)
        FROM syncer.mgid_client c, b, s
        WHERE c.agency_id = p_agency AND c.present AND c.since < b.hi
    )
    -- Opening and closing: the balance of the earliest and latest period,
    -- as the min and max of [start, balance] pairs (the start decides, as
    -- periods of a client never start together): a hash aggregate, where
    -- array_agg(... ORDER BY) would sort every client's periods (measured
    -- 25% slower on a full day).
    SELECT p.client_key, p_day,
           (min(ARRAY[extract(epoch FROM p.valid_from)::numeric, p.balance]))[2],
           (max(ARRAY[extract(epoch FROM p.valid_from)::numeric, p.balance]))[2],
           min(p.balance), max(p.balance), sum(p.n)::integer
    FROM p
    WHERE p.n > 0
    GROUP BY p.client_key
$$;

-- Rolls up every day of the agency before the day of upto (in the zone)
-- that has snapshots and is not rolled up yet. Closed days never change:
-- snapshots are only ever added at the current time.
-- +goose StatementBegin
CREATE FUNCTION syncer.mgid_close_balance_days(p_agency bigint, upto timestamptz) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    tz    text := syncer.mgid_timezone();
    stop  date := (upto AT TIME ZONE tz)::date;
    since timestamptz;
    d     date;
    n     integer := 0;
BEGIN
    SELECT r.through_at INTO since FROM syncer.mgid_balance_rollup r WHERE r.agency_id = p_agency FOR UPDATE;
    FOR d IN
        SELECT DISTINCT (a.captured_at AT TIME ZONE tz)::date AS day
        FROM syncer.mgid_agency_balance a
        WHERE a.agency_id = p_agency AND a.captured_at >= coalesce(since, '-infinity')
          AND a.captured_at < (stop::timestamp AT TIME ZONE tz)
        ORDER BY 1
    LOOP
        INSERT INTO syncer.mgid_client_balance_day
            (day, client_key, opening_balance, closing_balance, min_balance, max_balance, snapshots)
        SELECT r.day, r.client_key, r.opening_balance, r.closing_balance, r.min_balance, r.max_balance, r.snapshots
        FROM syncer.mgid_balance_day_rows(p_agency, d, tz) r
        ON CONFLICT DO NOTHING;
        n := n + 1;
    END LOOP;
    IF n > 0 OR since IS NULL THEN
        INSERT INTO syncer.mgid_balance_rollup (agency_id, through_day, through_at, timezone)
        VALUES (p_agency, stop, stop::timestamp AT TIME ZONE tz, tz)
        ON CONFLICT (agency_id) DO UPDATE
        SET through_day = excluded.through_day, through_at = excluded.through_at, timezone = excluded.timezone
        WHERE syncer.mgid_balance_rollup.through_day < excluded.through_day;
    END IF;
    RETURN n;
END $$;
-- +goose StatementEnd

-- Move the 00002 rows into periods. A period is a run of consecutive
-- snapshots of the agency (numbered by seq) in which the client was listed
-- with one state; a gap in seq (the client was missing) also ends one.
CREATE TEMP TABLE mgid_snap ON COMMIT DROP AS
SELECT agency_id, captured_at, row_number() OVER (PARTITION BY agency_id ORDER BY captured_at) AS seq
FROM syncer.mgid_agency_balance;
CREATE UNIQUE INDEX ON mgid_snap (agency_id, seq);

CREATE TEMP TABLE mgid_obs ON COMMIT DROP AS
SELECT b.agency_id, b.client_id, b.email, b.captured_at, s.seq, b.balance, b.credit, b.income,
       CASE WHEN lag(s.seq) OVER w = s.seq - 1
             AND (lag(b.balance) OVER w, lag(b.credit) OVER w, lag(b.income) OVER w)
                 IS NOT DISTINCT FROM (b.balance, b.credit, b.income)
            THEN 0 ELSE 1 END AS starts,
       lag(b.email) OVER w AS prev_email
FROM syncer.mgid_client_balance b
JOIN mgid_snap s USING (agency_id, captured_at)
WINDOW w AS (PARTITION BY b.agency_id, b.client_id ORDER BY b.captured_at);

CREATE TEMP TABLE mgid_per ON COMMIT DROP AS
SELECT agency_id, client_id, min(captured_at) AS valid_from, max(seq) AS last_seq,
       min(balance) AS balance, min(credit) AS credit, min(income) AS income
FROM (SELECT o.*, sum(starts) OVER (PARTITION BY agency_id, client_id ORDER BY captured_at) AS grp FROM mgid_obs o) g
GROUP BY agency_id, client_id, grp;

INSERT INTO syncer.mgid_client (agency_id, client_id, email, first_seen_at, last_seen_at, present, since, balance, credit, income)
OVERRIDING SYSTEM VALUE
SELECT f.agency_id, f.client_id, l.email, f.first_seen_at, l.captured_at,
       l.seq = (SELECT max(seq) FROM mgid_snap m WHERE m.agency_id = f.agency_id),
       p.valid_from, p.balance, p.credit, p.income
FROM (SELECT agency_id, client_id, min(captured_at) AS first_seen_at FROM mgid_obs GROUP BY 1, 2) f
JOIN LATERAL (SELECT o.email, o.captured_at, o.seq FROM mgid_obs o
              WHERE o.agency_id = f.agency_id AND o.client_id = f.client_id
              ORDER BY o.captured_at DESC LIMIT 1) l ON true
JOIN mgid_per p ON p.agency_id = f.agency_id AND p.client_id = f.client_id AND p.last_seq = l.seq
ORDER BY f.agency_id, f.client_id;

INSERT INTO syncer.mgid_client_email (client_key, valid_from, email)
SELECT c.client_key, o.captured_at, o.email
FROM mgid_obs o JOIN syncer.mgid_client c USING (agency_id, client_id)
WHERE o.prev_email IS DISTINCT FROM o.email;

SELECT syncer.mgid_wallet_partition(m) FROM (
    SELECT DISTINCT date_trunc('month', captured_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS m FROM mgid_snap) x;

-- A period ends at the next snapshot of its agency, unless it is the open
-- one (the client was in the latest snapshot).
INSERT INTO syncer.mgid_client_wallet (client_key, valid_from, valid_to, balance, credit, income)
SELECT c.client_key, p.valid_from, n.captured_at, p.balance, p.credit, p.income
FROM mgid_per p
JOIN syncer.mgid_client c USING (agency_id, client_id)
JOIN mgid_snap n ON n.agency_id = p.agency_id AND n.seq = p.last_seq + 1
ORDER BY n.captured_at;

SELECT syncer.mgid_close_balance_days(agency_id, max(captured_at))
FROM syncer.mgid_agency_balance GROUP BY agency_id;

DROP VIEW bi.mgid_client_balance_latest;
DROP VIEW bi.mgid_client_balance_history;
DROP TABLE syncer.mgid_client_balance;

-- Each snapshot a client was in, with the state of the period containing it.
CREATE VIEW bi.mgid_client_balance_history AS
SELECT c.agency_id, c.client_id,
       (SELECT e.email FROM syncer.mgid_client_email e
        WHERE e.client_key = p.client_key AND e.valid_from <= s.captured_at
        ORDER BY e.valid_from DESC LIMIT 1) AS email,
       s.captured_at, p.balance, p.credit, p.income
FROM syncer.mgid_client_period p
JOIN syncer.mgid_client c ON c.client_key = p.client_key
JOIN syncer.mgid_agency_balance s
  ON s.agency_id = c.agency_id AND s.captured_at >= p.valid_from AND s.captured_at < p.valid_to;
COMMENT ON VIEW bi.mgid_client_balance_history IS 'Every MGID client wallet at every snapshot it was listed in: one row per client per snapshot, rebuilt from the periods in which the wallet did not change.';
COMMENT ON COLUMN bi.mgid_client_balance_history.agency_id IS 'MGID agency account id.';
COMMENT ON COLUMN bi.mgid_client_balance_history.client_id IS 'MGID client id.';
COMMENT ON COLUMN bi.mgid_client_balance_history.email IS 'The client''s email as of this snapshot.';
COMMENT ON COLUMN bi.mgid_client_balance_history.captured_at IS 'When the snapshot was taken (the agency snapshot time).';
COMMENT ON COLUMN bi.mgid_client_balance_history.balance IS 'Wallet balance in the agency currency; NULL if MGID did not send it.';
COMMENT ON COLUMN bi.mgid_client_balance_history.credit IS 'Overdraft allowed; NULL if MGID did not send it.';
COMMENT ON COLUMN bi.mgid_client_balance_history.income IS 'Total replenished; NULL if MGID did not send it.';

-- The clients of each agency's most recent snapshot. A client that left the
-- agency drops out here and stays in the history.
CREATE VIEW bi.mgid_client_balance_latest AS
SELECT c.agency_id, c.client_id, c.email, l.captured_at, c.balance, c.credit, c.income
FROM syncer.mgid_client c
JOIN (SELECT agency_id, max(captured_at) AS captured_at
      FROM syncer.mgid_agency_balance
      GROUP BY agency_id) l USING (agency_id)
WHERE c.present;
COMMENT ON VIEW bi.mgid_client_balance_latest IS 'Each MGID client wallet in its agency''s latest snapshot; a client no longer listed is absent here and kept in the history.';
COMMENT ON COLUMN bi.mgid_client_balance_latest.agency_id IS 'MGID agency account id.';
COMMENT ON COLUMN bi.mgid_client_balance_latest.client_id IS 'MGID client id.';
COMMENT ON COLUMN bi.mgid_client_balance_latest.email IS 'The client''s latest email.';
COMMENT ON COLUMN bi.mgid_client_balance_latest.captured_at IS 'When the agency''s latest snapshot was taken.';
COMMENT ON COLUMN bi.mgid_client_balance_latest.balance IS 'Wallet balance in the agency currency; NULL if MGID did not send it.';
COMMENT ON COLUMN bi.mgid_client_balance_latest.credit IS 'Overdraft allowed; NULL if MGID did not send it.';
COMMENT ON COLUMN bi.mgid_client_balance_latest.income IS 'Total replenished; NULL if MGID did not send it.';

-- Closed days from the rollup, open days (normally today) computed live.
CREATE VIEW bi.mgid_client_balance_daily AS
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
COMMENT ON VIEW bi.mgid_client_balance_daily IS 'One row per MGID client per calendar day (MGID_TIMEZONE) on which it was in at least one snapshot: the balance at the day''s first and last snapshot, its low and high, and the number of snapshots.';
COMMENT ON COLUMN bi.mgid_client_balance_daily.agency_id IS 'MGID agency account id.';
COMMENT ON COLUMN bi.mgid_client_balance_daily.client_id IS 'MGID client id.';
COMMENT ON COLUMN bi.mgid_client_balance_daily.day IS 'Calendar day in MGID_TIMEZONE.';
COMMENT ON COLUMN bi.mgid_client_balance_daily.opening_balance IS 'Balance at the client''s first snapshot of the day.';
COMMENT ON COLUMN bi.mgid_client_balance_daily.closing_balance IS 'Balance at the client''s last snapshot of the day (so far, for today).';
COMMENT ON COLUMN bi.mgid_client_balance_daily.min_balance IS 'Lowest balance in the day''s snapshots.';
COMMENT ON COLUMN bi.mgid_client_balance_daily.max_balance IS 'Highest balance in the day''s snapshots.';
COMMENT ON COLUMN bi.mgid_client_balance_daily.snapshots IS 'How many of the day''s snapshots listed the client.';

CREATE VIEW bi.mgid_clients AS
SELECT c.agency_id, c.client_id, c.email, c.first_seen_at,
       CASE WHEN c.present THEN l.captured_at ELSE c.last_seen_at END AS last_seen_at,
       c.present AS in_latest_snapshot
FROM syncer.mgid_client c
LEFT JOIN (SELECT agency_id, max(captured_at) AS captured_at
           FROM syncer.mgid_agency_balance GROUP BY agency_id) l USING (agency_id);
COMMENT ON VIEW bi.mgid_clients IS 'Every MGID client ever seen in a wallet snapshot, one row each: join spend and transfers to it for a name.';
COMMENT ON COLUMN bi.mgid_clients.agency_id IS 'MGID agency account id.';
COMMENT ON COLUMN bi.mgid_clients.client_id IS 'MGID client id.';
COMMENT ON COLUMN bi.mgid_clients.email IS 'The client''s latest email.';
COMMENT ON COLUMN bi.mgid_clients.first_seen_at IS 'The first snapshot that listed the client.';
COMMENT ON COLUMN bi.mgid_clients.last_seen_at IS 'The latest snapshot that listed the client.';
COMMENT ON COLUMN bi.mgid_clients.in_latest_snapshot IS 'Whether the agency''s latest snapshot lists the client.';

-- +goose Down
DROP VIEW bi.mgid_clients;
DROP VIEW bi.mgid_client_balance_daily;
DROP VIEW bi.mgid_client_balance_latest;

CREATE TABLE syncer.mgid_client_balance (
    agency_id   bigint        NOT NULL,
    captured_at timestamptz   NOT NULL,
    client_id   bigint        NOT NULL,
    email       text          NOT NULL,
    balance     numeric(18,4) NOT NULL,
    credit      numeric(18,4) NOT NULL,
    income      numeric(18,4) NOT NULL,
    PRIMARY KEY (agency_id, captured_at, client_id)
);
-- 00002 had no NULLs: a value MGID did not send goes back to being 0.
INSERT INTO syncer.mgid_client_balance
SELECT agency_id, captured_at, client_id, email,
       coalesce(balance, 0), coalesce(credit, 0), coalesce(income, 0)
FROM bi.mgid_client_balance_history
ORDER BY agency_id, captured_at, client_id;

DROP VIEW bi.mgid_client_balance_history;
DROP FUNCTION syncer.mgid_close_balance_days(bigint, timestamptz);
DROP FUNCTION syncer.mgid_balance_day_rows(bigint, date, text);
DROP VIEW syncer.mgid_client_period;
DROP TABLE syncer.mgid_balance_rollup;
DROP TABLE syncer.mgid_client_balance_day;
DROP TABLE syncer.mgid_client_wallet;
DROP FUNCTION syncer.mgid_wallet_partition(timestamptz);
DROP TABLE syncer.mgid_client_email;
DROP TABLE syncer.mgid_client;
DROP FUNCTION syncer.mgid_timezone();

CREATE VIEW bi.mgid_client_balance_history AS
SELECT agency_id, client_id, email, captured_at, balance, credit, income
FROM syncer.mgid_client_balance;
COMMENT ON VIEW bi.mgid_client_balance_history IS 'Every MGID client wallet at every snapshot: one row per client per snapshot.';
COMMENT ON COLUMN bi.mgid_client_balance_history.agency_id IS 'MGID agency account id.';
COMMENT ON COLUMN bi.mgid_client_balance_history.client_id IS 'MGID client id.';
COMMENT ON COLUMN bi.mgid_client_balance_history.email IS 'The client''s email in this snapshot.';
COMMENT ON COLUMN bi.mgid_client_balance_history.captured_at IS 'When the snapshot was taken.';
COMMENT ON COLUMN bi.mgid_client_balance_history.balance IS 'Wallet balance in the agency currency.';
COMMENT ON COLUMN bi.mgid_client_balance_history.credit IS 'Overdraft allowed.';
COMMENT ON COLUMN bi.mgid_client_balance_history.income IS 'Total replenished.';

CREATE VIEW bi.mgid_client_balance_latest AS
SELECT c.agency_id, c.client_id, c.email, c.captured_at, c.balance, c.credit, c.income
FROM syncer.mgid_client_balance c
JOIN (SELECT agency_id, max(captured_at) AS captured_at
      FROM syncer.mgid_agency_balance
      GROUP BY agency_id) latest USING (agency_id, captured_at);
COMMENT ON VIEW bi.mgid_client_balance_latest IS 'Each MGID client wallet in its agency''s latest snapshot.';
COMMENT ON COLUMN bi.mgid_client_balance_latest.agency_id IS 'MGID agency account id.';
COMMENT ON COLUMN bi.mgid_client_balance_latest.client_id IS 'MGID client id.';
COMMENT ON COLUMN bi.mgid_client_balance_latest.email IS 'The client''s email in that snapshot.';
COMMENT ON COLUMN bi.mgid_client_balance_latest.captured_at IS 'When the agency''s latest snapshot was taken.';
COMMENT ON COLUMN bi.mgid_client_balance_latest.balance IS 'Wallet balance in the agency currency.';
COMMENT ON COLUMN bi.mgid_client_balance_latest.credit IS 'Overdraft allowed.';
COMMENT ON COLUMN bi.mgid_client_balance_latest.income IS 'Total replenished.';
