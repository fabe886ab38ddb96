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
