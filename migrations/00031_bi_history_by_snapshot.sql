-- Issue 15: a time filter on bi.mgid_client_balance_history reaches the
-- stored periods.
--
-- The view joined every period of a client to the snapshots inside it. A
-- filter on captured_at applied to the snapshots only: the planner does not
-- carry "captured_at > X" over to "valid_to > X", so every period of the
-- client's whole history was read, and with a year of history one client's
-- last 30 days took 1.08 s (8,500 periods, each on its own page), every
-- client's last day 0.8 s a hundred clients.
--
-- The view now starts from the snapshots (which the filter on captured_at,
-- agency_id reaches through mgid_agency_balance's primary key) and, for each
-- client of the agency listed by then, looks up the one period holding that
-- snapshot: the first period to end after it, by a new index on
-- (client_key, valid_to), kept only if it had begun by then. Partitions that
-- ended before the snapshot are skipped at run time. The work is now in
-- proportion to the rows returned (one index probe each), not to the history
-- kept: in a year of 1,000 clients one client's 30 days took 11 ms instead of
-- 1.08 s, every client's last day 0.3-0.5 s instead of 5.4 s. The cost moved
-- to the one shape that returns every snapshot of every client over a long
-- window (a month of 10,000 clients is 28.8 M rows, a probe each): that is
-- what bi.mgid_client_wallet_periods and bi.mgid_client_balance_daily are for.
--
-- The new index replaces the one on client_key alone: every read by client
-- (the open day's periods, bi.mgid_client_wallet_periods by client) is served
-- by it as well. It is larger (valid_to is not deduplicated); BENCHMARKS.md
-- has the bytes per period.
--
-- Same columns, same rows (TestHistoryViewMatchesThePeriodJoin compares the
-- two definitions).

-- +goose Up
CREATE INDEX mgid_client_wallet_client_to ON syncer.mgid_client_wallet (client_key, valid_to);
DROP INDEX syncer.mgid_client_wallet_client;

CREATE OR REPLACE VIEW bi.mgid_client_balance_history AS
SELECT c.agency_id, c.client_id,
       (SELECT e.email FROM syncer.mgid_client_email e
        WHERE e.client_key = c.client_key AND e.valid_from <= s.captured_at
        ORDER BY e.valid_from DESC LIMIT 1) AS email,
       s.captured_at, p.balance, p.credit, p.income
FROM syncer.mgid_client c
-- The agency's snapshots from the client's first to its last (while it is
-- listed, the latest).
JOIN syncer.mgid_agency_balance s
  ON s.agency_id = c.agency_id AND s.captured_at >= c.first_seen_at
 AND (c.present OR s.captured_at <= c.last_seen_at)
-- The period holding the snapshot: the first closed period to end after it
-- (the partitions are read in valid_to order and those that ended before it
-- are skipped), else the open one, which starts after every closed one.
CROSS JOIN LATERAL (
    SELECT q.valid_from, q.balance, q.credit, q.income
    FROM ((SELECT w.valid_from, w.valid_to, w.balance, w.credit, w.income
           FROM syncer.mgid_client_wallet w
           WHERE w.client_key = c.client_key AND w.valid_to > s.captured_at
           ORDER BY w.valid_to
           LIMIT 1)
          UNION ALL
          SELECT c.since, 'infinity'::timestamptz, c.balance, c.credit, c.income
          WHERE c.present) q
    ORDER BY q.valid_to
    LIMIT 1) p
-- A client that was not listed in this snapshot has no period holding it.
WHERE p.valid_from <= s.captured_at;

-- +goose Down
CREATE OR REPLACE VIEW bi.mgid_client_balance_history AS
SELECT c.agency_id, c.client_id,
       (SELECT e.email FROM syncer.mgid_client_email e
        WHERE e.client_key = p.client_key AND e.valid_from <= s.captured_at
        ORDER BY e.valid_from DESC LIMIT 1) AS email,
       s.captured_at, p.balance, p.credit, p.income
FROM syncer.mgid_client_period p
JOIN syncer.mgid_client c ON c.client_key = p.client_key
JOIN syncer.mgid_agency_balance s
  ON s.agency_id = c.agency_id AND s.captured_at >= p.valid_from AND s.captured_at < p.valid_to;

CREATE INDEX mgid_client_wallet_client ON syncer.mgid_client_wallet (client_key);
DROP INDEX syncer.mgid_client_wallet_client_to;
