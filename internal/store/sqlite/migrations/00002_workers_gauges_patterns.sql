-- +goose Up
-- The latest heartbeat of each worker.
CREATE TABLE workers (
  workspace_id       TEXT NOT NULL,
  worker_id          TEXT NOT NULL,
  capacity_slots     INTEGER NOT NULL,
  busy_slots         INTEGER NOT NULL,
  cpu_percent        REAL,
  memory_bytes       INTEGER,
  memory_limit_bytes INTEGER,
  labels             TEXT,
  interval_seconds   INTEGER NOT NULL,
  first_seen         INTEGER NOT NULL,
  last_seen          INTEGER NOT NULL,
  PRIMARY KEY (workspace_id, worker_id)
) WITHOUT ROWID;
CREATE INDEX workers_by_last_seen ON workers (workspace_id, last_seen);

-- Sampled values (workers' load, the queue's backlog) per tier bucket:
-- count, sum, minimum and maximum of the samples.
CREATE TABLE gauges (
  workspace_id TEXT NOT NULL,
  tier         INTEGER NOT NULL,
  gauge        TEXT NOT NULL,
  bucket       INTEGER NOT NULL,
  key          TEXT NOT NULL,
  samples      INTEGER NOT NULL,
  value_sum    REAL NOT NULL,
  value_min    REAL NOT NULL,
  value_max    REAL NOT NULL,
  PRIMARY KEY (workspace_id, tier, gauge, bucket, key)
) WITHOUT ROWID;

-- Findings of the anomaly detector: an unusual stretch of one metric of an
-- agent ('*' for the workspace).
CREATE TABLE execution_patterns (
  workspace_id TEXT NOT NULL,
  id           TEXT NOT NULL,
  metric       TEXT NOT NULL,
  agent_id     TEXT NOT NULL,
  direction    TEXT NOT NULL,
  started_at   INTEGER NOT NULL,
  ended_at     INTEGER NOT NULL,
  ongoing      INTEGER NOT NULL,
  observed     REAL NOT NULL,
  expected     REAL NOT NULL,
  score        REAL NOT NULL,
  severity     TEXT NOT NULL,
  baseline     TEXT NOT NULL,
  explanation  TEXT NOT NULL,
  contributors TEXT NOT NULL,
  updated_at   INTEGER NOT NULL,
  PRIMARY KEY (workspace_id, id)
) WITHOUT ROWID;
CREATE INDEX execution_patterns_by_time ON execution_patterns (workspace_id, started_at);

-- +goose Down
DROP TABLE execution_patterns;
DROP TABLE gauges;
DROP TABLE workers;
