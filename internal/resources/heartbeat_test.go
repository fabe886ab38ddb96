package resources

import (
	"errors"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/shadower/shadower/internal/execution"
)

var now = time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)

func TestDecodeDefaults(t *testing.T) {
	hbs, err := Decode(strings.NewReader(`{"workspace_id":"acme","worker_id":"w-1","capacity_slots":4,"busy_slots":1}`), now)
	if err != nil {
		t.Fatal(err)
	}
	h := hbs[0]
	if !h.At().Equal(now) || h.Every() != DefaultEvery || h.CPUPercent != nil || h.MemoryBytes != nil {
		t.Fatalf("defaults: at %v every %v cpu %v memory %v", h.At(), h.Every(), h.CPUPercent, h.MemoryBytes)
	}
	s := h.Samples()
	if len(s) != 2 || s[0].Value != 4 || s[1].Value != 1 || s[0].Key != "w-1" || s[0].WorkspaceID != "acme" {
		t.Fatalf("samples = %+v, want capacity 4 and busy 1 of acme/w-1", s)
	}
}

func TestDecodeArray(t *testing.T) {
	body := `[{"workspace_id":"acme","worker_id":"w-1","capacity_slots":4,"busy_slots":4,"cpu_percent":97.5,
		"memory_bytes":1000,"memory_limit_bytes":2000,"labels":{"zone":"eu-1"},"interval_seconds":5,
		"timestamp":"2026-03-02T11:59:00+01:00"},
		{"workspace_id":"acme","worker_id":"w-2","capacity_slots":0,"busy_slots":0}]`
	hbs, err := Decode(strings.NewReader(body), now)
	if err != nil {
		t.Fatal(err)
	}
	if len(hbs) != 2 {
		t.Fatalf("got %d heartbeats, want 2", len(hbs))
	}
	h := hbs[0]
	if want := time.Date(2026, 3, 2, 10, 59, 0, 0, time.UTC); !h.At().Equal(want) || h.At().Location() != time.UTC {
		t.Errorf("timestamp = %v, want %v in UTC", h.At(), want)
	}
	if h.Every() != 5*time.Second || *h.CPUPercent != 97.5 || h.Labels["zone"] != "eu-1" || len(h.Samples()) != 4 {
		t.Errorf("decoded %+v", h)
	}
}

func TestDecodeRefuses(t *testing.T) {
	ok := `"workspace_id":"acme","worker_id":"w-1","capacity_slots":4,"busy_slots":1`
	long := strings.Repeat("x", 65)
	cases := []struct {
		name, body, field string
	}{
		{"no workspace", `{"worker_id":"w","capacity_slots":1,"busy_slots":0}`, "workspace_id"},
		{"bad worker id", `{"workspace_id":"a","worker_id":"w w","capacity_slots":1,"busy_slots":0}`, "worker_id"},
		{"no capacity", `{"workspace_id":"a","worker_id":"w","busy_slots":0}`, "capacity_slots"},
		{"capacity too big", `{"workspace_id":"a","worker_id":"w","capacity_slots":100001,"busy_slots":0}`, "capacity_slots"},
		{"no busy", `{"workspace_id":"a","worker_id":"w","capacity_slots":1}`, "busy_slots"},
		{"busy over capacity", `{"workspace_id":"a","worker_id":"w","capacity_slots":1,"busy_slots":2}`, "busy_slots"},
		{"negative busy", `{"workspace_id":"a","worker_id":"w","capacity_slots":1,"busy_slots":-1}`, "busy_slots"},
		{"cpu over 100", `{` + ok + `,"cpu_percent":100.5}`, "cpu_percent"},
		{"negative memory", `{` + ok + `,"memory_bytes":-1}`, "memory_bytes"},
		{"limit below use", `{` + ok + `,"memory_bytes":10,"memory_limit_bytes":5}`, "memory_limit_bytes"},
		{"label key too long", `{` + ok + `,"labels":{"` + long + `":"v"}}`, "labels"},
		{"interval zero", `{` + ok + `,"interval_seconds":0}`, "interval_seconds"},
		{"interval too long", `{` + ok + `,"interval_seconds":3601}`, "interval_seconds"},
		{"from the future", `{` + ok + `,"timestamp":"2026-03-02T12:06:00Z"}`, "timestamp"},
		{"too old", `{` + ok + `,"timestamp":"2026-02-01T12:00:00Z"}`, "timestamp"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Decode(strings.NewReader(c.body), now)
			var e *execution.Error
			if !errors.As(err, &e) || e.Code != execution.EInvalid || len(e.Details) == 0 || e.Details[0].Field != c.field {
				t.Fatalf("error = %v, want invalid_request naming %s", err, c.field)
			}
		})
	}
}

func TestDecodeNamesEveryBadHeartbeat(t *testing.T) {
	body := `[{"workspace_id":"a","worker_id":"w","capacity_slots":1,"busy_slots":0},
		{"workspace_id":"a","worker_id":"w","capacity_slots":1,"busy_slots":5},
		{"workspace_id":"a","worker_id":"w","capacity_slots":1,"busy_slots":0,"cpu_percent":-1}]`
	_, err := Decode(strings.NewReader(body), now)
	var e *execution.Error
	if !errors.As(err, &e) || len(e.Details) != 2 || e.Details[0].Index != 1 || e.Details[1].Index != 2 {
		t.Fatalf("error = %#v, want details for heartbeats 1 and 2", err)
	}
}

func TestDecodeMalformed(t *testing.T) {
	for name, body := range map[string]string{
		"empty":         "  ",
		"not json":      "{",
		"unknown field": `{"workspace_id":"a","worker_id":"w","capacity_slots":1,"busy_slots":0,"gpu":3}`,
		"empty array":   "[]",
		"trailing data": `{"workspace_id":"a","worker_id":"w","capacity_slots":1,"busy_slots":0} {}`,
		"null item":     `[null]`,
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Decode(strings.NewReader(body), now)
			var e *execution.Error
			if !errors.As(err, &e) || e.Code != execution.EInvalid || e.Where != "body" {
				t.Fatalf("error = %v, want invalid_request on the body", err)
			}
		})
	}
}

func TestDecodeBatchLimit(t *testing.T) {
	one := `{"workspace_id":"a","worker_id":"w","capacity_slots":1,"busy_slots":0}`
	body := "[" + strings.Repeat(one+",", MaxBatch) + one + "]"
	_, err := Decode(strings.NewReader(body), now)
	var e *execution.Error
	if !errors.As(err, &e) || e.Code != execution.ETooLarge {
		t.Fatalf("error = %v, want payload_too_large", err)
	}
}

func TestWorkerLost(t *testing.T) {
	w := Worker{IntervalSeconds: 10, LastSeen: now}
	if w.Lost(now.Add(30 * time.Second)) {
		t.Error("lost after exactly three intervals; want only after more")
	}
	if !w.Lost(now.Add(31 * time.Second)) {
		t.Error("not lost after three intervals and a second")
	}
}

func TestHostCgroupV2(t *testing.T) {
	cg := fstest.MapFS{
		"cpu.max":        {Data: []byte("150000 100000\n")},
		"memory.max":     {Data: []byte("1073741824\n")},
		"memory.current": {Data: []byte("600000000\n")},
		"memory.stat":    {Data: []byte("anon 1\ninactive_file 100000000\n")},
		"cpu.stat":       {Data: []byte("usage_usec 10000000\nuser_usec 1\n")},
	}
	clock := now
	s := newHostSampler(cg, nil, "node-1", func() time.Time { return clock })
	h := s.Sample()
	if !h.Cgroup || h.CPULimitCores != 1.5 || *h.MemoryLimitBytes != 1<<30 || *h.MemoryBytes != 500000000 || h.CPUPercent != nil {
		t.Fatalf("first sample = %+v, want cgroup limits 1.5 cores, 1 GiB, 500 MB used, no CPU yet", h)
	}
	// 3 s of CPU over 2 s of wall time on 1.5 cores: 100%; 1.5 s: 50%.
	cg["cpu.stat"] = &fstest.MapFile{Data: []byte("usage_usec 11500000\n")}
	clock = clock.Add(2 * time.Second)
	if h = s.Sample(); h.CPUPercent == nil || *h.CPUPercent != 50 {
		t.Fatalf("cpu = %v, want 50", h.CPUPercent)
	}
	if s.Latest().SampledAt != clock {
		t.Errorf("latest sampled at %v, want %v", s.Latest().SampledAt, clock)
	}
}

func TestHostCgroupV1(t *testing.T) {
	cg := fstest.MapFS{
		"cpu/cpu.cfs_quota_us":         {Data: []byte("200000\n")},
		"cpu/cpu.cfs_period_us":        {Data: []byte("100000\n")},
		"memory/memory.limit_in_bytes": {Data: []byte("2147483648\n")},
		"memory/memory.usage_in_bytes": {Data: []byte("700000000\n")},
		"memory/memory.stat":           {Data: []byte("total_inactive_file 200000000\n")},
		"cpuacct/cpuacct.usage":        {Data: []byte("1000000000\n")},
	}
	clock := now
	s := newHostSampler(cg, nil, "node-1", func() time.Time { return clock })
	s.Sample()
	cg["cpuacct/cpuacct.usage"] = &fstest.MapFile{Data: []byte("2000000000\n")}
	clock = clock.Add(time.Second)
	h := s.Sample()
	if !h.Cgroup || h.CPULimitCores != 2 || *h.MemoryLimitBytes != 2<<30 || *h.MemoryBytes != 500000000 || *h.CPUPercent != 50 {
		t.Fatalf("sample = %+v (cpu %v), want 2 cores, 2 GiB, 500 MB, 50%%", h, h.CPUPercent)
	}
}

func TestHostWithoutLimits(t *testing.T) {
	// v1 files that say "no limit": the machine's figures are used.
	cg := fstest.MapFS{
		"cpu/cpu.cfs_quota_us":         {Data: []byte("-1\n")},
		"cpu/cpu.cfs_period_us":        {Data: []byte("100000\n")},
		"memory/memory.limit_in_bytes": {Data: []byte("9223372036854771712\n")},
	}
	s := newHostSampler(cg, nil, "node-1", time.Now)
	s.Sample()
	h := s.Sample()
	if h.Cgroup || h.CPULimitCores < 1 || h.MemoryBytes == nil || h.MemoryLimitBytes == nil || *h.MemoryBytes > *h.MemoryLimitBytes {
		t.Fatalf("sample = %+v, want the machine's cores and memory", h)
	}
	if h.CPUPercent == nil || *h.CPUPercent < 0 || *h.CPUPercent > 100 {
		t.Fatalf("cpu = %v, want a percentage on the second sample", h.CPUPercent)
	}
}
