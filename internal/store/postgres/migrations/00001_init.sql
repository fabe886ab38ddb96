-- +goose Up
-- The PostgreSQL store. workspace_id leads every key and index (except
-- api_keys, looked up by hash), so the schema shards by workspace.
--
-- Execution times are kept to the nanosecond, as the API returns them, in
-- bigint Unix-nanosecond columns named *_ns; timestamptz (microseconds)
-- cannot round-trip them. Each *_ns column has a generated timestamptz twin
-- without the suffix for people reading the tables with psql. Ids compare
-- byte-wise (COLLATE "C"), like the embedded store and the API's cursors.

CREATE TABLE workspaces (
  workspace_id text COLLATE "C" NOT NULL PRIMARY KEY,
  created_at   timestamptz NOT NULL
);

-- Every agent that has rollup rows, so a query over all agents can seek
-- each agent's rows instead of scanning a tier.
CREATE TABLE agents (
  workspace_id text COLLATE "C" NOT NULL,
  agent_id     text COLLATE "C" NOT NULL,
  PRIMARY KEY (workspace_id, agent_id)
);

-- The idempotency record: one row per event ever accepted (until retention).
-- INSERT ... ON CONFLICT DO NOTHING RETURNING tells new from duplicate, also
-- when two nodes insert the same event at once.
CREATE TABLE execution_event_ids (
  workspace_id text COLLATE "C" NOT NULL,
  event_id     text COLLATE "C" NOT NULL,
  received_at  timestamptz NOT NULL,
  PRIMARY KEY (workspace_id, event_id)
);

-- The raw event log, one partition per UTC day of receipt (created ahead by
-- the writer, dropped whole by retention). The default partition takes rows
-- no day partition covers: events of executions still alive when their day
-- was dropped, and any receipt day whose partition could not be created.
CREATE TABLE execution_logs (
  workspace_id text COLLATE "C" NOT NULL,
  event_id     text COLLATE "C" NOT NULL,
  execution_id text COLLATE "C" NOT NULL,
  type         text NOT NULL,
  ts           timestamptz NOT NULL,
  received_at  timestamptz NOT NULL,
  body         jsonb NOT NULL
) PARTITION BY RANGE (received_at);
CREATE INDEX execution_logs_by_execution ON execution_logs (workspace_id, execution_id, ts);
CREATE TABLE execution_logs_default PARTITION OF execution_logs DEFAULT;

CREATE TABLE executions (
  workspace_id   text COLLATE "C" NOT NULL,
  execution_id   text COLLATE "C" NOT NULL,
  agent_id       text COLLATE "C" NOT NULL,
  status         text NOT NULL,
  sort_at_ns     bigint NOT NULL,
  seen_at_ns     bigint,
  queued_at_ns   bigint,
  started_at_ns  bigint,
  finished_at_ns bigint,
  worker_id      text NOT NULL DEFAULT '',
  trigger        text NOT NULL DEFAULT '',
  progress       double precision,
  progress_at_ns bigint,
  error_type     text,
  error_message  text,
  credits        double precision NOT NULL DEFAULT 0,
  tokens         double precision NOT NULL DEFAULT 0,
  updated_at     timestamptz NOT NULL,
  -- For psql: the *_ns times to the microsecond.
  sort_at        timestamptz GENERATED ALWAYS AS (to_timestamp((sort_at_ns / 1000)::float8 / 1e6)) STORED,
  seen_at        timestamptz GENERATED ALWAYS AS (to_timestamp((seen_at_ns / 1000)::float8 / 1e6)) STORED,
  queued_at      timestamptz GENERATED ALWAYS AS (to_timestamp((queued_at_ns / 1000)::float8 / 1e6)) STORED,
  started_at     timestamptz GENERATED ALWAYS AS (to_timestamp((started_at_ns / 1000)::float8 / 1e6)) STORED,
  finished_at    timestamptz GENERATED ALWAYS AS (to_timestamp((finished_at_ns / 1000)::float8 / 1e6)) STORED,
  progress_at    timestamptz GENERATED ALWAYS AS (to_timestamp((progress_at_ns / 1000)::float8 / 1e6)) STORED,
  PRIMARY KEY (workspace_id, execution_id)
);
CREATE INDEX executions_by_time ON executions (workspace_id, sort_at_ns DESC, execution_id DESC);
CREATE INDEX executions_open ON executions (workspace_id, status) WHERE status IN ('queued', 'running');
CREATE INDEX executions_by_update ON executions (workspace_id, updated_at);

-- The rollup tiers, one table each. Buckets are Unix seconds aligned to the
-- tier; agent '*' is the workspace total. Agent before bucket: a window of
-- one agent is one contiguous range. Counts never go negative: the CHECK
-- constraints enforce it on every write, and Check verifies they hold.
CREATE TABLE execution_metrics_minute (
  workspace_id text COLLATE "C" NOT NULL,
  bucket       bigint NOT NULL,
  agent_id     text COLLATE "C" NOT NULL,
  started      bigint NOT NULL,
  completed    bigint NOT NULL,
  failed       bigint NOT NULL,
  timed_out    bigint NOT NULL,
  cancelled    bigint NOT NULL,
  peak_minute  bigint NOT NULL,
  credits      double precision NOT NULL,
  tokens       double precision NOT NULL,
  errors       jsonb,
  dur_count    bigint NOT NULL,
  dur_sum      double precision NOT NULL,
  dur_min      double precision NOT NULL,
  dur_max      double precision NOT NULL,
  dur_sketch   bytea,
  qw_count     bigint NOT NULL,
  qw_sum       double precision NOT NULL,
  qw_min       double precision NOT NULL,
  qw_max       double precision NOT NULL,
  qw_sketch    bytea,
  PRIMARY KEY (workspace_id, agent_id, bucket),
  CONSTRAINT execution_metrics_minute_counts CHECK (started >= 0 AND completed >= 0 AND failed >= 0
    AND timed_out >= 0 AND cancelled >= 0 AND peak_minute >= 0 AND dur_count >= 0 AND qw_count >= 0)
);

CREATE TABLE execution_metrics_hour (
  workspace_id text COLLATE "C" NOT NULL,
  bucket       bigint NOT NULL,
  agent_id     text COLLATE "C" NOT NULL,
  started      bigint NOT NULL,
  completed    bigint NOT NULL,
  failed       bigint NOT NULL,
  timed_out    bigint NOT NULL,
  cancelled    bigint NOT NULL,
  peak_minute  bigint NOT NULL,
  credits      double precision NOT NULL,
  tokens       double precision NOT NULL,
  errors       jsonb,
  dur_count    bigint NOT NULL,
  dur_sum      double precision NOT NULL,
  dur_min      double precision NOT NULL,
  dur_max      double precision NOT NULL,
  dur_sketch   bytea,
  qw_count     bigint NOT NULL,
  qw_sum       double precision NOT NULL,
  qw_min       double precision NOT NULL,
  qw_max       double precision NOT NULL,
  qw_sketch    bytea,
  PRIMARY KEY (workspace_id, agent_id, bucket),
  CONSTRAINT execution_metrics_hour_counts CHECK (started >= 0 AND completed >= 0 AND failed >= 0
    AND timed_out >= 0 AND cancelled >= 0 AND peak_minute >= 0 AND dur_count >= 0 AND qw_count >= 0)
);

CREATE TABLE execution_metrics_day (
  workspace_id text COLLATE "C" NOT NULL,
  bucket       bigint NOT NULL,
  agent_id     text COLLATE "C" NOT NULL,
  started      bigint NOT NULL,
  completed    bigint NOT NULL,
  failed       bigint NOT NULL,
  timed_out    bigint NOT NULL,
  cancelled    bigint NOT NULL,
  peak_minute  bigint NOT NULL,
  credits      double precision NOT NULL,
  tokens       double precision NOT NULL,
  errors       jsonb,
  dur_count    bigint NOT NULL,
  dur_sum      double precision NOT NULL,
  dur_min      double precision NOT NULL,
  dur_max      double precision NOT NULL,
  dur_sketch   bytea,
  qw_count     bigint NOT NULL,
  qw_sum       double precision NOT NULL,
  qw_min       double precision NOT NULL,
  qw_max       double precision NOT NULL,
  qw_sketch    bytea,
  PRIMARY KEY (workspace_id, agent_id, bucket),
  CONSTRAINT execution_metrics_day_counts CHECK (started >= 0 AND completed >= 0 AND failed >= 0
    AND timed_out >= 0 AND cancelled >= 0 AND peak_minute >= 0 AND dur_count >= 0 AND qw_count >= 0)
);

-- Found by pattern detection (filled later): an unusual stretch of one
-- metric of an agent ('*' for the workspace), with what was observed and
-- expected.
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

-- Keys are looked up by hash before their workspace is known, so this small
-- table is the one not led by workspace_id (a reference table when sharded).
CREATE TABLE api_keys (
  id            text COLLATE "C" NOT NULL PRIMARY KEY,
  workspace_id  text COLLATE "C" NOT NULL,
  scope         text NOT NULL,
  hash          bytea NOT NULL UNIQUE,
  created_at_ns bigint NOT NULL,
  revoked_at_ns bigint,
  created_at    timestamptz GENERATED ALWAYS AS (to_timestamp((created_at_ns / 1000)::float8 / 1e6)) STORED,
  revoked_at    timestamptz GENERATED ALWAYS AS (to_timestamp((revoked_at_ns / 1000)::float8 / 1e6)) STORED
);
CREATE INDEX api_keys_by_workspace ON api_keys (workspace_id, created_at_ns);

-- Executions waiting now, oldest first per workspace when ordered by queued_at.
CREATE VIEW execution_queue AS
SELECT workspace_id, execution_id, agent_id,
       coalesce(queued_at, seen_at) AS queued_at,
       (extract(epoch FROM now() - coalesce(queued_at, seen_at)) * 1000)::bigint AS wait_ms
  FROM executions
 WHERE status = 'queued';

-- Executions running now (including those that stopped reporting: compare
-- elapsed_ms with the maximum run time).
CREATE VIEW v_current_executions AS
SELECT workspace_id, execution_id, agent_id, worker_id, started_at,
       (extract(epoch FROM now() - coalesce(started_at, queued_at, seen_at)) * 1000)::bigint AS elapsed_ms,
       progress
  FROM executions
 WHERE status = 'running';

-- Run times of the executions finished in the last 24 hours, per workspace
-- and agent, in log-spaced buckets with 1-2-5 bounds:
-- [0,1) [1,2) [2,5) [5,10) [10,20) ... milliseconds.
CREATE VIEW v_execution_latency_distribution AS
WITH done AS (
  SELECT workspace_id, agent_id, (finished_at_ns - started_at_ns) / 1000000 AS ms
    FROM executions
   WHERE status IN ('completed', 'failed', 'timed_out', 'cancelled')
     AND started_at_ns IS NOT NULL AND finished_at_ns >= started_at_ns
     AND finished_at >= now() - interval '24 hours'
), bounded AS (
  SELECT workspace_id, agent_id,
         CASE WHEN ms < 1 THEN 0
              ELSE p * CASE WHEN ms / p >= 5 THEN 5 WHEN ms / p >= 2 THEN 2 ELSE 1 END
         END AS lo,
         p
    FROM done, LATERAL (SELECT (10::numeric ^ (length(greatest(ms, 1)::text) - 1))::bigint AS p) AS pow
)
SELECT workspace_id, agent_id,
       lo AS bucket_min_ms,
       CASE WHEN lo = 0 THEN 1 WHEN lo / p = 2 THEN lo / 2 * 5 ELSE lo * 2 END AS bucket_max_ms,
       count(*) AS executions
  FROM bounded
 GROUP BY workspace_id, agent_id, lo, p;

-- +goose Down
DROP VIEW v_execution_latency_distribution;
DROP VIEW v_current_executions;
DROP VIEW execution_queue;
DROP TABLE api_keys;
DROP TABLE execution_patterns;
DROP TABLE execution_metrics_day;
DROP TABLE execution_metrics_hour;
DROP TABLE execution_metrics_minute;
DROP TABLE executions;
DROP TABLE execution_logs;
DROP TABLE execution_event_ids;
DROP TABLE agents;
DROP TABLE workspaces;
