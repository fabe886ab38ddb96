package main

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/shadower/shadower/internal/store/pgtest"
)

// TestPostgresWritesFail makes the database refuse writes under a running
// server: batches get 503 with Retry-After and are not stored; once writes
// work again the server takes batches without a restart.
func TestPostgresWritesFail(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	dsn := pgtest.FreshDSN(t)
	u, _ := url.Parse(dsn)
	name := strings.TrimPrefix(u.Path, "/")
	p := serveDB(t, build(t), dsn)

	admin := func(sql string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, pgtest.AdminDSN())
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
		// New settings apply to new sessions: end the server's current ones.
		if _, err := conn.Exec(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1`, name); err != nil {
			t.Fatal(err)
		}
	}
	if code, body := post(p.addr, batch(100, 0)); code != 200 {
		t.Fatalf("before: %d %s", code, body)
	}
	admin("ALTER DATABASE " + name + " SET default_transaction_read_only = on")
	var refused int
	for i := 1; i <= 20 && refused < 3; i++ {
		code, _ := post(p.addr, batch(100, i*100))
		switch code {
		case 503:
			refused++
		case 200:
			t.Fatalf("batch %d acknowledged while the database refuses writes", i)
		}
	}
	if refused == 0 {
		t.Fatal("no batch was refused")
	}
	if got := finished(t, p.addr); got != 100 {
		t.Fatalf("%d finished while writes failed, want the first 100 only", got)
	}
	admin("ALTER DATABASE " + name + " SET default_transaction_read_only = off")
	deadline := time.Now().Add(10 * time.Second)
	for {
		code, _ := post(p.addr, batch(100, 10_000))
		if code == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("still %d 10 s after writes work again", code)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if got := finished(t, p.addr); got != 200 {
		t.Fatalf("%d finished after recovery, want 200", got)
	}
}
