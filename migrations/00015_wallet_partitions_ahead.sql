-- Month partitions of the closed wallet periods, created ahead of time and
-- never under a lock that blocks a reader (issue 14).
--
-- 00007 created a month's partition on its first snapshot, inside the
-- snapshot's transaction, with CREATE TABLE ... PARTITION OF: that takes an
-- AccessExclusiveLock on syncer.mgid_client_wallet until the snapshot
-- commits, so every query of bi.mgid_client_balance_history (and the daily
-- view) waited for the whole snapshot, and a long dashboard query in turn
-- held the snapshot up. Now a partition is created as a table of its own
-- and then attached: ATTACH PARTITION takes only a ShareUpdateExclusiveLock
-- on the parent, which no SELECT and no INSERT conflicts with. It runs at
-- migrate (this month and the next two) and before each mgid-balances run,
-- in a transaction of its own; the snapshot itself runs no DDL.

-- +goose Up
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION syncer.mgid_wallet_partition(at timestamptz) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    lo   timestamptz := date_trunc('month', at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC';
    hi   timestamptz := (date_trunc('month', at AT TIME ZONE 'UTC') + interval '1 month') AT TIME ZONE 'UTC';
    name text := 'mgid_client_wallet_' || to_char(at AT TIME ZONE 'UTC', 'YYYYMM');
BEGIN
    IF to_regclass('syncer.' || name) IS NOT NULL THEN
        RETURN name;
    END IF;
    -- Replicas that start together: one creates, the others find it made.
    PERFORM pg_advisory_xact_lock(hashtext('syncer.mgid_wallet_partition'));
    IF to_regclass('syncer.' || name) IS NULL THEN
        EXECUTE format('CREATE TABLE syncer.%I (LIKE syncer.mgid_client_wallet INCLUDING DEFAULTS INCLUDING CONSTRAINTS)', name);
        EXECUTE format('ALTER TABLE syncer.mgid_client_wallet ATTACH PARTITION syncer.%I FOR VALUES FROM (%L) TO (%L)',
                       name, lo, hi);
    END IF;
    RETURN name;
END $$;
-- +goose StatementEnd

-- Whether the month of at has its partition: the snapshot checks, and
-- refuses to start one that would need DDL.
CREATE FUNCTION syncer.mgid_wallet_partition_exists(at timestamptz) RETURNS boolean
LANGUAGE sql STABLE AS
$$ SELECT to_regclass('syncer.mgid_client_wallet_' || to_char(at AT TIME ZONE 'UTC', 'YYYYMM')) IS NOT NULL $$;

SELECT syncer.mgid_wallet_partition(now() + n * interval '1 month') FROM generate_series(0, 2) n;

-- +goose Down
DROP FUNCTION syncer.mgid_wallet_partition_exists(timestamptz);
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION syncer.mgid_wallet_partition(at timestamptz) RETURNS text
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
