package bench

import (
	"testing"
	"time"
)

// BenchmarkEvents is the load process's cost of one 1,000-event batch.
func BenchmarkEvents(b *testing.B) {
	w := Workload{Seed: 1, Workspaces: 3, Agents: 10, Span: 90 * 24 * time.Hour, End: time.Now(), Sizes: []int{10_000_000}}
	b.ReportAllocs()
	for i := range b.N {
		w.Events(i*1000, i*1000+1000)
	}
}
