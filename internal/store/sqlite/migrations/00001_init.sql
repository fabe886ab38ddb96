-- +goose Up
-- Times are Unix nanoseconds (events, executions) or seconds (buckets,
-- bookkeeping); NULL is unknown. workspace_id leads every key and index.
CREATE TABLE workspaces (
  workspace_id TEXT NOT NULL PRIMARY KEY,
  created_at   INTEGER NOT NULL
) WITHOUT ROWID;

-- Every agent that has sent events, so a query over all agents can seek
-- each agent's rollup rows instead of scanning a tier.
CREATE TABLE agents (
  workspace_id TEXT NOT NULL,
  agent_id     TEXT NOT NULL,
  PRIMARY KEY (workspace_id, agent_id)
) WITHOUT ROWID;

CREATE TABLE events (
  workspace_id TEXT NOT NULL,
  event_id     TEXT NOT NULL,
  execution_id TEXT NOT NULL,
  ts           INTEGER NOT NULL,
  received_at  INTEGER NOT NULL,
  body         BLOB NOT NULL,
  PRIMARY KEY (workspace_id, event_id)
) WITHOUT ROWID;
-- Drill-down, and retention: events leave with their execution.
CREATE INDEX events_by_execution ON events (workspace_id, execution_id, ts);

CREATE TABLE executions (
  workspace_id  TEXT NOT NULL,
  execution_id  TEXT NOT NULL,
  agent_id      TEXT NOT NULL,
  status        TEXT NOT NULL,
  sort_at       INTEGER NOT NULL,
  seen_at       INTEGER,
  queued_at     INTEGER,
  started_at    INTEGER,
  finished_at   INTEGER,
  worker_id     TEXT NOT NULL DEFAULT '',
  trigger       TEXT NOT NULL DEFAULT '',
  progress      REAL,
  progress_at   INTEGER,
  error_type    TEXT,
  error_message TEXT,
  credits       REAL NOT NULL DEFAULT 0,
  tokens        REAL NOT NULL DEFAULT 0,
  updated_at    INTEGER NOT NULL,
  PRIMARY KEY (workspace_id, execution_id)
) WITHOUT ROWID;
CREATE INDEX executions_by_time ON executions (workspace_id, sort_at DESC, execution_id DESC);
CREATE INDEX executions_open ON executions (workspace_id, status) WHERE status IN ('queued', 'running');
CREATE INDEX executions_by_update ON executions (workspace_id, updated_at);

CREATE TABLE rollups (
  workspace_id TEXT NOT NULL,
  tier         INTEGER NOT NULL,
  bucket       INTEGER NOT NULL,
  agent_id     TEXT NOT NULL,
  started      INTEGER NOT NULL,
  completed    INTEGER NOT NULL,
  failed       INTEGER NOT NULL,
  timed_out    INTEGER NOT NULL,
  cancelled    INTEGER NOT NULL,
  peak_minute  INTEGER NOT NULL,
  credits      REAL NOT NULL,
  tokens       REAL NOT NULL,
  errors       TEXT,
  dur_count    INTEGER NOT NULL,
  dur_sum      REAL NOT NULL,
  dur_min      REAL NOT NULL,
  dur_max      REAL NOT NULL,
  dur_sketch   BLOB,
  qw_count     INTEGER NOT NULL,
  qw_sum       REAL NOT NULL,
  qw_min       REAL NOT NULL,
  qw_max       REAL NOT NULL,
  qw_sketch    BLOB,
  -- agent before bucket: a window of one agent (or of the workspace total,
  -- agent '*') is one contiguous range.
  PRIMARY KEY (workspace_id, tier, agent_id, bucket)
) WITHOUT ROWID;

-- Keys are looked up by hash before their workspace is known, so this small
-- table is the one not led by workspace_id (a reference table when sharded).
CREATE TABLE api_keys (
  id           TEXT NOT NULL PRIMARY KEY,
  workspace_id TEXT NOT NULL,
  scope        TEXT NOT NULL,
  hash         BLOB NOT NULL UNIQUE,
  created_at   INTEGER NOT NULL,
  revoked_at   INTEGER
);
CREATE INDEX api_keys_by_workspace ON api_keys (workspace_id, created_at);

-- +goose Down
DROP TABLE api_keys;
DROP TABLE rollups;
DROP TABLE executions;
DROP TABLE events;
DROP TABLE agents;
DROP TABLE workspaces;
