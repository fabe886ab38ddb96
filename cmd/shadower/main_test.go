package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

const adminKey = "process-test-operator"

// build compiles the binary once per test run.
func build(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "shadower")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	return bin
}

type proc struct {
	cmd  *exec.Cmd
	addr string
	logs *bytes.Buffer
}

// serve starts the binary on a free port, with env added to its
// environment, and waits until it serves.
func serve(t *testing.T, bin, data string, env ...string) *proc {
	t.Helper()
	cmd := exec.Command(bin, "serve", "--addr", "127.0.0.1:0")
	cmd.Env = append(os.Environ(), "SHADOWER_DATA="+data, "SHADOWER_ADMIN_KEY="+adminKey)
	cmd.Env = append(cmd.Env, env...)
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &proc{cmd: cmd, logs: &bytes.Buffer{}}
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			p.logs.WriteString(line + "\n")
			var l struct{ Msg, Addr string }
			if json.Unmarshal([]byte(line), &l) == nil && l.Msg == "serving" {
				found <- l.Addr
			}
		}
	}()
	select {
	case p.addr = <-found:
	case <-time.After(15 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("server did not start:\n%s", p.logs)
	}
	return p
}

func post(addr string, body string) (int, string) {
	req, _ := http.NewRequest("POST", "http://"+addr+"/api/v1/events", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+adminKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func batch(n, offset int) string {
	var b strings.Builder
	b.WriteString("[")
	ts := time.Now().UTC().Add(-time.Minute).Format(time.RFC3339Nano)
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `{"event_id":"e%d","type":"completed","execution_id":"x%d","workspace_id":"w","agent_id":"a","timestamp":"%s"}`, offset+i, offset+i, ts)
	}
	b.WriteString("]")
	return b.String()
}

func finished(t *testing.T, addr string) int64 {
	t.Helper()
	req, _ := http.NewRequest("GET", "http://"+addr+"/api/v1/metrics/execution/throughput?workspace_id=w&timeframe=1h", nil)
	req.Header.Set("Authorization", "Bearer "+adminKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var th struct{ Total int64 }
	json.NewDecoder(resp.Body).Decode(&th)
	return th.Total
}

// TestProcessLifecycle runs the real binary: SIGTERM drains and exits 0;
// kill -9 right after acknowledgements loses nothing.
func TestProcessLifecycle(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := build(t)
	data := t.TempDir()

	p := serve(t, bin, data)
	if code, body := post(p.addr, batch(100, 0)); code != 200 || !strings.Contains(body, `"accepted":100`) {
		t.Fatalf("ingest: %d %s", code, body)
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	if err := p.cmd.Wait(); err != nil {
		t.Fatalf("after SIGTERM: %v\n%s", err, p.logs)
	}

	// kill -9 while batches are acknowledged: everything acknowledged
	// must be there after a restart.
	p = serve(t, bin, data)
	acked := int64(100)
	for i := 1; i <= 20; i++ {
		if code, _ := post(p.addr, batch(500, i*1000)); code == 200 {
			acked += 500
		}
	}
	p.cmd.Process.Kill()
	p.cmd.Wait()

	p = serve(t, bin, data)
	defer func() { p.cmd.Process.Signal(syscall.SIGTERM); p.cmd.Wait() }()
	if got := finished(t, p.addr); got != acked {
		t.Fatalf("after kill -9: %d finished executions, want the %d acknowledged", got, acked)
	}
	// Resending everything is idempotent.
	for i := 1; i <= 20; i++ {
		post(p.addr, batch(500, i*1000))
	}
	if got := finished(t, p.addr); got != acked {
		t.Fatalf("after resending: %d, want %d", got, acked)
	}
}

// TestProfilesOnTheirOwnAddress: --pprof serves Go's profiles on its own
// listener, and the API's address does not.
func TestProfilesOnTheirOwnAddress(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	profiles := ln.Addr().String()
	ln.Close()
	p := serve(t, build(t), t.TempDir(), "SHADOWER_PPROF="+profiles)
	defer func() { p.cmd.Process.Signal(syscall.SIGTERM); p.cmd.Wait() }()
	get := func(url string) (int, string) {
		req, _ := http.NewRequest("GET", url, nil)
		req.Header.Set("Authorization", "Bearer "+adminKey)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get("http://" + profiles + "/debug/pprof/goroutine?debug=1"); code != 200 || !strings.Contains(body, "goroutine profile:") {
		t.Fatalf("profiles: %d %.200s", code, body)
	}
	if code, body := get("http://" + p.addr + "/debug/pprof/goroutine?debug=1"); strings.Contains(body, "goroutine profile:") {
		t.Fatalf("the API's address serves profiles: %d", code)
	}
}

// TestSigtermDuringIngest stops the server while clients are sending:
// it must exit 0 within 25 s, and everything it acknowledged must be there.
func TestSigtermDuringIngest(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := build(t)
	data := t.TempDir()
	p := serve(t, bin, data)
	var mu sync.Mutex
	acked := int64(0)
	var wg sync.WaitGroup
	for c := 0; c < 4; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				code, _ := post(p.addr, batch(500, (c*1000+i)*500))
				if code == 200 {
					mu.Lock()
					acked += 500
					mu.Unlock()
				} else if code == 0 {
					return // the server has gone
				}
			}
		}()
	}
	time.Sleep(700 * time.Millisecond)
	began := time.Now()
	p.cmd.Process.Signal(syscall.SIGTERM)
	err := p.cmd.Wait()
	took := time.Since(began)
	wg.Wait()
	if err != nil {
		t.Fatalf("exit after SIGTERM: %v\n%s", err, p.logs)
	}
	if took > 25*time.Second {
		t.Fatalf("took %v to stop", took)
	}
	p = serve(t, bin, data)
	defer func() { p.cmd.Process.Signal(syscall.SIGTERM); p.cmd.Wait() }()
	if got := finished(t, p.addr); got < acked {
		t.Fatalf("%d finished after the restart, but %d were acknowledged", got, acked)
	}
	t.Logf("acknowledged %d events before SIGTERM; stopped in %v", acked, took)
}
