package postgres_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/shadower/shadower/internal/execution"
	"github.com/shadower/shadower/internal/ingest"
	"github.com/shadower/shadower/internal/peer"
	"github.com/shadower/shadower/internal/store/postgres"
)

type notifier interface {
	Notify(payloads []string) error
}

// TestNotify checks that payloads given to a transaction reach a listener
// when it commits, in order, and never when it rolls back; that the
// ingest service's Announce messages go the same way; and that the
// listener stops with its context.
func TestNotify(t *testing.T) {
	dsn := freshDSN(t)
	db := open(t, dsn)
	ctx, cancel := context.WithCancel(context.Background())
	got := make(chan string, 100)
	done := make(chan error, 1)
	go func() {
		done <- postgres.ListenUpdates(ctx, dsn, func(p string) { got <- p })
	}()
	// LISTEN takes effect once its connection is up: send a probe until
	// it arrives.
	deadline := time.Now().Add(10 * time.Second)
probe:
	for {
		if err := db.Write(context.Background(), func(tx ingest.Tx) error { return tx.(notifier).Notify([]string{"probe"}) }); err != nil {
			t.Fatal(err)
		}
		select {
		case <-got:
			break probe
		case <-time.After(100 * time.Millisecond):
			if time.Now().After(deadline) {
				t.Fatal("the listener never received anything")
			}
		}
	}
	for len(got) > 0 {
		<-got
	}

	boom := errors.New("boom")
	if err := db.Write(context.Background(), func(tx ingest.Tx) error {
		if err := tx.(notifier).Notify([]string{"rolled back"}); err != nil {
			return err
		}
		return boom
	}); !errors.Is(err, boom) {
		t.Fatal(err)
	}
	if err := db.Write(context.Background(), func(tx ingest.Tx) error {
		if err := tx.(notifier).Notify([]string{"one", "two"}); err != nil {
			return err
		}
		return tx.(notifier).Notify([]string{"three"})
	}); err != nil {
		t.Fatal(err)
	}
	// Too long for NOTIFY: refused by Notify, nothing sent.
	err := db.Write(context.Background(), func(tx ingest.Tx) error {
		return tx.(notifier).Notify([]string{strings.Repeat("x", 8000)})
	})
	if err == nil {
		t.Error("Notify took an 8000-byte payload")
	}

	// The ingest service publishes its Announce messages through the Tx.
	svc := ingest.New(db, ingest.Options{CacheRows: -1, Announce: func(u []execution.Update) []string { return peer.Encode("node-a", u) }})
	at := time.Now().UTC()
	if _, err := svc.Ingest(context.Background(), []*execution.Event{
		{EventID: "e1", Type: execution.Started, ExecutionID: "x1", WorkspaceID: "ws", AgentID: "a", Timestamp: at},
	}); err != nil {
		t.Fatal(err)
	}
	svc.Close()

	var recv []string
	timeout := time.After(10 * time.Second)
	for len(recv) < 4 {
		select {
		case p := <-got:
			if p != "probe" { // a late answer to the probe
				recv = append(recv, p)
			}
		case <-timeout:
			t.Fatalf("received %q, want 4 payloads", recv)
		}
	}
	if want := []string{"one", "two", "three", "v1 node-a\nws\tx1\tS\n"}; strings.Join(recv, "|") != strings.Join(want, "|") {
		t.Errorf("received %q, want %q (never the rolled-back one)", recv, want)
	}
	select {
	case p := <-got:
		if p != "probe" {
			t.Errorf("unexpected payload %q", p)
		}
	case <-time.After(200 * time.Millisecond):
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("ListenUpdates returned %v after its context ended, want nil", err)
		}
	case <-time.After(10 * time.Second):
		t.Error("ListenUpdates did not return after its context ended")
	}
}

// TestListenReconnects checks that the listener comes back after its
// connection is killed.
func TestListenReconnects(t *testing.T) {
	dsn := freshDSN(t)
	db := open(t, dsn)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	got := make(chan string, 100)
	go postgres.ListenUpdates(ctx, dsn, func(p string) { got <- p })
	waitFor := func(what string) {
		t.Helper()
		deadline := time.Now().Add(15 * time.Second)
		for {
			if err := db.Write(context.Background(), func(tx ingest.Tx) error { return tx.(notifier).Notify([]string{what}) }); err != nil {
				t.Fatal(err)
			}
			select {
			case p := <-got:
				if p == what {
					return
				}
			case <-time.After(100 * time.Millisecond):
				if time.Now().After(deadline) {
					t.Fatalf("%s never arrived", what)
				}
			}
		}
	}
	waitFor("before")
	tag, err := db.Pool().Exec(context.Background(), `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
		WHERE datname = current_database() AND application_name = 'shadower-listen'`)
	if err != nil || tag.RowsAffected() != 1 {
		t.Fatalf("terminate the listener: %v, %d", err, tag.RowsAffected())
	}
	waitFor("after")
}
