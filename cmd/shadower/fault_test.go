package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/shadower/shadower/internal/execution"
	"github.com/shadower/shadower/internal/store/sqlite"
)

// TestDiskFull runs the embedded store on a small tmpfs, fills it, and
// checks that a batch is answered 200 only when it is stored whole, that a
// full disk is answered 503 with Retry-After and stores nothing of the
// batch, and that once space is freed the same process takes batches again.
// Mounting needs root: without it the test is skipped.
func TestDiskFull(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	if runtime.GOOS != "linux" {
		t.Skip("mounts a tmpfs")
	}
	mnt := filepath.Join(t.TempDir(), "disk")
	if err := os.Mkdir(mnt, 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", mnt).CombinedOutput(); err != nil {
		t.Skipf("cannot mount an 8 MiB tmpfs to fill (root is needed): %v: %s", err, out)
	}
	// Registered before the server's: runs after it has stopped.
	t.Cleanup(func() {
		if out, err := exec.Command("umount", mnt).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", mnt, err, out)
		}
	})
	bin := build(t)
	data := filepath.Join(mnt, "data")
	s, _ := startServer(t, bin, []string{"SHADOWER_DATA=" + data, "SHADOWER_DB=", "SHADOWER_ADMIN_KEY=" + adminKey, "SHADOWER_WORKSPACE_RATE=0"})
	hc := &http.Client{Timeout: 30 * time.Second}
	c := apiClient{t: t, hc: hc, addr: s.addr}

	// Fill the disk, then give back a little: a few batches fit.
	const headroom = 1 << 20
	ballast := filepath.Join(mnt, "ballast")
	fillDisk(t, ballast)
	st, err := os.Stat(ballast)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(ballast, st.Size()-headroom); err != nil {
		t.Fatal(err)
	}
	t.Logf("ballast %d KiB, %d KiB free on the 8 MiB tmpfs", (st.Size()-headroom)>>10, freeBytes(t, mnt)>>10)

	// Each batch has a workspace of its own: its throughput total says
	// whether it is stored (168), absent (0) or in part (anything else).
	base := time.Now().UTC().Truncate(time.Second).Add(-50 * time.Minute)
	var batches []*crashBatch
	stored := map[*crashBatch]bool{}
	newBatch := func() *crashBatch {
		i := len(batches)
		b := makeCrashBatch(diskWorkspace(i), fmt.Sprintf("d%03d", i), base)
		batches = append(batches, b)
		return b
	}
	var (
		before   = -1 // batches answered 200 before the first 503
		refused  []*crashBatch
		retryHdr string
	)
	for len(refused) < 5 {
		if len(batches) == 200 {
			t.Fatalf("200 batches and no 503: is the disk filling? %d KiB free", freeBytes(t, mnt)>>10)
		}
		b := newBatch()
		code, body, hdr, err := postEvents(hc, s.addr, b.body)
		if err != nil {
			t.Fatal(err)
		}
		switch code {
		case http.StatusOK:
			var r ingestResult
			json.Unmarshal(body, &r)
			if r.Accepted != crashBatchSize {
				t.Fatalf("batch %s: %s", b.name, body)
			}
			stored[b] = true
		case http.StatusServiceUnavailable:
			var e struct{ Error struct{ Code string } }
			json.Unmarshal(body, &e)
			if e.Error.Code != execution.EUnavailable {
				t.Fatalf("batch %s: 503 with code %q: %s", b.name, e.Error.Code, body)
			}
			ra := hdr.Get("Retry-After")
			if n, err := strconv.Atoi(ra); err != nil || n < 1 {
				t.Fatalf("batch %s: 503 with Retry-After %q, want a whole number of seconds", b.name, ra)
			}
			if before < 0 {
				before, retryHdr = len(stored), ra
			}
			refused = append(refused, b)
		default:
			t.Fatalf("batch %s on a full disk: %d %s", b.name, code, body)
		}
	}
	fullReady := readyzStatus(hc, s.addr)
	if cause := firstLogged(s.logs.String(), "commit failed"); cause != "" {
		t.Logf("the server logged: %s", cause)
	}
	t.Logf("disk full: %d batches (%d events) stored before the first 503 (Retry-After: %s), %d answered 200 and %d answered 503 in all; /readyz answers %d while full",
		before, before*crashBatchSize, retryHdr, len(stored), len(refused), fullReady)

	// Free the space: the same process takes batches again.
	if err := os.Remove(ballast); err != nil {
		t.Fatal(err)
	}
	freed := time.Now()
	var recovery time.Duration
	for probe := newBatch(); ; {
		code, body, _, err := postEvents(hc, s.addr, probe.body)
		if err != nil {
			t.Fatal(err)
		}
		if code == http.StatusOK {
			recovery = time.Since(freed)
			stored[probe] = true
			break
		}
		if code != http.StatusServiceUnavailable && code != http.StatusTooManyRequests {
			t.Fatalf("after freeing space: %d %s", code, body)
		}
		if time.Since(freed) > 10*time.Second {
			t.Fatalf("still refusing batches 10s after space was freed: %d %s", code, body)
		}
		time.Sleep(50 * time.Millisecond)
	}

	// Every batch answered 200 is stored whole, every batch answered 503
	// not at all.
	winFrom, winTo := base.Add(-time.Hour), time.Now().Add(2*time.Minute)
	for _, b := range batches {
		ws := b.ws
		th := c.throughput(ws, winFrom, winTo)
		want := int64(0)
		if stored[b] {
			want = crashPerBatch
			c.checkExecution(ws, b.execs[0])
			c.checkExecution(ws, b.execs[len(b.execs)-1])
		} else if c.hasExecution(ws, b.execs[0]) {
			t.Fatalf("batch %s was answered 503 and its first execution is stored", b.name)
		}
		if th.Total != want {
			t.Fatalf("batch %s (answered %s): %d finished executions stored, want %d",
				b.name, map[bool]string{true: "200", false: "503"}[stored[b]], th.Total, want)
		}
	}

	// The refused batches go in whole when sent again.
	for _, b := range refused {
		if r := c.postUntilStored(b); r.Accepted != crashBatchSize {
			t.Fatalf("resent batch %s: accepted %d duplicates %d, want all %d new", b.name, r.Accepted, r.Duplicates, crashBatchSize)
		}
		if th := c.throughput(b.ws, winFrom, winTo); th.Total != crashPerBatch {
			t.Fatalf("resent batch %s: %d finished executions, want %d", b.name, th.Total, crashPerBatch)
		}
	}
	t.Logf("space freed: batches accepted again after %v without a restart; the %d refused batches stored whole when resent",
		recovery.Round(time.Millisecond), len(refused))

	// A clean stop, a sound file, and rollups equal to their recomputation.
	s.terminate(t)
	checkSQLiteIntegrity(t, filepath.Join(data, sqlite.FileName))
	db, err := sqlite.Open(context.Background(), data)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	from := base.Add(-time.Hour).Truncate(24 * time.Hour)
	to := time.Now().UTC().Truncate(24 * time.Hour).Add(24 * time.Hour)
	for _, b := range batches {
		checkRollupsAgainstRaw(t, db, b.ws, from, to, crashPerBatch)
	}
}

func diskWorkspace(i int) string { return fmt.Sprintf("disk-b%03d", i) }

// fillDisk writes path until the filesystem is full.
func fillDisk(t *testing.T, path string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	chunk := make([]byte, 64<<10)
	for {
		if _, err := f.Write(chunk); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatal(err)
			}
			return
		}
	}
}

func freeBytes(t *testing.T, dir string) int64 {
	t.Helper()
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		t.Fatal(err)
	}
	return int64(st.Bavail) * st.Bsize
}

// firstLogged returns the error of the first log line with message msg.
func firstLogged(logs, msg string) string {
	for _, line := range strings.Split(logs, "\n") {
		var l struct{ Msg, Err string }
		if json.Unmarshal([]byte(line), &l) == nil && l.Msg == msg {
			return msg + ": " + l.Err
		}
	}
	return ""
}

func readyzStatus(hc *http.Client, addr string) int {
	resp, err := hc.Get("http://" + addr + "/readyz")
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}
