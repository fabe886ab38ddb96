package sqlite_test

import (
	"context"
	"testing"
	"time"

	"github.com/shadower/shadower/internal/execution"
	"github.com/shadower/shadower/internal/ingest"
	"github.com/shadower/shadower/internal/store/sqlite"
	"github.com/shadower/shadower/internal/store/storetest"
)

func open(t *testing.T, dir string) *sqlite.DB {
	t.Helper()
	db, err := sqlite.Open(context.Background(), dir)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return db
}

// TestConformance runs the store conformance suite on a fresh database
// file per check.
func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Store {
		db := open(t, t.TempDir())
		t.Cleanup(func() {
			if err := db.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
		})
		return db
	})
}

// TestReopen checks that what a write commits is in the file: a store
// opened again on the same directory (migrations already applied) reads it.
func TestReopen(t *testing.T) {
	dir := t.TempDir()
	at := storetest.Base.Add(time.Hour)
	db := open(t, dir)
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
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = open(t, dir)
	defer db.Close()
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
}
