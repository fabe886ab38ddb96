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
)

// migrateAndCompare fills an embedded store, migrates it to the store dst
// names, and checks that every answer is the same byte for byte.
func migrateAndCompare(t *testing.T, dst Config) {
	src := t.TempDir()
	// The source is always an embedded store.
	s, err := Start(context.Background(), Config{Addr: "127.0.0.1:0", Data: src, AdminKey: operator,
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
	read := auth.Secret(createKey(t, c, operator, "alpha", "read").Key)
	revoked := createKey(t, c, operator, "alpha", "read")
	c.do("DELETE", "/api/v1/workspaces/alpha/keys/"+revoked.ID, operator, nil, nil)
	paths := []string{
		"/api/v1/metrics/execution?workspace_id=alpha&timeframe=24h",
		"/api/v1/metrics/execution?workspace_id=beta&timeframe=7d&tz=Europe/Paris",
		"/api/v1/metrics/execution/throughput?workspace_id=alpha&timeframe=1h",
		"/api/v1/executions?workspace_id=beta&limit=50",
		"/api/v1/executions/x17?workspace_id=" + "alpha",
		"/api/v1/workspaces/alpha/keys",
	}
	before := map[string][]byte{}
	for _, p := range paths {
		var m json.RawMessage
		c.do("GET", p, operator, nil, &m)
		before[p] = m
	}
	stop(t, s)

	dst.Now = func() time.Time { return now }
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
		var m json.RawMessage
		c.do("GET", p, operator, nil, &m)
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
