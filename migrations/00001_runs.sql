-- Internal tables live in schema syncer and may change; BI reads only the
-- views in schema bi, which are the stable contract.

-- +goose Up
CREATE SCHEMA syncer;
CREATE SCHEMA bi;

-- One row per job run: scheduled, catch-up, manual or one backfill day.
CREATE TABLE syncer.runs (
    id            bigserial PRIMARY KEY,
    job           text        NOT NULL,
    trigger       text        NOT NULL CHECK (trigger IN ('schedule', 'catchup', 'manual', 'backfill')),
    -- The cron tick a scheduled run belongs to: unique per job, so replicas
    -- whose clocks disagree by a little still run each tick once.
    scheduled_for timestamptz,
    window_date   date,
    replica       text        NOT NULL,
    started_at    timestamptz NOT NULL DEFAULT now(),
    finished_at   timestamptz,
    status        text        NOT NULL DEFAULT 'running'
                  CHECK (status IN ('running', 'succeeded', 'failed', 'cancelled')),
    rows_written  bigint      NOT NULL DEFAULT 0,
    -- Per-outcome counts for tracked-check rounds, and other run details.
    detail        jsonb,
    error_class   text,
    error_message text
);
CREATE UNIQUE INDEX runs_tick_once ON syncer.runs (job, scheduled_for) WHERE scheduled_for IS NOT NULL;
CREATE INDEX runs_job_started ON syncer.runs (job, started_at DESC);
CREATE INDEX runs_job_success ON syncer.runs (job, finished_at DESC) WHERE status = 'succeeded';

-- Backfill checkpoints: a day listed here is finished and is skipped on re-run.
CREATE TABLE syncer.backfill_days (
    job          text        NOT NULL,
    day          date        NOT NULL,
    run_id       bigint      NOT NULL REFERENCES syncer.runs (id),
    rows_written bigint      NOT NULL,
    finished_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (job, day)
);

CREATE VIEW bi.sync_runs AS
SELECT id            AS run_id,
       job,
       trigger,
       status,
       started_at,
       finished_at,
       rows_written,
       window_date,
       detail,
       error_class,
       error_message AS error
FROM syncer.runs;

CREATE VIEW bi.source_freshness AS
SELECT job,
       max(finished_at)         AS last_success_at,
       now() - max(finished_at) AS age
FROM syncer.runs
WHERE status = 'succeeded'
GROUP BY job;

-- +goose Down
DROP SCHEMA bi CASCADE;
DROP SCHEMA syncer CASCADE;
