package patterns

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"
	"time"
)

// How findings are matched with injected events (see docs/DETECTION.md).
const (
	// recallGrace: a finding recalls an event if it starts in the event's
	// effect or up to this long after it.
	recallGrace = 10 * time.Minute
	// precisionTail: a finding is a true positive if it overlaps an event's
	// effect extended by this tail (findings close a few minutes after the
	// change ends).
	precisionTail = 30 * time.Minute
)

// effect is when an event shows in its metric: from the minute it begins
// in to its end, and for the trailing-window metrics 4 minutes more.
func (e truthEvent) effect() (time.Time, time.Time) {
	end := e.end
	if e.metric != Throughput {
		end = end.Add(4 * time.Minute)
	}
	return e.start.Truncate(time.Minute), end
}

// feedWorld seeds each metric's series with the world's hours before from and
// adds its minutes from there; it returns every finding in its last state,
// and how many minutes of each metric were judged.
func feedWorld(w *synthWorld, from time.Time) (map[Metric][]Finding, map[Metric]int) {
	out, judged := map[Metric][]Finding{}, map[Metric]int{}
	for _, m := range Metrics {
		s := NewSeries(m)
		for _, h := range w.hours[m] {
			if h.T.Before(from) && (m == Throughput || h.N > 0) {
				s.SeedHour(h.T, h.Value, h.N)
			}
		}
		last := map[string]int{}
		var fs []Finding
		for _, p := range w.points[m] {
			if p.T.Before(from) {
				continue
			}
			a, f := s.Add(p)
			if a.Judged {
				judged[m]++
			}
			if f == nil {
				continue
			}
			key := f.Direction + f.Start.String()
			if i, ok := last[key]; ok {
				fs[i] = *f
			} else {
				last[key] = len(fs)
				fs = append(fs, *f)
			}
		}
		out[m] = fs
	}
	return out, judged
}

type tally struct {
	events, recalled, findings, truePos int
	delays                              []float64 // minutes from an event's start to its finding's
}

// medianDelay is the median of the delays, in minutes.
func (t tally) medianDelay() float64 {
	if len(t.delays) == 0 {
		return math.NaN()
	}
	d := append([]float64(nil), t.delays...)
	sort.Float64s(d)
	return d[len(d)/2]
}

func (t tally) recall() float64    { return fraction(t.recalled, t.events) }
func (t tally) precision() float64 { return fraction(t.truePos, t.findings) }

func fraction(a, b int) float64 {
	if b == 0 {
		return 1
	}
	return float64(a) / float64(b)
}

// judgeRun matches findings with events, adding to per-metric and per-kind
// tallies; it returns how many bursts of x3 or more there were, and those
// not flagged by their first full minute.
func judgeRun(t *testing.T, w *synthWorld, fs map[Metric][]Finding, byMetric map[Metric]*tally, byKind map[string]*tally) (int, []string) {
	var late []string
	bursts := 0
	for _, e := range w.truth {
		from, to := e.effect()
		k := byKind[e.kind]
		if k == nil {
			k = &tally{}
			byKind[e.kind] = k
		}
		byMetric[e.metric].events++
		k.events++
		hit := false
		for _, f := range fs[e.metric] {
			if f.Direction == e.dir && !f.Start.Before(from) && !f.Start.After(to.Add(recallGrace)) {
				hit = true
				k.delays = append(k.delays, f.Start.Sub(from).Minutes())
				break
			}
		}
		if hit {
			byMetric[e.metric].recalled++
			k.recalled++
		} else {
			t.Logf("missed %s %s %s at %s for %s (x%.2f)", e.metric, e.kind, e.dir, e.start.Format("Mon 15:04"), e.end.Sub(e.start), e.mult)
		}
		if e.kind == "burst" && e.mult >= 3 {
			bursts++
			firstFull := e.start.Add(time.Minute - time.Nanosecond).Truncate(time.Minute)
			ok := false
			for _, f := range fs[Throughput] {
				if f.Direction == dirUp && !f.Start.Before(from) && !f.Start.After(firstFull) {
					ok = true
				}
			}
			if !ok {
				late = append(late, fmt.Sprintf("burst x%.1f at %s", e.mult, e.start.Format("Mon 15:04:05")))
			}
		}
	}
	for _, m := range Metrics {
		for _, f := range fs[m] {
			byMetric[m].findings++
			tp := false
			for _, e := range w.truth {
				from, to := e.effect()
				if e.metric == m && f.Start.Before(to.Add(precisionTail)) && from.Before(f.End) {
					tp = true
				}
			}
			if tp {
				byMetric[m].truePos++
			} else {
				t.Logf("false %s %s %s–%s score %.1f observed %.4g expected %.4g (%s)", m, f.Direction,
					f.Start.Format("Mon Jan 2 15:04"), f.End.Format("15:04"), f.Score, f.Observed, f.Expected, f.Baseline)
			}
		}
	}
	return bursts, late
}

// Scenario runs: four weeks of hourly history seeded, then a week of
// minutes with injected events.
const (
	scenarioSeedDays = 28
	scenarioDays     = 35
)

var scenarioSeeds = []uint64{1, 2, 3, 4, 5, 6, 7, 8}

func TestDetectionQuality(t *testing.T) {
	byMetric := map[Metric]*tally{}
	for _, m := range Metrics {
		byMetric[m] = &tally{}
	}
	byKind := map[string]*tally{}
	var late []string
	bursts := 0
	from := synthStart.AddDate(0, 0, scenarioSeedDays)
	for _, seed := range scenarioSeeds {
		w := generateWorld(synthConfig{seed: seed, days: scenarioDays, peak: 80, eventFrom: from, pointsFrom: from})
		fs, _ := feedWorld(w, from)
		n, l := judgeRun(t, w, fs, byMetric, byKind)
		bursts, late = bursts+n, append(late, l...)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\n%-16s %7s %9s %7s %9s %10s\n", "metric", "events", "recalled", "recall", "findings", "precision")
	for _, m := range Metrics {
		x := byMetric[m]
		fmt.Fprintf(&b, "%-16s %7d %9d %7.3f %9d %10.3f\n", m, x.events, x.recalled, x.recall(), x.findings, x.precision())
	}
	fmt.Fprintf(&b, "\n%-16s %7s %9s %7s %13s\n", "event", "events", "recalled", "recall", "median delay")
	kinds := make([]string, 0, len(byKind))
	for k := range byKind {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	for _, k := range kinds {
		x := byKind[k]
		fmt.Fprintf(&b, "%-16s %7d %9d %7.3f %10.0f min\n", k, x.events, x.recalled, x.recall(), x.medianDelay())
	}
	fmt.Fprintf(&b, "\nbursts of x3 or more flagged at their first full minute: %d of %d\n", bursts-len(late), bursts)
	t.Log(b.String())
	for _, m := range Metrics {
		if x := byMetric[m]; x.recall() < 0.9 || x.precision() < 0.9 {
			t.Errorf("%s: recall %.3f, precision %.3f; want both >= 0.9", m, x.recall(), x.precision())
		}
	}
	for _, l := range late {
		t.Errorf("not flagged at its first full minute: %s", l)
	}
}

// TestCleanSeriesQuiet feeds 30 days of minutes with no events, from no
// history at all (so through the robust, daily and weekly baselines), and
// wants no finding on any metric.
func TestCleanSeriesQuiet(t *testing.T) {
	for _, tc := range []struct {
		name string
		peak float64
		seed uint64
	}{
		{"workspace", 80, 11},
		{"small agent", 4, 12},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := generateWorld(synthConfig{seed: tc.seed, days: 30, peak: tc.peak})
			fs, judged := feedWorld(w, synthStart)
			for _, m := range Metrics {
				t.Logf("%-15s %5d minutes judged, %d findings", m, judged[m], len(fs[m]))
				for _, f := range fs[m] {
					t.Errorf("%s: %s %s–%s score %.1f observed %.4g expected %.4g (%s)", m, f.Direction,
						f.Start.Format("Mon Jan 2 15:04"), f.End.Format("15:04"), f.Score, f.Observed, f.Expected, f.Baseline)
				}
			}
		})
	}
}

// flatSeries is a throughput series at rate per minute with no cycle: seeded
// with weeks of hourly history (none for 0), then fed minute by minute.
type flatSeries struct {
	s   *Series
	rng *rand.Rand
	t   time.Time // the next minute
}

func newFlatSeries(weeks int, rate float64) *flatSeries {
	f := &flatSeries{s: NewSeries(Throughput), rng: rand.New(rand.NewPCG(7, 11)), t: synthStart}
	for h := range weeks * 7 * 24 {
		f.s.SeedHour(synthStart.Add(time.Duration(h)*time.Hour), rate, rate*60)
	}
	f.t = synthStart.Add(time.Duration(weeks*7*24) * time.Hour)
	return f
}

// add feeds minutes minutes at rate, returning the findings reported.
func (f *flatSeries) add(minutes int, rate float64) (last Assessment, reports []Finding) {
	for range minutes {
		a, r := f.s.Add(Point{T: f.t, Value: drawPoisson(f.rng, rate)})
		if r != nil {
			reports = append(reports, *r)
		}
		last = a
		f.t = f.t.Add(time.Minute)
	}
	return last, reports
}

func TestWarmUp(t *testing.T) {
	f := newFlatSeries(0, 20)
	if b := f.s.Baseline(); b != BaselineNone {
		t.Fatalf("empty series: baseline %s", b)
	}
	a, _ := f.add(robustMin, 20)
	if a.Judged || f.s.Baseline() != BaselineRobust {
		t.Fatalf("after %d minutes: judged %v, next baseline %s; want unjudged, then robust", robustMin, a.Judged, f.s.Baseline())
	}
	a, _ = f.add(1, 20)
	if !a.Judged || a.Baseline != BaselineRobust || math.Abs(a.Expected-20) > 3 {
		t.Fatalf("minute %d: %+v; want judged against the robust baseline, about 20 expected", robustMin+1, a)
	}
	f.add(3*24*60-robustMin-1, 20)
	if h := f.s.HistoryHours(); h != 72 {
		t.Fatalf("history %v hours, want 72", h)
	}
	if b := f.s.Baseline(); b != BaselineSeasonal {
		t.Fatalf("after 3 days: baseline %s, want seasonal", b)
	}
	a, _ = f.add(1, 20)
	if a.Baseline != BaselineSeasonal || math.Abs(a.Expected-20) > 2 {
		t.Fatalf("day 4: %+v; want about 20 expected from the seasonal baseline", a)
	}
}

// TestSpike: a burst is a finding from its first minute, and the finding
// ends with the burst and closes a few minutes after.
func TestSpike(t *testing.T) {
	f := newFlatSeries(4, 60)
	if _, fs := f.add(600, 60); len(fs) > 0 {
		t.Fatalf("findings before the burst: %+v", fs)
	}
	start := f.t
	a, fs := f.add(1, 240)
	if len(fs) != 1 || !fs[0].Start.Equal(start) || !fs[0].Ongoing || fs[0].Direction != "up" || a.Score < CriticalScore {
		t.Fatalf("first burst minute: %+v, score %.1f; want an ongoing critical rise from %s", fs, a.Score, start)
	}
	f.add(9, 240)
	end := f.t
	_, fs = f.add(10, 60)
	if len(fs) == 0 {
		t.Fatal("the finding did not close")
	}
	closed := fs[len(fs)-1]
	if closed.Ongoing || !closed.End.Equal(end) || closed.Severity != "critical" || closed.Observed < 180 {
		t.Fatalf("closed: %+v; want ended at %s, critical, observed about 240", closed, end)
	}
	if n := len(fs); n > closeQuiet+1 {
		t.Fatalf("%d reports after the burst; it should close within %d minutes", n, closeQuiet)
	}
}

// TestNoPollution: a three-hour burst and an hour-long outage leave the
// baseline where it was.
func TestNoPollution(t *testing.T) {
	f := newFlatSeries(4, 60)
	before, _ := f.add(120, 60)
	f.add(180, 180)
	f.add(60, 60)
	f.add(60, 0)
	after, fs := f.add(60, 60)
	if math.Abs(after.Expected-before.Expected) > 0.05*before.Expected {
		t.Fatalf("expected %.1f before, %.1f after; want within 5%%", before.Expected, after.Expected)
	}
	for _, x := range fs {
		if x.Ongoing {
			t.Fatalf("still open an hour after: %+v", x)
		}
	}

	// The robust baseline of a young series learns anomalous minutes
	// clipped to one deviation (1/2 on the square-root scale of counts), so
	// through a 50-minute burst four times the rate it moves by less than
	// two deviations.
	f = newFlatSeries(0, 60)
	before, _ = f.add(120, 60)
	during, _ := f.add(50, 240)
	if d := math.Sqrt(during.Expected) - math.Sqrt(before.Expected); d > 2*0.5 {
		t.Fatalf("robust: expected %.1f before, %.1f 50 minutes into a burst; want under 2 deviations apart", before.Expected, during.Expected)
	}
}

// TestShiftAccepted: a lasting change is one finding for acceptAfter, then
// the new normal.
func TestShiftAccepted(t *testing.T) {
	f := newFlatSeries(4, 60)
	f.add(600, 60)
	start := f.t
	_, fs := f.add(int(acceptAfter/time.Minute)+30, 120)
	var closed *Finding
	for i, x := range fs {
		if !x.Start.Equal(start) {
			t.Fatalf("finding %+v; want one, from %s", x, start)
		}
		if !x.Ongoing {
			closed = &fs[i]
		}
	}
	if closed == nil || closed.End.Sub(closed.Start) != acceptAfter {
		t.Fatalf("closed: %+v; want accepted after %s", closed, acceptAfter)
	}
	a, fs := f.add(24*60, 120)
	if len(fs) > 0 || math.Abs(a.Expected-120) > 12 {
		t.Fatalf("a day on: findings %+v, expected %.1f; want none, about 120", fs, a.Expected)
	}
}

// TestShiftReverted: a change accepted as the new normal that ends within
// a day restores the old normal, without a finding for the return.
func TestShiftReverted(t *testing.T) {
	f := newFlatSeries(4, 60)
	f.add(600, 60)
	f.add(int(acceptAfter/time.Minute)+120, 120)
	a, fs := f.add(120, 60)
	if len(fs) > 0 || math.Abs(a.Expected-60) > 6 {
		t.Fatalf("back to 60: findings %+v, expected %.1f; want none, about 60", fs, a.Expected)
	}
	// The old normal is the normal again: a new rise is news.
	if _, fs = f.add(1, 240); len(fs) != 1 || fs[0].Direction != "up" {
		t.Fatalf("a burst after the return: %+v; want a rise", fs)
	}
}

// TestTurn: a burst followed at once by an outage ends one finding and
// reports the other at the next minute, from the outage's first minute.
func TestTurn(t *testing.T) {
	f := newFlatSeries(4, 60)
	f.add(600, 60)
	f.add(5, 300)
	turn := f.t
	_, fs := f.add(1, 0)
	if len(fs) != 1 || fs[0].Ongoing || fs[0].Direction != "up" {
		t.Fatalf("turning minute: %+v; want the rise closed", fs)
	}
	_, fs = f.add(1, 0)
	if len(fs) != 1 || !fs[0].Ongoing || fs[0].Direction != "down" || !fs[0].Start.Equal(turn) {
		t.Fatalf("next minute: %+v; want a drop from %s", fs, turn)
	}
}

// TestDropConfirmed: one low minute is not a finding unless critical; two
// in a row are, from the first.
func TestDropConfirmed(t *testing.T) {
	f := newFlatSeries(4, 12)
	f.add(600, 12)
	for _, v := range []float64{0, 12, 12, 12} {
		if _, r := f.s.Add(Point{T: f.t, Value: v}); r != nil {
			t.Fatalf("a single empty minute at 12/min: %+v", r)
		}
		f.t = f.t.Add(time.Minute)
	}
	first := f.t
	var got *Finding
	for range 2 {
		_, r := f.s.Add(Point{T: f.t, Value: 0})
		if r != nil {
			got = r
		}
		f.t = f.t.Add(time.Minute)
	}
	if got == nil || !got.Start.Equal(first) || got.Direction != "down" {
		t.Fatalf("two empty minutes: %+v; want a drop from %s", got, first)
	}
}

func TestSmallSamplesNotJudged(t *testing.T) {
	s := NewSeries(ErrorRate)
	for h := range 4 * 7 * 24 {
		s.SeedHour(synthStart.Add(time.Duration(h)*time.Hour), 0.02, 3000)
	}
	at := synthStart.AddDate(0, 0, 28)
	a, _ := s.Add(Point{T: at, Value: 0.5, N: minJudgeN - 1})
	if a.Judged || a.Score != 0 {
		t.Fatalf("N %d: %+v; want not judged", minJudgeN-1, a)
	}
	a, f := s.Add(Point{T: at.Add(time.Minute), Value: 0.5, N: 200})
	if !a.Judged || a.Score < CriticalScore || f == nil || math.Abs(a.Expected-0.02) > 0.005 {
		t.Fatalf("N 200 at 50%%: %+v, finding %+v; want a critical rise over about 2%%", a, f)
	}
}

// TestGaps: missing throughput minutes count as zero; missing minutes of
// the other metrics are no data.
func TestGaps(t *testing.T) {
	s := NewSeries(Throughput)
	s.Add(Point{T: synthStart, Value: 5})
	s.Add(Point{T: synthStart.Add(10 * time.Minute), Value: 5})
	if n := len(s.robust.items); n != 11 {
		t.Fatalf("throughput: %d minutes in the window, want 11", n)
	}
	if sl := s.slotIf(unixHour(synthStart)); sl == nil || sl.w != 11 || sl.wv != 10 {
		t.Fatalf("throughput hour: %+v; want 11 minutes, 10 executions", sl)
	}
	e := NewSeries(ErrorRate)
	e.Add(Point{T: synthStart, Value: 0.1, N: 50})
	e.Add(Point{T: synthStart.Add(10 * time.Minute), Value: 0.1, N: 50})
	if n := len(e.robust.items); n != 2 {
		t.Fatalf("error rate: %d minutes in the window, want 2", n)
	}
	if a, f := e.Add(Point{T: synthStart.Add(5 * time.Minute), Value: 1, N: 50}); a.Judged || f != nil {
		t.Fatalf("a minute out of order was taken: %+v", a)
	}
}

func TestSeedOrder(t *testing.T) {
	s := NewSeries(DurationP95)
	s.SeedHour(synthStart.Add(time.Hour), 1000, 500)
	s.SeedHour(synthStart, 1000, 500)
	if h := s.HistoryHours(); h != 1 {
		t.Fatalf("history %v hours; want 1 (the older hour given last is ignored)", h)
	}
	s.Add(Point{T: synthStart.Add(3 * time.Hour), Value: 1000, N: 100})
	s.SeedHour(synthStart.Add(5*time.Hour), 1000, 500)
	if h := s.HistoryHours(); h != 2+1.0/60 {
		t.Fatalf("history %v hours; want 2h01m (a seed after the first minute is ignored)", h)
	}
}

func TestMedianOf(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for n := 1; n < 60; n++ {
		a := make([]float64, n)
		for i := range a {
			a[i] = math.Round(rng.NormFloat64() * 3) // with ties
		}
		b := append([]float64(nil), a...)
		sort.Float64s(b)
		want := b[n/2]
		if n%2 == 0 {
			want = (b[n/2-1] + b[n/2]) / 2
		}
		if got := medianOf(a); got != want {
			t.Fatalf("n %d: median %v, want %v", n, got, want)
		}
	}
}

// TestExpectations checks the expected values on the comparison scales
// against sums over the distributions, on both sides of where the
// approximations take over.
func TestExpectations(t *testing.T) {
	exactPoisson := func(l float64) float64 {
		p, s := math.Exp(-l), 0.0
		for k := 0; k < 400; k++ {
			s += p * math.Sqrt(float64(k)+0.375)
			p *= l / float64(k+1)
		}
		return s
	}
	for _, l := range []float64{0.1, 1, 9.9, 10, 30, 100} {
		if got, want := poissonMeanSqrt(l), exactPoisson(l); math.Abs(got-want) > 0.005 {
			t.Errorf("poisson %v: %v, want %v", l, got, want)
		}
	}
	exactBinomial := func(p, n float64) float64 {
		s := 0.0
		for k := 0.0; k <= n; k++ {
			lg := func(x float64) float64 { v, _ := math.Lgamma(x); return v }
			w := math.Exp(lg(n+1) - lg(k+1) - lg(n-k+1) + k*math.Log(p) + (n-k)*math.Log1p(-p))
			s += w * anscombeAsin(k/n, n)
		}
		return s
	}
	for _, c := range [][2]float64{{0.02, 20}, {0.02, 1499}, {0.02, 1501}, {0.3, 100}, {0.9, 300}} {
		noise := 1 / (2 * math.Sqrt(c[1]))
		if got, want := binomialMeanAsin(c[0], c[1]), exactBinomial(c[0], c[1]); math.Abs(got-want) > 0.03*noise {
			t.Errorf("binomial p %v n %v: %v, want %v", c[0], c[1], got, want)
		}
	}
}
