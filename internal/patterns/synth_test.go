package patterns

import (
	"math"
	"math/rand/v2"
	"time"
)

// A synthetic scope, generated the way the watcher measures a real one:
// executions finish each minute (Poisson around a rate with daily and
// weekly cycles, a trend, day-to-day and minute-to-minute wobble), each
// fails with some probability, and has a lognormal run time and queue
// wait. Error rate and the p95s are computed over the trailing 5 minutes
// (nearest rank), hours as the hour rollups would hold them.

// synthStart is a Monday.
var synthStart = time.Date(2025, 3, 3, 0, 0, 0, 0, time.UTC)

type synthConfig struct {
	seed      uint64
	days      int       // days of minutes
	peak      float64   // executions per minute at a weekday's peak
	eventFrom time.Time // events are injected after this (none when zero)
	// pointsFrom: minutes before it are only summed into hours (their error
	// rate and p95 points are left empty), which is all a seeded history
	// needs and saves most of the time.
	pointsFrom time.Time
}

// truthEvent is an injected change: the metric moves in direction dir
// during [start, end).
type truthEvent struct {
	metric     Metric
	dir        string
	kind       string
	start, end time.Time
	mult       float64 // a burst's factor on throughput
}

type synthWorld struct {
	cfg    synthConfig
	points map[Metric][]Point // one per minute from synthStart
	hours  map[Metric][]Point // one per hour, as SeedHour wants it (N 0: no data)
	truth  []truthEvent
}

// Shape of the synthetic load.
const (
	synthNight    = 0.03 // night rate as a share of the peak
	synthWeekend  = 0.45 // weekend rate as a share of the weekday's
	synthTrend    = 0.01 // growth per day
	synthDayNoise = 0.04 // day-to-day level, lognormal σ
	synthWobble   = 0.03 // minute-to-minute level, lognormal σ (AR, about 20 minutes)
	synthErr      = 0.02 // base error rate
	synthRunMs    = 1500 // median run time
	synthRunSigma = 0.5
	synthWaitMs   = 200 // median queue wait at half load
	synthWaitSig  = 0.9
)

// dailyShape is the share of the peak rate at time t of day: lowest at
// 03:00, highest at 15:00.
func dailyShape(t time.Time) float64 {
	x := (float64(t.Hour()) + float64(t.Minute())/60) / 24
	bump := (1 - math.Cos(2*math.Pi*(x-0.125))) / 2
	return synthNight + (1-synthNight)*math.Pow(bump, 1.5)
}

// weeklyShape dips on weekends, easing in and out over four hours around
// midnight (users are spread over time zones).
func weeklyShape(t time.Time) float64 {
	weekend := func(t time.Time) float64 {
		if d := t.Weekday(); d == time.Saturday || d == time.Sunday {
			return 1
		}
		return 0
	}
	// Average of the weekend indicator over ±2 hours, linearly.
	w := 0.0
	for _, off := range []float64{-2, -1, 0, 1, 2} {
		w += weekend(t.Add(time.Duration(off * float64(time.Hour))))
	}
	w /= 5
	return 1 - (1-synthWeekend)*w
}

// synthLoad is the expected rate without noise or events, as a share of the peak.
func synthLoad(t time.Time) float64 {
	days := t.Sub(synthStart).Hours() / 24
	return dailyShape(t) * weeklyShape(t) * (1 + synthTrend*days)
}

// generateWorld draws the minutes and hours of a synthetic scope, with the
// events of cfg.
func generateWorld(cfg synthConfig) *synthWorld {
	rng := rand.New(rand.NewPCG(cfg.seed, cfg.seed*7919+1))
	w := &synthWorld{cfg: cfg, points: map[Metric][]Point{}, hours: map[Metric][]Point{}}
	if !cfg.eventFrom.IsZero() {
		w.truth = scheduleEvents(rng, cfg)
	}
	n := cfg.days * 1440
	for _, m := range Metrics {
		w.points[m] = make([]Point, n)
	}
	dayLevel := 1.0
	wobble := 0.0
	rho := math.Exp(-1.0 / 20)
	var window [5][2][]float64 // durations and waits of the last 5 minutes
	var windowErr, windowFin [5]float64
	var hourRun, hourWait, scratch []float64
	var hourFin, hourErr, hourRunMu, hourWaitMu float64
	detailFrom := cfg.pointsFrom.Add(-5 * time.Minute)
	for i := range n {
		t := synthStart.Add(time.Duration(i) * time.Minute)
		if i%1440 == 0 {
			dayLevel = math.Exp(rng.NormFloat64() * synthDayNoise)
		}
		wobble = rho*wobble + math.Sqrt(1-rho*rho)*synthWobble*rng.NormFloat64()
		rate := cfg.peak * synthLoad(t) * dayLevel * math.Exp(wobble)
		errP := synthErr * (1 + 0.2*math.Sin(2*math.Pi*float64(t.Hour())/24))
		runMul, waitMul := 1.0, 1.0
		for _, e := range w.truth {
			rate, errP, runMul, waitMul = e.apply(t, rate, errP, runMul, waitMul)
		}
		fin := drawPoisson(rng, rate)
		slot := i % 5
		runs, waits := window[slot][0][:0], window[slot][1][:0]
		// Logs of run times and waits: the p95 of the logs is the log of the p95.
		runMu := math.Log(synthRunMs * (1 + 0.1*synthLoad(t)) * runMul)
		waitMu := math.Log(synthWaitMs * (0.5 + synthLoad(t)) * waitMul)
		errs := drawBinomial(rng, fin, errP)
		if !t.Before(detailFrom) {
			for range int(fin) {
				runs = append(runs, runMu+synthRunSigma*rng.NormFloat64())
				waits = append(waits, waitMu+synthWaitSig*rng.NormFloat64())
			}
		}
		window[slot][0], window[slot][1] = runs, waits
		windowErr[slot], windowFin[slot] = errs, fin
		hourRun, hourWait = append(hourRun, runs...), append(hourWait, waits...)
		hourFin += fin
		hourErr += errs
		hourRunMu += fin * runMu
		hourWaitMu += fin * waitMu

		w.points[Throughput][i] = Point{T: t, Value: fin, N: fin}
		var f5, e5 float64
		for k := range 5 {
			f5 += windowFin[k]
			e5 += windowErr[k]
		}
		switch {
		case t.Before(cfg.pointsFrom):
			for _, m := range Metrics[1:] {
				w.points[m][i] = Point{T: t}
			}
		case f5 > 0:
			w.points[ErrorRate][i] = Point{T: t, Value: e5 / f5, N: f5}
			scratch = scratch[:0]
			for k := range 5 {
				scratch = append(scratch, window[k][0]...)
			}
			w.points[DurationP95][i] = Point{T: t, Value: math.Exp(nearestP95(scratch)), N: f5}
			scratch = scratch[:0]
			for k := range 5 {
				scratch = append(scratch, window[k][1]...)
			}
			w.points[QueueWaitP95][i] = Point{T: t, Value: math.Exp(nearestP95(scratch)), N: f5}
		default:
			for _, m := range Metrics[1:] {
				w.points[m][i] = Point{T: t}
			}
		}
		if t.Minute() == 59 {
			h := t.Truncate(time.Hour)
			w.hours[Throughput] = append(w.hours[Throughput], Point{T: h, Value: hourFin / 60, N: hourFin})
			if hourFin > 0 {
				w.hours[ErrorRate] = append(w.hours[ErrorRate], Point{T: h, Value: hourErr / hourFin, N: hourFin})
				var run, wait float64
				if float64(len(hourRun)) == hourFin {
					run, wait = nearestP95(hourRun), nearestP95(hourWait)
				} else {
					// Summed only: draw the hour's p95 from its sampling distribution.
					run = p95Draw(rng, hourFin, hourRunMu/hourFin, synthRunSigma)
					wait = p95Draw(rng, hourFin, hourWaitMu/hourFin, synthWaitSig)
				}
				w.hours[DurationP95] = append(w.hours[DurationP95], Point{T: h, Value: math.Exp(run), N: hourFin})
				w.hours[QueueWaitP95] = append(w.hours[QueueWaitP95], Point{T: h, Value: math.Exp(wait), N: hourFin})
			} else {
				for _, m := range Metrics[1:] {
					w.hours[m] = append(w.hours[m], Point{T: h})
				}
			}
			hourRun, hourWait, hourFin, hourErr, hourRunMu, hourWaitMu = hourRun[:0], hourWait[:0], 0, 0, 0, 0
		}
	}
	return w
}

// apply changes a minute's rate, error probability and run time and queue
// wait factors when t falls in the event.
func (e truthEvent) apply(t time.Time, rate, errP, runMul, waitMul float64) (float64, float64, float64, float64) {
	if t.Add(time.Minute).Before(e.start) || t.Add(time.Minute).Equal(e.start) || !t.Before(e.end) {
		return rate, errP, runMul, waitMul
	}
	// Share of the minute inside the event: bursts may begin mid-minute.
	in := 1.0
	if t.Before(e.start) {
		in = t.Add(time.Minute).Sub(e.start).Minutes()
	}
	hours := t.Sub(e.start).Hours()
	switch e.kind {
	case "burst", "outage", "shift_thr":
		rate *= 1 + (e.mult-1)*in
	case "err_spike", "err_shift":
		errP = e.mult
	case "err_creep":
		errP += e.mult * hours / e.end.Sub(e.start).Hours()
	case "run_spike", "run_shift":
		runMul *= e.mult
	case "run_drift":
		runMul *= math.Pow(e.mult, hours)
	case "wait_spike":
		waitMul *= e.mult
	case "wait_drift":
		waitMul *= math.Pow(e.mult, hours)
	}
	return rate, errP, runMul, waitMul
}

// eventPlan is one kind of event to inject: its metric, direction, length
// range (minutes) and factor range.
type eventPlan struct {
	metric           Metric
	kind             string
	minLen, maxLen   int
	minMult, maxMult float64
	count            int
}

var eventPlans = []eventPlan{
	{Throughput, "burst", 5, 15, 3, 6, 3},
	{Throughput, "outage", 20, 60, 0.01, 0.02, 1},
	{Throughput, "shift_thr", 120, 240, 1.7, 1.7, 1},
	{Throughput, "shift_thr", 120, 240, 0.5, 0.5, 1},
	{ErrorRate, "err_spike", 5, 15, 0.15, 0.35, 2},
	{ErrorRate, "err_shift", 120, 180, 0.06, 0.07, 1},
	{ErrorRate, "err_creep", 360, 360, 0.06, 0.06, 1},
	{DurationP95, "run_spike", 5, 15, 2.5, 4, 2},
	{DurationP95, "run_shift", 120, 180, 1.5, 1.5, 1},
	{DurationP95, "run_drift", 480, 480, 1.04, 1.04, 1},
	{QueueWaitP95, "wait_spike", 5, 15, 3, 5, 2},
	{QueueWaitP95, "wait_drift", 480, 480, 1.05, 1.05, 1},
}

// scheduleEvents places the events on weekdays between 10:00 and 20:00, when the
// rate is at least half the peak, apart from other events of the same
// metric, and away from drops of throughput (which leave other metrics
// without data).
func scheduleEvents(rng *rand.Rand, cfg synthConfig) []truthEvent {
	var out []truthEvent
	first := int(cfg.eventFrom.Sub(synthStart).Hours()/24 + 0.999)
	var days []int
	for d := first; d < cfg.days; d++ {
		if wd := synthStart.AddDate(0, 0, d).Weekday(); wd != time.Saturday && wd != time.Sunday {
			days = append(days, d)
		}
	}
	clash := func(e truthEvent) bool {
		for _, o := range out {
			gap := 90 * time.Minute
			sameOrDrop := o.metric == e.metric || (o.metric == Throughput && o.dir == dirDown) || (e.metric == Throughput && e.dir == dirDown)
			if sameOrDrop && e.start.Before(o.end.Add(gap)) && o.start.Before(e.end.Add(gap)) {
				return true
			}
		}
		return false
	}
	for _, p := range eventPlans {
		for range p.count {
			for try := 0; try < 1000; try++ {
				length := time.Duration(p.minLen+rng.IntN(p.maxLen-p.minLen+1)) * time.Minute
				day := synthStart.AddDate(0, 0, days[rng.IntN(len(days))])
				window := 10*time.Hour - length
				start := day.Add(10*time.Hour + time.Duration(rng.Int64N(int64(window/time.Minute)+1))*time.Minute)
				if p.kind == "burst" {
					start = start.Add(time.Duration(rng.IntN(60)) * time.Second)
				}
				e := truthEvent{metric: p.metric, kind: p.kind, start: start, end: start.Add(length),
					mult: p.minMult + rng.Float64()*(p.maxMult-p.minMult), dir: dirUp}
				if e.kind == "outage" || (e.kind == "shift_thr" && e.mult < 1) {
					e.dir = dirDown
				}
				if !clash(e) {
					out = append(out, e)
					break
				}
			}
		}
	}
	return out
}

// drawPoisson draws a Poisson count, as a sum of draws of at most 20 by
// inversion: exact, and cheap for the rates here.
func drawPoisson(rng *rand.Rand, l float64) float64 {
	var n float64
	for l > 0 {
		c := math.Min(l, 20)
		l -= c
		u, p := rng.Float64(), math.Exp(-c)
		k, cdf := 0.0, p
		for u > cdf && k < 200 {
			k++
			p *= c / k
			cdf += p
		}
		n += k
	}
	return n
}

// drawBinomial draws the failures among n executions failing with
// probability p, by inversion over chunks of at most 50 (so (1-p)^50 never
// underflows).
func drawBinomial(rng *rand.Rand, n, p float64) float64 {
	var k float64
	for n > 0 {
		m := math.Min(n, 50)
		n -= m
		u, pk := rng.Float64(), math.Pow(1-p, m)
		j, cdf := 0.0, pk
		for u > cdf && j < m {
			pk *= (m - j) / (j + 1) * p / (1 - p)
			j++
			cdf += pk
		}
		k += j
	}
	return k
}

// p95Draw draws the nearest-rank 95th percentile of n normal values with
// mean mu and deviation sigma without drawing them: the j-th largest of n
// uniforms is exp(-Σ E_i/(n-i+1)) over j exponentials E_i (Rényi).
func p95Draw(rng *rand.Rand, n, mu, sigma float64) float64 {
	j := n - math.Ceil(0.95*n) + 1
	var sum float64
	for i := 0.0; i < j; i++ {
		sum += rng.ExpFloat64() / (n - i)
	}
	u := math.Exp(-sum)
	return mu + sigma*math.Sqrt2*math.Erfinv(2*u-1)
}

// nearestP95 is the nearest-rank 95th percentile of a, which it reorders.
func nearestP95(a []float64) float64 {
	k := int(math.Ceil(0.95*float64(len(a)))) - 1
	return kthSmallest(a, max(k, 0))
}
