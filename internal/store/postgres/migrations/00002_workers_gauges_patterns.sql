-- +goose Up
-- The latest heartbeat of each worker.
CREATE TABLE workers (
  workspace_id       text COLLATE "C" NOT NULL,
  worker_id          text COLLATE "C" NOT NULL,
  capacity_slots     bigint NOT NULL,
  busy_slots         bigint NOT NULL,
  cpu_percent        double precision,
  memory_bytes       bigint,
  memory_limit_bytes bigint,
  labels             jsonb,
  interval_seconds   bigint NOT NULL,
  first_seen         timestamptz NOT NULL,
  last_seen          timestamptz NOT NULL,
  PRIMARY KEY (workspace_id, worker_id)
);
CREATE INDEX workers_by_last_seen ON workers (workspace_id, last_seen);

-- Sampled values (workers' load, the queue's backlog) per tier bucket
-- (tier 0 minute, 1 hour, 2 day; bucket in Unix seconds): count, sum,
-- minimum and maximum of the samples.
CREATE TABLE gauge_metrics (
  workspace_id text COLLATE "C" NOT NULL,
  tier         smallint NOT NULL,
  gauge        text COLLATE "C" NOT NULL,
  bucket       bigint NOT NULL,
  key          text COLLATE "C" NOT NULL,
  samples      bigint NOT NULL,
  value_sum    double precision NOT NULL,
  value_min    double precision NOT NULL,
  value_max    double precision NOT NULL,
  PRIMARY KEY (workspace_id, tier, gauge, bucket, key)
);

-- Findings of the anomaly detector, replacing the first schema's table,
-- which nothing wrote: ids are stable (the same finding keeps its id while
-- it grows, whichever node saw it).
DROP TABLE execution_patterns;
CREATE TABLE execution_patterns (
  workspace_id text COLLATE "C" NOT NULL,
  id           text COLLATE "C" NOT NULL,
  metric       text NOT NULL,
  agent_id     text COLLATE "C" NOT NULL DEFAULT '*',
  direction    text NOT NULL,
  started_at   timestamptz NOT NULL,
  ended_at     timestamptz NOT NULL,
  ongoing      boolean NOT NULL,
  observed     double precision NOT NULL,
  expected     double precision NOT NULL,
  score        double precision NOT NULL,
  severity     text NOT NULL,
  baseline     text NOT NULL,
  explanation  text NOT NULL,
  contributors jsonb NOT NULL,
  updated_at   timestamptz NOT NULL,
  PRIMARY KEY (workspace_id, id)
);
CREATE INDEX execution_patterns_by_time ON execution_patterns (workspace_id, started_at DESC);

-- +goose Down
DROP TABLE execution_patterns;
CREATE TABLE execution_patterns (
  workspace_id text COLLATE "C" NOT NULL,
  id           bigserial NOT NULL,
  metric       text NOT NULL,
  agent_id     text COLLATE "C" NOT NULL DEFAULT '*',
  started_at   timestamptz NOT NULL,
  ended_at     timestamptz,
  observed     double precision,
  expected     double precision,
  score        double precision,
  severity     text NOT NULL,
  explanation  text NOT NULL DEFAULT '',
  created_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (workspace_id, id)
);
CREATE INDEX execution_patterns_by_time ON execution_patterns (workspace_id, started_at DESC);
DROP TABLE gauge_metrics;
DROP TABLE workers;
