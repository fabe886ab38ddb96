package resources

import (
	"io/fs"
	"math"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/shirou/gopsutil/v4/cpu"
	"github.com/shirou/gopsutil/v4/mem"
	"github.com/shirou/gopsutil/v4/process"
)

// Host is the service's own host, as the resources section shows it. In a
// container with limits, the figures are the container's (its cgroup), not
// the machine's.
type Host struct {
	Hostname         string    `json:"hostname"`
	CPUPercent       *float64  `json:"cpu_percent"`
	CPULimitCores    float64   `json:"cpu_limit_cores"`
	MemoryBytes      *int64    `json:"memory_bytes"`
	MemoryLimitBytes *int64    `json:"memory_limit_bytes"`
	ProcessRSSBytes  *int64    `json:"process_rss_bytes"`
	Cgroup           bool      `json:"cgroup"`
	SampledAt        time.Time `json:"sampled_at"`
}

// HostSampler reads the host's load. CPU use is measured between two
// samples, so the first one has none.
type HostSampler struct {
	cg   fs.FS // the cgroup file system, /sys/fs/cgroup
	proc *process.Process
	now  func() time.Time

	mu       sync.Mutex
	lastCPU  float64 // cgroup CPU time used, seconds
	lastAt   time.Time
	latest   Host
	hostname string
}

// NewHostSampler samples the host this process runs on.
func NewHostSampler() *HostSampler {
	p, _ := process.NewProcess(int32(os.Getpid()))
	name, _ := os.Hostname()
	return newHostSampler(os.DirFS("/sys/fs/cgroup"), p, name, time.Now)
}

func newHostSampler(cg fs.FS, p *process.Process, hostname string, now func() time.Time) *HostSampler {
	return &HostSampler{cg: cg, proc: p, now: now, hostname: hostname}
}

// Latest is the last sample taken.
func (s *HostSampler) Latest() Host {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.latest
}

// Sample takes a sample and keeps it as the latest.
func (s *HostSampler) Sample() Host {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	h := Host{Hostname: s.hostname, SampledAt: now.UTC(), CPULimitCores: float64(runtime.NumCPU())}
	lim := readLimits(s.cg)
	if lim.cores > 0 {
		h.CPULimitCores, h.Cgroup = lim.cores, true
	}
	if lim.memLimit > 0 {
		h.MemoryLimitBytes, h.Cgroup = &lim.memLimit, true
	}
	// Use: the cgroup's when it has limits (what counts against them), else
	// the machine's.
	if h.Cgroup && lim.cpuUsed >= 0 {
		if !s.lastAt.IsZero() && now.After(s.lastAt) {
			pct := (lim.cpuUsed - s.lastCPU) / now.Sub(s.lastAt).Seconds() / h.CPULimitCores * 100
			pct = math.Round(math.Min(math.Max(pct, 0), 100)*10) / 10
			h.CPUPercent = &pct
		}
		s.lastCPU, s.lastAt = lim.cpuUsed, now
	} else {
		// gopsutil measures since its previous call; the first is since boot.
		if pcts, err := cpu.Percent(0, false); err == nil && len(pcts) == 1 && !s.lastAt.IsZero() {
			pct := math.Round(pcts[0]*10) / 10
			h.CPUPercent = &pct
		}
		s.lastAt = now
	}
	if h.Cgroup && lim.memUsed >= 0 {
		h.MemoryBytes = &lim.memUsed
	} else if vm, err := mem.VirtualMemory(); err == nil {
		used, total := int64(vm.Used), int64(vm.Total)
		h.MemoryBytes = &used
		if h.MemoryLimitBytes == nil {
			h.MemoryLimitBytes = &total
		}
	}
	if s.proc != nil {
		if mi, err := s.proc.MemoryInfo(); err == nil {
			rss := int64(mi.RSS)
			h.ProcessRSSBytes = &rss
		}
	}
	s.latest = h
	return h
}

// limits is what a cgroup says; a figure it does not give is 0 (limits) or
// -1 (use).
type limits struct {
	cores    float64 // CPU quota in cores
	memLimit int64
	cpuUsed  float64 // seconds of CPU used so far
	memUsed  int64
}

// readLimits reads cgroup v2, else v1. Unlimited is no limit.
func readLimits(cg fs.FS) limits {
	l := limits{cpuUsed: -1, memUsed: -1}
	if f, ok := readFields(cg, "cpu.max"); ok { // v2: "quota period" or "max period"
		if len(f) == 2 && f[0] != "max" {
			q, _ := strconv.ParseFloat(f[0], 64)
			p, _ := strconv.ParseFloat(f[1], 64)
			if q > 0 && p > 0 {
				l.cores = q / p
			}
		}
		if m, ok := readInt(cg, "memory.max"); ok {
			l.memLimit = m
		}
		if u, ok := readInt(cg, "memory.current"); ok {
			l.memUsed = u - statValue(cg, "memory.stat", "inactive_file")
		}
		l.cpuUsed = float64(statValue(cg, "cpu.stat", "usage_usec")) / 1e6
		return l
	}
	q, okQ := readInt(cg, "cpu/cpu.cfs_quota_us")
	p, okP := readInt(cg, "cpu/cpu.cfs_period_us")
	if okQ && okP && q > 0 && p > 0 {
		l.cores = float64(q) / float64(p)
	}
	// v1 writes "no limit" as a huge number rounded down to a page.
	if m, ok := readInt(cg, "memory/memory.limit_in_bytes"); ok && m < 1<<60 {
		l.memLimit = m
	}
	if u, ok := readInt(cg, "memory/memory.usage_in_bytes"); ok {
		l.memUsed = u - statValue(cg, "memory/memory.stat", "total_inactive_file")
	}
	if n, ok := readInt(cg, "cpuacct/cpuacct.usage"); ok {
		l.cpuUsed = float64(n) / 1e9
	}
	return l
}

func readFields(cg fs.FS, name string) ([]string, bool) {
	b, err := fs.ReadFile(cg, name)
	if err != nil {
		return nil, false
	}
	return strings.Fields(string(b)), true
}

// readInt reads a file holding one integer; "max" (v2's no limit) is not one.
func readInt(cg fs.FS, name string) (int64, bool) {
	f, ok := readFields(cg, name)
	if !ok || len(f) != 1 {
		return 0, false
	}
	n, err := strconv.ParseInt(f[0], 10, 64)
	return n, err == nil
}

// statValue reads one "key value" line of a stat file; 0 when absent.
func statValue(cg fs.FS, name, key string) int64 {
	b, err := fs.ReadFile(cg, name)
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, " "); ok && k == key {
			n, _ := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			return n
		}
	}
	return 0
}
