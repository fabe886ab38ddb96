package postgres_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/shadower/shadower/internal/execution"
	"github.com/shadower/shadower/internal/ingest"
	"github.com/shadower/shadower/internal/rollup"
	"github.com/shadower/shadower/internal/store/pgtest"
	"github.com/shadower/shadower/internal/store/postgres"
	"github.com/shadower/shadower/internal/store/storetest"
)

// The server's store interface (internal/app), spelt out: the PostgreSQL
// store must fit wherever the embedded one does.
var _ interface {
	storetest.Store
	RawRange(ctx context.Context, ws string, from, to time.Time) (map[string]*execution.Execution, []execution.Event, error)
	ReplaceRollups(ctx context.Context, ws string, from, to time.Time, rows map[rollup.Key]*rollup.Row) error
	ExecutionsByID(ctx context.Context, ws string, ids []string) (map[string]*execution.Execution, error)
	Path() string
	Close() error
} = (*postgres.DB)(nil)

// freshDSN is an empty database for tb, dropped when tb ends.
func freshDSN(tb testing.TB) string { return pgtest.FreshDSN(tb) }

func open(tb testing.TB, dsn string) *postgres.DB {
	tb.Helper()
	db, err := postgres.Open(context.Background(), dsn)
	if err != nil {
		tb.Fatalf("Open: %v", err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

// TestConformance runs the store conformance suite on a fresh database per
// check.
func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Store {
		return open(t, freshDSN(t))
	})
}

// TestReopen checks that opening a migrated database again keeps its data
// and that Check holds.
func TestReopen(t *testing.T) {
	dsn := freshDSN(t)
	at := storetest.Base.Add(time.Hour)
	db := open(t, dsn)
	err := db.Write(context.Background(), func(tx ingest.Tx) error {
		if _, err := tx.InsertEvents([]*execution.Event{{EventID: "e1", Type: execution.Queued, ExecutionID: "x1",
			WorkspaceID: "ws", AgentID: "a", Timestamp: at}}, at); err != nil {
			return err
		}
		if err := tx.SaveExecutions([]*execution.Execution{{WorkspaceID: "ws", ExecutionID: "x1", AgentID: "a",
			Status: execution.StatusQueued, SeenAt: at, QueuedAt: at}}, at); err != nil {
			return err
		}
		return tx.TouchWorkspaces([]string{"ws"}, at)
	})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	db = open(t, dsn)
	x, evs, err := db.Execution(context.Background(), "ws", "x1")
	if err != nil {
		t.Fatal(err)
	}
	if !x.QueuedAt.Equal(at) || len(evs) != 1 || evs[0].EventID != "e1" {
		t.Errorf("after reopen: %+v, %d events", x, len(evs))
	}
	if err := db.Check(context.Background()); err != nil {
		t.Error(err)
	}
	// Check notices a rollup table that lost its guard on counts.
	if _, err := db.Pool().Exec(context.Background(), `ALTER TABLE execution_metrics_hour DROP CONSTRAINT execution_metrics_hour_counts`); err != nil {
		t.Fatal(err)
	}
	if err := db.Check(context.Background()); err == nil {
		t.Error("Check passed without the constraint on execution_metrics_hour")
	}
}

func TestPath(t *testing.T) {
	for _, c := range []struct{ dsn, want string }{
		{"postgres://u:secret@h:5432/db?sslmode=disable", "postgres://u:xxxxx@h:5432/db?sslmode=disable"},
		{"postgres://u@h/db", "postgres://u@h/db"},
		{"postgresql://h/db?password=secret&sslmode=disable", "postgresql://h/db?password=xxxxx&sslmode=disable"},
		{"host=h user=u password=secret dbname=db", "host=h user=u password=xxxxx dbname=db"},
		{"host=h password='se cret' dbname=db", "host=h password=xxxxx dbname=db"},
	} {
		if got := postgres.Redact(c.dsn); got != c.want {
			t.Errorf("Redact(%q) = %q, want %q", c.dsn, got, c.want)
		}
		if strings.Contains(postgres.Redact(c.dsn), "secret") {
			t.Errorf("Redact(%q) shows the password", c.dsn)
		}
	}
}
