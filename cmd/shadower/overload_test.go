package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// rssMiB reads a process's resident memory.
func rssMiB(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024
		}
	}
	return 0
}

func wsBatch(ws string, n, offset int) string {
	return strings.ReplaceAll(batch(n, offset), `"workspace_id":"w"`, `"workspace_id":"`+ws+`"`)
}

// TestOverload floods the server far past what one writer commits, from
// many clients at once, and checks that it sheds load (429) rather than
// queueing without bound, keeps its memory bounded, serves a quiet
// workspace while another floods, and recovers as soon as the flood ends.
func TestOverload(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := build(t)
	t.Setenv("SHADOWER_WORKSPACE_RATE", "20000")
	t.Setenv("SHADOWER_WORKSPACE_BURST", "20000")
	p := serve(t, bin, t.TempDir())
	defer func() { p.cmd.Process.Signal(syscall.SIGTERM); p.cmd.Wait() }()

	var (
		stop               atomic.Bool
		ok, shed, other    atomic.Int64
		quietOK, quietShed atomic.Int64
		peak               float64
		wg                 sync.WaitGroup
		next               atomic.Int64
	)
	for c := 0; c < 12; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				ws := fmt.Sprintf("flood-%d", next.Add(1)%3)
				switch code, _ := post(p.addr, wsBatch(ws, 5000, int(next.Add(1))*10_000)); code {
				case 200:
					ok.Add(1)
				case 429, 503:
					shed.Add(1)
				default:
					other.Add(1)
				}
			}
		}()
	}
	wg.Add(1)
	go func() { // a quiet tenant: 200 events every 100 ms
		defer wg.Done()
		for i := 0; !stop.Load(); i++ {
			if code, _ := post(p.addr, wsBatch("quiet", 200, 1_000_000_000+i*200)); code == 200 {
				quietOK.Add(1)
			} else {
				quietShed.Add(1)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}()
	for end := time.Now().Add(8 * time.Second); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		peak = max(peak, rssMiB(p.cmd.Process.Pid))
	}
	stop.Store(true)
	wg.Wait()
	t.Logf("flood: %d accepted, %d shed, %d other; quiet tenant: %d accepted, %d shed; peak RSS %.0f MiB",
		ok.Load(), shed.Load(), other.Load(), quietOK.Load(), quietShed.Load(), peak)
	if shed.Load() == 0 || other.Load() != 0 {
		t.Fatalf("the flood was not shed with 429/503 (%d shed, %d other answers)", shed.Load(), other.Load())
	}
	if peak > 300 {
		t.Fatalf("resident memory reached %.0f MiB under overload", peak)
	}
	if quietShed.Load() > quietOK.Load()/10 {
		t.Fatalf("the quiet tenant was refused %d times out of %d", quietShed.Load(), quietShed.Load()+quietOK.Load())
	}
	// Recovery: a normal batch is taken again at once.
	deadline := time.Now().Add(time.Minute)
	for {
		code, _ := post(p.addr, wsBatch("after", 100, 2_000_000_000))
		if code == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("still %d a minute after the flood", code)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
