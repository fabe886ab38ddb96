package bench

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Process is a server under measurement: `shadower serve` in a child
// process, so its memory and CPU are its own and the load comes from
// another process.
type Process struct {
	cmd  *exec.Cmd
	Base string // http://host:port

	mu     sync.Mutex
	maxRSS int64
	stop   chan struct{}
	done   chan struct{}
}

// StartServer runs `bin serve` with args and the operator key, waits until
// it is ready, and samples its resident memory every 250 ms.
func StartServer(ctx context.Context, bin, addr, operator string, args ...string) (*Process, error) {
	cmd := exec.Command(bin, append([]string{"serve", "--addr", addr}, args...)...)
	cmd.Env = append(os.Environ(), "SHADOWER_ADMIN_KEY="+operator)
	cmd.Stdout, cmd.Stderr = nil, nil
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &Process{cmd: cmd, Base: "http://" + addr, stop: make(chan struct{}), done: make(chan struct{})}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		resp, err := http.Get(p.Base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			cmd.Process.Kill()
			cmd.Wait()
			return nil, fmt.Errorf("server on %s not ready: %v", addr, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	go p.sample()
	return p, nil
}

func (p *Process) sample() {
	defer close(p.done)
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	for {
		if rss, err := p.RSS(); err == nil {
			p.mu.Lock()
			p.maxRSS = max(p.maxRSS, rss)
			p.mu.Unlock()
		}
		select {
		case <-p.stop:
			return
		case <-t.C:
		}
	}
}

// MaxRSS is the highest resident memory seen since the last reset, in bytes.
func (p *Process) MaxRSS() int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.maxRSS
}

// ResetMaxRSS starts a new phase of the memory reading.
func (p *Process) ResetMaxRSS() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.maxRSS = 0
}

// RSS is the server's resident memory now, in bytes.
func (p *Process) RSS() (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if v, ok := strings.CutPrefix(s.Text(), "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb * 1024, err
		}
	}
	return 0, fmt.Errorf("no VmRSS for pid %d", p.cmd.Process.Pid)
}

// CPU is the CPU time (user and system) the server has used so far.
func (p *Process) CPU() (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	// Fields after the command name, which is in parentheses and may hold spaces.
	rest := string(b[strings.LastIndexByte(string(b), ')')+2:])
	f := strings.Fields(rest)
	if len(f) < 13 {
		return 0, fmt.Errorf("short /proc stat for pid %d", p.cmd.Process.Pid)
	}
	utime, _ := strconv.ParseInt(f[11], 10, 64) // field 14 of stat
	stime, _ := strconv.ParseInt(f[12], 10, 64) // field 15
	const ticks = 100                           // USER_HZ on Linux
	return time.Duration(utime+stime) * time.Second / ticks, nil
}

// Stop sends SIGTERM and waits for the server to drain and exit.
func (p *Process) Stop() error {
	close(p.stop)
	<-p.done
	p.cmd.Process.Signal(os.Interrupt)
	return p.cmd.Wait()
}
