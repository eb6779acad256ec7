-- +goose Up

-- One row per agency per snapshot. It doubles as the snapshot index: a
-- snapshot's client rows share its captured_at and commit with it.
CREATE TABLE syncer.mgid_agency_balance (
    agency_id        bigint        NOT NULL,
    captured_at      timestamptz   NOT NULL,
    run_id           bigint        NOT NULL,
    personal_account numeric(18,4) NOT NULL,
    bonus_account    numeric(18,4) NOT NULL,
    clients_balance  numeric(18,4) NOT NULL,
    PRIMARY KEY (agency_id, captured_at)
);

-- Append-only client wallet snapshots. The key leads with captured_at so a
-- snapshot appends to the right edge of the index instead of scattering.
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

-- Spend per client per calendar day (MGID_TIMEZONE); the current value. The
-- key leads with the day so a new day appends to the right edge of the index.
-- prev_* hold the value an update replaced: Postgres 15's RETURNING shows
-- only the new row, and this lets one upsert statement hand the old value to
-- the revision table without joining the history a second time.
CREATE TABLE syncer.mgid_client_spend_daily (
    agency_id       bigint        NOT NULL,
    spend_date      date          NOT NULL,
    client_id       bigint        NOT NULL,
    spent           numeric(18,4) NOT NULL,
    first_seen_at   timestamptz   NOT NULL,
    updated_at      timestamptz   NOT NULL,
    revisions       integer       NOT NULL DEFAULT 0,
    run_id          bigint        NOT NULL,
    prev_spent      numeric(18,4),
    prev_updated_at timestamptz,
    PRIMARY KEY (agency_id, spend_date, client_id)
);

-- Every value a restatement replaced: what it was, from when, until when.
CREATE TABLE syncer.mgid_client_spend_revision (
    agency_id   bigint        NOT NULL,
    client_id   bigint        NOT NULL,
    spend_date  date          NOT NULL,
    spent       numeric(18,4) NOT NULL,
    valid_from  timestamptz   NOT NULL,
    replaced_at timestamptz   NOT NULL,
    run_id      bigint        NOT NULL
);
CREATE INDEX mgid_client_spend_revision_key
    ON syncer.mgid_client_spend_revision (agency_id, client_id, spend_date, replaced_at);

CREATE VIEW bi.mgid_agency_balance_history AS
SELECT agency_id, captured_at, personal_account, bonus_account, clients_balance
FROM syncer.mgid_agency_balance;

CREATE VIEW bi.mgid_client_balance_history AS
SELECT agency_id, client_id, email, captured_at, balance, credit, income
FROM syncer.mgid_client_balance;

-- The clients of each agency's most recent snapshot. A client that left the
-- agency drops out here and stays in the history.
CREATE VIEW bi.mgid_client_balance_latest AS
SELECT c.agency_id, c.client_id, c.email, c.captured_at, c.balance, c.credit, c.income
FROM syncer.mgid_client_balance c
JOIN (SELECT agency_id, max(captured_at) AS captured_at
      FROM syncer.mgid_agency_balance
      GROUP BY agency_id) latest USING (agency_id, captured_at);

CREATE VIEW bi.mgid_client_spend_daily AS
SELECT agency_id, client_id, spend_date, spent, first_seen_at, updated_at, revisions
FROM syncer.mgid_client_spend_daily;

CREATE VIEW bi.mgid_client_spend_revisions AS
SELECT agency_id, client_id, spend_date, spent, valid_from, replaced_at AS valid_to
FROM syncer.mgid_client_spend_revision;

-- +goose Down
DROP VIEW bi.mgid_client_spend_revisions;
DROP VIEW bi.mgid_client_spend_daily;
DROP VIEW bi.mgid_client_balance_latest;
DROP VIEW bi.mgid_client_balance_history;
DROP VIEW bi.mgid_agency_balance_history;
DROP TABLE syncer.mgid_client_spend_revision;
DROP TABLE syncer.mgid_client_spend_daily;
DROP TABLE syncer.mgid_client_balance;
DROP TABLE syncer.mgid_agency_balance;
