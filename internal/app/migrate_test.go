package app

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/shadower/shadower/internal/auth"
	"github.com/shadower/shadower/internal/patterns"
)

// migrateAndCompare fills an embedded store, migrates it to the store dst
// names, and checks that every answer is the same byte for byte.
func migrateAndCompare(t *testing.T, dst Config) {
	src := t.TempDir()
	// The source is always an embedded store.
	s, err := Start(context.Background(), Config{Addr: "127.0.0.1:0", Data: src, AdminKey: operator, Quiet: true,
		Now: func() time.Time { return now }, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	c := client{t: t, base: "http://" + s.Addr()}
	for _, b := range generate(5).batches {
		body, _ := json.Marshal(b)
		if code := c.do("POST", "/api/v1/events", operator, body, nil); code != 200 {
			t.Fatal(code)
		}
	}
	// Workers, the backlog, and a finding.
	beats := "[" + beat("alpha", "w-1", now.Add(-time.Minute), 4, 2, `,"cpu_percent":30,"labels":{"zone":"eu"}`) + "," +
		beat("alpha", "w-1", now, 4, 3, `,"cpu_percent":35`) + "," + beat("alpha", "w-2", now.Add(-time.Hour), 2, 0, "") + "]"
	if code := c.do("POST", "/api/v1/workers/heartbeat", operator, []byte(beats), nil); code != 200 {
		t.Fatal(code)
	}
	if err := s.sampleBacklog(context.Background()); err != nil {
		t.Fatal(err)
	}
	agent := "coder"
	f := patterns.Record{WorkspaceID: "alpha", AgentID: &agent, Metric: "duration_p95", Direction: "up",
		Start: now.Add(-2 * time.Hour), End: now.Add(-time.Hour), Observed: 9000, Expected: 3000, Score: 7, Severity: "warning",
		Baseline: "robust", Explanation: "slower", Contributors: []patterns.Contributor{}, UpdatedAt: now}
	f.ID = patterns.RecordID("alpha", agent, f.Metric, f.Direction, f.Start)
	if err := s.db.SaveFindings(context.Background(), []patterns.Record{f}); err != nil {
		t.Fatal(err)
	}
	read := auth.Secret(createKey(t, c, operator, "alpha", "read").Key)
	revoked := createKey(t, c, operator, "alpha", "read")
	c.do("DELETE", "/api/v1/workspaces/alpha/keys/"+revoked.ID, operator, nil, nil)
	paths := []string{
		"/api/v1/metrics/execution?workspace_id=alpha&timeframe=24h",
		"/api/v1/metrics/execution?workspace_id=beta&timeframe=7d&tz=Europe/Paris",
		"/api/v1/metrics/execution/throughput?workspace_id=alpha&timeframe=1h",
		"/api/v1/metrics/execution/resources?workspace_id=alpha&timeframe=6h",
		"/api/v1/metrics/execution/queue?workspace_id=alpha&timeframe=1h",
		"/api/v1/patterns?workspace_id=alpha&timeframe=24h",
		"/api/v1/executions?workspace_id=beta&limit=50",
		"/api/v1/executions/x17?workspace_id=" + "alpha",
		"/api/v1/workspaces/alpha/keys",
	}
	before := map[string][]byte{}
	for _, p := range paths {
		before[p] = c.raw(p, operator)
	}
	stop(t, s)

	dst.Now, dst.Quiet = func() time.Time { return now }, true
	dst.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	var out bytes.Buffer
	if err := Migrate(context.Background(), src, dst, &out); err != nil {
		t.Fatal(err)
	}
	t.Log(out.String())
	dst.Addr, dst.AdminKey = "127.0.0.1:0", operator
	s2, err := Start(context.Background(), dst)
	if err != nil {
		t.Fatal(err)
	}
	defer stop(t, s2)
	c.base = "http://" + s2.Addr()
	for _, p := range paths {
		m := c.raw(p, operator)
		if !bytes.Equal(m, before[p]) {
			t.Fatalf("%s differs after the migration:\nbefore %s\nafter  %s", p, before[p], m)
		}
	}
	if code := c.do("GET", "/api/v1/metrics/execution/realtime?workspace_id=alpha", read, nil, nil); code != 200 {
		t.Fatalf("a migrated key: %d", code)
	}
	if code := c.do("GET", "/api/v1/metrics/execution/realtime?workspace_id=alpha", auth.Secret(revoked.Key), nil, nil); code != 401 {
		t.Fatalf("a migrated revoked key: %d", code)
	}
}

// TestMigrate copies an embedded store into the store under test: another
// directory, or a fresh PostgreSQL database.
func TestMigrate(t *testing.T) {
	var cfg Config
	storeConfig(t, &cfg, t.TempDir())
	migrateAndCompare(t, cfg)
}
