-- MGID money transfers: an intent journal. A row is committed (in_flight)
-- before the one request that moves the money is sent, so a crash, a timeout
-- or a lost answer always leaves a record to reconcile, never a silent
-- payment and never a reason to send again.
-- Depends only on 00001 (syncer.runs) and 00002; not on 00003.

-- +goose Up
CREATE TABLE syncer.mgid_transfers (
    id                    bigserial     PRIMARY KEY,
    agency_id             bigint        NOT NULL,
    client_id             bigint        NOT NULL,
    client_email          text          NOT NULL DEFAULT '',
    amount                numeric(18,4) NOT NULL CHECK (amount > 0),
    account_type          text          NOT NULL CHECK (account_type IN ('personal', 'bonus')),
    origin                text          NOT NULL CHECK (origin IN ('manual', 'topup')),
    -- The OS user who ran `syncer mgid transfer`, or "mgid-topup".
    requested_by          text          NOT NULL,
    dry_run               boolean       NOT NULL DEFAULT false,
    status                text          NOT NULL
                          CHECK (status IN ('planned', 'in_flight', 'succeeded', 'rejected', 'unknown', 'not_applied')),
    -- The figures reconcile compares against: read from the provider just
    -- before sending ('provider'), or the latest snapshot when that read
    -- failed and for dry runs ('snapshot'); before_at is when they were true.
    before_source         text          CHECK (before_source IN ('provider', 'snapshot')),
    before_at             timestamptz,
    client_balance_before numeric(18,4),
    client_income_before  numeric(18,4),
    agency_account_before numeric(18,4),  -- the personal or bonus account drawn from
    -- From MGID's answer, on success only.
    client_balance_after  numeric(18,4),
    agency_account_after  numeric(18,4),
    provider_message      text,           -- MGID's refusal, e.g. insufficient funds
    error                 text,           -- our side of an unknown or unsent transfer
    created_at            timestamptz   NOT NULL,
    sent_at               timestamptz,    -- set just before the request; NULL for planned rows
    settled_at            timestamptz,    -- when the outcome became known; NULL while in_flight or unknown
    run_id                bigint        REFERENCES syncer.runs (id),
    reconciled_at         timestamptz,
    reconcile_note        text,
    -- Dry-run rows are exactly the planned ones: nothing planned is ever sent.
    CHECK ((status = 'planned') = dry_run),
    CHECK (status = 'planned' OR sent_at IS NOT NULL)
);

-- At most one transfer per client whose outcome is open: a client with an
-- in_flight or unknown transfer gets no new one until it is reconciled, even
-- if two processes race to send.
CREATE UNIQUE INDEX mgid_transfers_one_open_per_client
    ON syncer.mgid_transfers (agency_id, client_id) WHERE status IN ('in_flight', 'unknown');
-- The daily caps sum the day's transfers of an agency.
CREATE INDEX mgid_transfers_agency_created ON syncer.mgid_transfers (agency_id, created_at);

CREATE VIEW bi.mgid_transfers AS
SELECT id AS transfer_id,
       agency_id,
       client_id,
       amount,
       account_type,
       origin,
       requested_by,
       dry_run,
       status,
       before_source,
       before_at,
       client_balance_before,
       client_income_before,
       agency_account_before,
       client_balance_after,
       agency_account_after,
       provider_message,
       error,
       created_at,
       sent_at,
       settled_at,
       run_id,
       reconciled_at,
       reconcile_note
FROM syncer.mgid_transfers;

-- +goose Down
DROP VIEW bi.mgid_transfers;
DROP TABLE syncer.mgid_transfers;
