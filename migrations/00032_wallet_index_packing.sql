-- Issue 15: the (client_key, valid_to) index of the wallet periods (00031)
-- is rebuilt once its month has ended, so a year of it costs what a freshly
-- built index costs.
--
-- Periods are appended in time order, so each client's new entry lands at
-- the end of that client's run inside the index: a full leaf page splits in
-- two and its left half is never written again. Built that way the index
-- takes about 45 bytes a period; built in one pass (CREATE or REINDEX) about
-- 32. A month's partition receives no period after the month ends (it holds
-- the periods that ended in it), so the first mgid-balances run of a month
-- rebuilds the ended months' indexes with REINDEX CONCURRENTLY, which blocks
-- neither readers nor writers, and records each here so it is done once.

-- +goose Up
CREATE TABLE syncer.mgid_wallet_packed (
    partition  text        PRIMARY KEY,            -- syncer.mgid_client_wallet_YYYYMM
    claimed_at timestamptz NOT NULL DEFAULT now(),
    -- NULL while a replica rebuilds it; a claim an hour old without it is a
    -- replica that died in the middle, and the partition is taken again.
    packed_at  timestamptz
);

-- +goose Down
DROP TABLE syncer.mgid_wallet_packed;
