-- Issue 15: "a month of daily spend per client, zero-filled" took 263 ms
-- (target 200) written the way an analyst writes it, bi.mgid_clients CROSS
-- JOIN the days LEFT JOIN bi.mgid_client_spend_daily: 300,000 (client, day)
-- pairs hashed against 300,000 spend rows, spilled to 4 batches with the
-- default work_mem. Reading the same rows without the zero-fill takes 87 ms.
--
-- bi.mgid_client_spend_daily_filled answers that question directly, a day
-- at a time: for each day syncer read (syncer.mgid_spend_fetches) the
-- agency's clients are joined to that one day's spend rows, both read in
-- client order from an index, so nothing is hashed beyond one day and
-- nothing spills. Filters on agency_id, spend_date and client_id reach the
-- days, the clients and the spend rows.
--
-- The spend table's primary key now carries the amount (INCLUDE (spent)),
-- so the day's rows are read from the index alone: without it the plan's
-- estimated cost crossed jit_above_cost and every query of a month paid
-- 0.2-0.3 s of JIT compilation.
--
-- The wider key made one client's spend slower to find, since the key
-- orders by day first: a client's month read 300,000 entries of 10,000
-- clients (bi.mgid_client_daily for one client went from 10 to 19 ms). An
-- index on (agency_id, client_id, spend_date) reads that client's 30.
--
-- Clients: every client a wallet snapshot has listed (bi.mgid_clients),
-- plus those only the spend reports named (a backfilled day of a client
-- deleted before syncer first read the agency's wallets), which
-- store.UpsertSpend records in syncer.mgid_spend_client_unlisted so the view
-- finds them without scanning every spend row for them.

-- +goose Up
ALTER TABLE syncer.mgid_client_spend_daily
    DROP CONSTRAINT mgid_client_spend_daily_pkey,
    ADD CONSTRAINT mgid_client_spend_daily_pkey PRIMARY KEY (agency_id, spend_date, client_id) INCLUDE (spent);

CREATE INDEX mgid_client_spend_daily_client ON syncer.mgid_client_spend_daily (agency_id, client_id, spend_date);

CREATE TABLE syncer.mgid_spend_client_unlisted (
    agency_id bigint NOT NULL,
    client_id bigint NOT NULL,
    PRIMARY KEY (agency_id, client_id)
);
COMMENT ON TABLE syncer.mgid_spend_client_unlisted IS
    'MGID clients with spend rows that no wallet snapshot had listed when the spend was written (store.UpsertSpend); read by bi.mgid_client_spend_daily_filled.';
INSERT INTO syncer.mgid_spend_client_unlisted (agency_id, client_id)
SELECT DISTINCT s.agency_id, s.client_id
FROM syncer.mgid_client_spend_daily s
WHERE NOT EXISTS (SELECT 1 FROM syncer.mgid_client c WHERE c.agency_id = s.agency_id AND c.client_id = s.client_id);

CREATE VIEW bi.mgid_client_spend_daily_filled AS
SELECT f.agency_id, x.client_id, f.spend_date,
       coalesce(x.spent, 0)::numeric(18,4) AS spent, x.spent IS NOT NULL AS reported
FROM syncer.mgid_spend_fetches f
CROSS JOIN LATERAL (
    SELECT c.client_id, s.spent
    FROM syncer.mgid_client c
    LEFT JOIN syncer.mgid_client_spend_daily s
           ON s.agency_id = c.agency_id AND s.spend_date = f.spend_date AND s.client_id = c.client_id
    WHERE c.agency_id = f.agency_id) x
UNION ALL
SELECT f.agency_id, u.client_id, f.spend_date,
       coalesce(s.spent, 0)::numeric(18,4), s.spent IS NOT NULL
FROM syncer.mgid_spend_fetches f
JOIN syncer.mgid_spend_client_unlisted u ON u.agency_id = f.agency_id
LEFT JOIN syncer.mgid_client_spend_daily s
       ON s.agency_id = f.agency_id AND s.spend_date = f.spend_date AND s.client_id = u.client_id
WHERE NOT EXISTS (SELECT 1 FROM syncer.mgid_client c WHERE c.agency_id = u.agency_id AND c.client_id = u.client_id);
COMMENT ON VIEW bi.mgid_client_spend_daily_filled IS
    'MGID spend per client per calendar day, zero-filled: one row for every client of the agency on every day whose spend syncer read, 0 where MGID reported none. For charts and grids; filters on agency_id, spend_date and client_id reach the stored rows.';
COMMENT ON COLUMN bi.mgid_client_spend_daily_filled.agency_id IS 'MGID agency account id.';
COMMENT ON COLUMN bi.mgid_client_spend_daily_filled.client_id IS 'MGID client id: every client a wallet snapshot has listed (bi.mgid_clients), and any other client a spend report named.';
COMMENT ON COLUMN bi.mgid_client_spend_daily_filled.spend_date IS 'Calendar day (MGID_TIMEZONE) whose spend report syncer read; days never read have no rows (bi.coverage lists them).';
COMMENT ON COLUMN bi.mgid_client_spend_daily_filled.spent IS 'The day''s spend (as bi.mgid_client_spend_daily.spent), 0 where MGID reported none for the client.';
COMMENT ON COLUMN bi.mgid_client_spend_daily_filled.reported IS 'Whether MGID''s report of the day listed the client (false: spent is a filled 0).';

-- +goose Down
DROP VIEW bi.mgid_client_spend_daily_filled;
DROP TABLE syncer.mgid_spend_client_unlisted;
DROP INDEX syncer.mgid_client_spend_daily_client;
ALTER TABLE syncer.mgid_client_spend_daily
    DROP CONSTRAINT mgid_client_spend_daily_pkey,
    ADD CONSTRAINT mgid_client_spend_daily_pkey PRIMARY KEY (agency_id, spend_date, client_id);
