-- Issue 14: an agency's first snapshot writes no email history.
--
-- syncer.mgid_client_email held a row for every client's first email, a copy
-- of syncer.mgid_client.email written by one INSERT ... SELECT after the
-- first snapshot's COPY: 0.25-0.42 s of a 100,000-client first snapshot of
-- about 1.1-1.5 s (BENCHMARKS.md, "where an agency's first snapshot spends its
-- time"), one heap and one index record a client. The history now starts at a
-- client's first change of email: that snapshot writes the email held since
-- first_seen_at (which until then only mgid_client kept) and the new one. A
-- client without history rows never changed its email, so the history view
-- reads mgid_client's. Rows written before this migration stay and are read
-- as before.

-- +goose Up
CREATE OR REPLACE VIEW bi.mgid_client_balance_history AS
SELECT c.agency_id, c.client_id,
       -- No history row: the email never changed, and mgid_client has it.
       coalesce((SELECT e.email FROM syncer.mgid_client_email e
                 WHERE e.client_key = c.client_key AND e.valid_from <= s.captured_at
                 ORDER BY e.valid_from DESC LIMIT 1), c.email) AS email,
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
-- The view before expects a history row from each client's first snapshot:
-- give the clients that have none the email they have always had.
INSERT INTO syncer.mgid_client_email (client_key, valid_from, email)
SELECT c.client_key, c.first_seen_at, c.email FROM syncer.mgid_client c
WHERE NOT EXISTS (SELECT 1 FROM syncer.mgid_client_email e WHERE e.client_key = c.client_key);

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

