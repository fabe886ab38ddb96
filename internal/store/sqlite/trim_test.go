package sqlite

import (
	"context"
	"testing"
	"time"

	"github.com/shadower/shadower/internal/ingest"
)

// TestWriterCacheFreedOnlyWhenQuiet: the writer's page cache is freed after
// a quiet period, and never while a transaction is open.
func TestWriterCacheFreedOnlyWhenQuiet(t *testing.T) {
	db, err := Open(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	stop := make(chan struct{})
	defer close(stop)
	go db.trimWhenQuiet(20*time.Millisecond, stop)

	for deadline := time.Now().Add(10 * time.Second); db.trims.Load() == 0; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("an idle writer's cache was not freed")
		}
	}
	// A transaction longer than several periods: no period that it spans,
	// nor the one after, is quiet.
	before := db.trims.Load()
	err = db.Write(context.Background(), func(ingest.Tx) error {
		time.Sleep(200 * time.Millisecond)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(5 * time.Millisecond)
	if n := db.trims.Load() - before; n != 0 {
		t.Errorf("the cache was freed %d times during or right after a busy transaction", n)
	}
}

// TestCheckpointsBesideTheWriter: a commit's pages are copied from the WAL
// into the database by the checkpointer, not by the writer, which only
// checkpoints past walBackstop.
func TestCheckpointsBesideTheWriter(t *testing.T) {
	dir := t.TempDir()
	db, err := Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	db.Close() // the last connection to close checkpoints the migrations
	if db, err = Open(context.Background(), dir); err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var pages int
	if err := db.w.QueryRow("PRAGMA wal_autocheckpoint").Scan(&pages); err != nil || pages != walBackstop {
		t.Fatalf("the writer checkpoints at %d pages (%v), want %d", pages, err, walBackstop)
	}
	time.Sleep(3 * checkpointEvery)
	if n := db.copies.Load(); n != 0 {
		t.Fatalf("%d checkpoints copied pages before any write", n)
	}
	err = db.Write(context.Background(), func(tx ingest.Tx) error {
		return tx.TouchWorkspaces([]string{"alpha"}, time.Now())
	})
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); db.copies.Load() == 0; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the commit's pages were not checkpointed")
		}
	}
}
