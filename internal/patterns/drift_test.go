package patterns

import (
	"math"
	"math/rand/v2"
	"sort"
	"testing"
)

// span draws n run times (lognormal around median, with a Pareto tail on
// tail of them) and measures their p95 as a pooled span.
func span(rng *rand.Rand, n int, median, tail float64) pooled {
	v := make([]float64, n)
	for i := range v {
		v[i] = median * math.Exp(0.5*rng.NormFloat64())
		if rng.Float64() < tail {
			v[i] *= 3 * math.Pow(1-rng.Float64(), -1/1.3)
		}
	}
	sort.Float64s(v)
	return pooled{value: v[int(math.Ceil(0.95*float64(n)))-1], n: float64(n), ok: true}
}

// TestDriftQuality measures the hourly drift check on p95 run times, one
// six-hour span of 100 to 500 runs against the same span on the 7 days
// before: how often it fires on a steady agent (whatever its tail), and how
// often a single span finds an agent whose run time grows 30% a day, after
// a week (it is judged every hour, so a drift missed by one span is found by
// a later one).
func TestDriftQuality(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	const trials = 2000
	for _, c := range []struct {
		name      string
		tail      float64
		growth    float64 // per day
		minRate   float64 // detected (or, for steady, fired) share expected
		wantFired bool
	}{
		{"steady", 0, 0, 0, false},
		{"steady, heavy tail", 0.02, 0, 0, false},
		{"growing 30% a day", 0, 0.3, 0.7, true},
		{"growing 30% a day, heavy tail", 0.02, 0.3, 0.6, true},
	} {
		fired := 0
		for range trials {
			n := 100 + rng.IntN(400)
			var peers []pooled
			for d := DriftDays; d >= 1; d-- {
				peers = append(peers, span(rng, n, 8000*(1+c.growth*float64(DriftDays-d)), c.tail))
			}
			now := span(rng, n, 8000*(1+c.growth*DriftDays), c.tail)
			if j, ok := judgeDrift(DurationP95, now, peers); ok && j.drifted {
				fired++
			}
		}
		rate := float64(fired) / trials
		t.Logf("%-32s fired %5.1f%% of %d spans", c.name, 100*rate, trials)
		if !c.wantFired && rate > 0.002 {
			t.Errorf("%s: fired on %.2f%% of steady spans, want at most 0.2%%", c.name, 100*rate)
		}
		if c.wantFired && rate < c.minRate {
			t.Errorf("%s: found %.1f%%, want at least %.0f%%", c.name, 100*rate, 100*c.minRate)
		}
	}
}
