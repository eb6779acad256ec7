-- Views call functions with the reader's rights, not the owner's: a view
-- that calls syncer.mgid_timezone() or syncer.mgid_balance_day_rows()
-- failed for syncer_bi with "permission denied for schema syncer". So
-- syncer_bi may look functions up in schema syncer (USAGE grants no read of
-- any table), and the two functions that read syncer tables run with their
-- owner's rights, on a fixed search_path.

-- +goose Up
ALTER FUNCTION syncer.mgid_timezone() SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION syncer.mgid_balance_day_rows(bigint, date, text) SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
-- +goose StatementBegin
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'syncer_bi') THEN
        GRANT USAGE ON SCHEMA syncer TO syncer_bi;
    END IF;
END $$;
-- +goose StatementEnd

-- +goose Down
-- +goose StatementBegin
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'syncer_bi') THEN
        REVOKE USAGE ON SCHEMA syncer FROM syncer_bi;
    END IF;
END $$;
-- +goose StatementEnd
ALTER FUNCTION syncer.mgid_balance_day_rows(bigint, date, text) SECURITY INVOKER RESET search_path;
ALTER FUNCTION syncer.mgid_timezone() SECURITY INVOKER RESET search_path;
