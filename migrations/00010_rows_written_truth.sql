-- Issue 11: rows_written counts what a run committed. A failed run of a job
-- that commits all or nothing (mgid-balances, mgid-spend, mgid-retention, a
-- backfill day) rolled back and wrote 0; the tracked checks and the top-up
-- commit as they go, so a failed round keeps what it recorded and counts it.

-- +goose Up
COMMENT ON COLUMN bi.sync_runs.rows_written IS
    'Rows the run committed. 0 for a failed mgid-balances, mgid-spend, mgid-retention run or backfill day (their writes roll back together); a failed mawthoq-recheck, firstlight-redeem or mgid-topup run keeps the rows it committed before failing, and they are counted.';

-- +goose Down
COMMENT ON COLUMN bi.sync_runs.rows_written IS 'Rows the run wrote (0 for a failed run: its writes were rolled back).';
