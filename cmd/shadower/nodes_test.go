package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/shadower/shadower/internal/store/pgtest"
)

// serveDB starts the binary on PostgreSQL.
func serveDB(t *testing.T, bin, dsn string) *proc {
	t.Helper()
	t.Setenv("SHADOWER_DB", dsn)
	p := serve(t, bin, t.TempDir())
	os.Unsetenv("SHADOWER_DB")
	t.Cleanup(func() { p.cmd.Process.Signal(syscall.SIGTERM); p.cmd.Wait() })
	return p
}

// runningOn reads a node's realtime running count.
func runningOn(t *testing.T, addr string) int {
	t.Helper()
	req, _ := http.NewRequest("GET", "http://"+addr+"/api/v1/metrics/execution/realtime?workspace_id=w", nil)
	req.Header.Set("Authorization", "Bearer "+adminKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var rt struct{ Running int }
	json.NewDecoder(resp.Body).Decode(&rt)
	return rt.Running
}

// TestTwoNodes runs two processes on one PostgreSQL database, ingests
// through both (each batch sent to both at once), and checks that both
// answer the exact truth and that each node's realtime view sees what the
// other ingested.
func TestTwoNodes(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	dsn := pgtest.FreshDSN(t)
	bin := build(t)
	a := serveDB(t, bin, dsn)
	b := serveDB(t, bin, dsn)

	const batches, size = 12, 400
	var wg sync.WaitGroup
	errs := make(chan string, 2*batches)
	for i := 0; i < batches; i++ {
		body := batch(size, i*size)
		for _, node := range []*proc{a, b} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if code, msg := post(node.addr, body); code != 200 {
					errs <- fmt.Sprintf("%d %s", code, msg)
				}
			}()
		}
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Fatalf("ingest: %s", e)
	}
	for _, node := range []*proc{a, b} {
		if got := finished(t, node.addr); got != batches*size {
			t.Fatalf("node %s: %d finished, want %d (each event once)", node.addr, got, batches*size)
		}
	}

	// Executions started through a are running on b's realtime view.
	var started strings.Builder
	ts := time.Now().UTC().Add(-10 * time.Second).Format(time.RFC3339Nano)
	started.WriteString("[")
	for i := 0; i < 5; i++ {
		if i > 0 {
			started.WriteString(",")
		}
		fmt.Fprintf(&started, `{"event_id":"s%d","type":"started","execution_id":"run%d","workspace_id":"w","agent_id":"a","timestamp":"%s"}`, i, i, ts)
	}
	started.WriteString("]")
	if code, msg := post(a.addr, started.String()); code != 200 {
		t.Fatalf("ingest on a: %d %s", code, msg)
	}
	deadline := time.Now().Add(3 * time.Second)
	for runningOn(t, b.addr) != 5 {
		if time.Now().After(deadline) {
			t.Fatalf("node b shows %d running, want the 5 started on a", runningOn(t, b.addr))
		}
		time.Sleep(50 * time.Millisecond)
	}
	if got := runningOn(t, a.addr); got != 5 {
		t.Fatalf("node a shows %d running", got)
	}
}
