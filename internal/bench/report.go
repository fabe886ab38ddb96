package bench

import (
	"fmt"
	"io"
	"strings"
)

// Markdown writes the figures as the tables docs/BENCHMARKS.md holds.
func (r *Result) Markdown(out io.Writer) {
	p := func(format string, args ...any) { fmt.Fprintf(out, format+"\n", args...) }
	p("Run of %s: %.0f s on %d CPUs (%s), %.1f GiB, %s.", r.Started.Format("2006-01-02 15:04 MST"), r.Seconds,
		r.Machine.CPUs, r.Machine.Model, float64(r.Machine.MemBytes)/(1<<30), r.Machine.Go)
	ids := "ids in the order they were made"
	if r.Workload.RandomIDs {
		ids = "random ids (UUIDv4)"
	}
	p("Workload: %d executions (3 events each, %s) in %d workspaces of %d agents, finishing over %s; queries read %s.",
		r.Executions, ids, r.Workload.Workspaces, r.Workload.Agents, r.Workload.Span, queried)
	p("")
	p("### Embedded store: ingest over HTTP as the store grows")
	p("")
	p("| executions stored | events loaded | events/s | server RSS max | store size |")
	p("|---|---|---|---|---|")
	for _, st := range r.Stages {
		p("| %s | %s | %s | %d MiB | %d MiB |", count(st.Executions), count(int(st.Ingest.Events)), count(int(st.Ingest.EventsPerSec)),
			st.Ingest.ServerRSSMax>>20, st.StoreBytes>>20)
	}
	p("")
	if r.Live != nil {
		p("%s", r.Live.sentence(r.Executions))
		p("")
	}
	p("### Embedded store: p50 / p99 ms of each request as the store grows")
	p("")
	head := "| request |"
	sep := "|---|"
	for _, st := range r.Stages {
		head += " " + count(st.Executions) + " |"
		sep += "---|"
	}
	p("%s", head)
	p("%s", sep)
	for _, name := range requestNames() {
		row := "| " + name + " |"
		for _, st := range r.Stages {
			l := st.Queries[name]
			row += fmt.Sprintf(" %.2f / %.2f |", l.P50Ms, l.P99Ms)
		}
		p("%s", row)
	}
	row := "| server RSS max while querying |"
	for _, st := range r.Stages {
		row += fmt.Sprintf(" %d MiB |", st.RSSMax>>20)
	}
	p("%s", row)
	// The combined answers come first after each load, which changed every
	// ended day: their warm-up is the cost with nothing cached.
	p("")
	p("### Embedded store: the first combined answer of each window after a load (its spans not cached yet), ms")
	p("")
	p("%s", head)
	p("%s", sep)
	for _, win := range windows {
		row := "| all " + win + " |"
		for _, st := range r.Stages {
			row += fmt.Sprintf(" %.2f |", st.Queries["all "+win].FirstMs)
		}
		p("%s", row)
	}
	if len(r.Naive) > 0 {
		p("")
		p("### The naive design on the same %s executions (PostgreSQL, percentile_cont and GROUP BY over raw rows)", count(r.Executions))
		p("")
		p("| request | naive median ms | ours p50 ms | ours faster by |")
		p("|---|---|---|---|")
		for _, n := range r.Naive {
			p("| %s | %.1f | %.2f | %.0fx |", n.Query, n.NaiveMs, n.OursMs, n.Ratio)
		}
	}
	p("")
	p("### Percentile error against exact nearest-rank values (%s executions)", count(r.Executions))
	p("")
	p("| window | scope | percentiles checked | worst error |")
	p("|---|---|---|---|")
	for _, a := range r.Accuracy {
		p("| %s | %s | %d | %.2f%% |", a.Window, a.Scope, a.Checked, a.MaxErrorPct)
	}
	if r.Realtime != nil {
		p("")
		p("Realtime with 10,000 executions running: p50 %.2f ms, p99 %.2f ms over %d requests.", r.Realtime.P50Ms, r.Realtime.P99Ms, r.Realtime.Requests)
	}
	if f := r.Fanout; f != nil {
		p("")
		p("WebSocket fan-out: %d of %d clients connected, %d rounds of one change a second; lag from the change's acknowledgement to each client's update: p50 %.0f ms, p99 %.0f ms, max %.0f ms; %d updates over 1 s late, %d missed, %d clients dropped; the server used %.2f cores and up to %d MiB.",
			f.Connected, f.Clients, f.Rounds, f.LagP50Ms, f.LagP99Ms, f.LagMaxMs, f.Behind1s, f.Missed, f.Dropped, f.ServerCPUCores, f.ServerRSSMax>>20)
	}
	if pg := r.Postgres; pg != nil {
		p("")
		p("### PostgreSQL store (%s executions)", count(pg.Executions))
		p("")
		p("Ingest over HTTP: %s events/s (%s events in %.0f s), server RSS up to %d MiB.", count(int(pg.Ingest.EventsPerSec)),
			count(int(pg.Ingest.Events)), pg.Ingest.Seconds, pg.Ingest.ServerRSSMax>>20)
		p("")
		if pg.Live != nil {
			p("%s", pg.Live.sentence(pg.Executions))
			p("")
		}
		p("| request | p50 ms | p99 ms |")
		p("|---|---|---|")
		for _, name := range requestNames() {
			l := pg.Queries[name]
			p("| %s | %.2f | %.2f |", name, l.P50Ms, l.P99Ms)
		}
	}
	p("")
	p("Server resident memory, highest seen in the whole run: %d MiB.", r.MaxRSS>>20)
}

// count writes n with thousands separators.
func count(n int) string {
	s := fmt.Sprint(n)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

func (l *LiveResult) sentence(stored int) string {
	return fmt.Sprintf("Live traffic on top of the %s-execution store (%s executions, each one's events in three consecutive batches, "+
		"finishing over the last %s): %s events/s (%s events in %.0f s), server RSS up to %d MiB.",
		count(stored), count(l.Executions), l.Span, count(int(l.EventsPerSec)), count(int(l.Events)), l.Seconds, l.ServerRSSMax>>20)
}
