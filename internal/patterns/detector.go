package patterns

import (
	"math"
	"time"
)

// Metric names a per-minute measure of a scope's executions.
type Metric string

// The metrics the detector watches.
const (
	Throughput   Metric = "throughput"     // executions finished per minute
	ErrorRate    Metric = "error_rate"     // (failed+timed_out)/(completed+failed+timed_out) over the 5 minutes ending with the point
	DurationP95  Metric = "duration_p95"   // run time p95 in ms over the 5 minutes ending with the point
	QueueWaitP95 Metric = "queue_wait_p95" // queue wait p95 in ms, same
)

// Metrics lists every metric, in the order they are reported.
var Metrics = []Metric{Throughput, ErrorRate, DurationP95, QueueWaitP95}

// Point is one minute of one metric. T is the minute's start (UTC, minute aligned).
// Throughput: Value is the count of the minute (always known, 0 is data), N = Value.
// The others: Value is known only when N > 0; N is the number of executions behind it
// (the denominator for error_rate, the sample count for the p95s).
type Point struct {
	T     time.Time
	Value float64
	N     float64
}

// Baselines a minute can be compared with.
const (
	BaselineSeasonal = "seasonal" // same time on earlier days (and weeks, with 3+ weeks of history)
	BaselineRobust   = "robust"   // median and MAD of recent hours
	BaselineNone     = "none"     // not enough history to judge
)

// Scores, in robust standard deviations, from which a finding is a
// warning (and from which it opens) and from which it is critical.
const (
	WarningScore  = 5.0
	CriticalScore = 8.0
)

// Assessment is the judgement of one minute.
type Assessment struct {
	T        time.Time
	Observed float64
	Expected float64
	Score    float64 // signed, in robust standard deviations
	Baseline string
	Judged   bool // false when the point had no data or history is too short
}

// Finding is a stretch of anomalous minutes of one metric.
type Finding struct {
	Metric    Metric
	Direction string    // "up" or "down"
	Start     time.Time // first anomalous minute
	End       time.Time // end of the last anomalous minute (minute start + 1m)
	Ongoing   bool
	Observed  float64 // at the most extreme minute
	Expected  float64 // at that minute
	Score     float64 // the most extreme (signed)
	Severity  string  // "warning" (|score| >= WarningScore) or "critical" (>= CriticalScore)
	Baseline  string
}

const (
	dirUp       = "up"
	dirDown     = "down"
	sevWarning  = "warning"
	sevCritical = "critical"
)

// Tuning. doc.go and docs/DETECTION.md give the reasons; the quality tests
// measure what changing them costs.
const (
	minJudgeN       = 20                // executions behind an error rate or p95 before it is judged
	robustSpan      = 120 * time.Minute // the robust baseline's window
	robustMin       = 30                // minutes in it before it judges
	winsor          = 3.0               // deviations beyond which a minute is learnt clipped
	winsorAnomalous = 1.0               // and an anomalous minute
	dispPrior       = 60                // minutes the initial dispersion guess weighs
	dispMemory      = 360               // minutes the dispersion estimate remembers
	sustainSpan     = 30 * time.Minute  // window of the sustained-change test
	sustainMin      = 10                // judged minutes it needs
	closeQuiet      = 3                 // normal minutes before a finding can close
	closeEvidence   = 4.6               // log likelihood ratio (100:1) for "back to normal"
	acceptAfter     = 6 * time.Hour     // a change this long becomes the new normal
	revertWithin    = 24 * time.Hour    // and a return to the old level within this undoes that
	noDataClose     = 30 * time.Minute  // an open finding closes after this long unjudged
	ringHours       = 29 * 24           // hourly history kept: four weeks and a day
	dailyDays       = 7                 // days in the daily profile
	weeklyWeeks     = 4                 // weeks in the weekly profile
	minSeasons      = 3                 // values a profile needs
	dailyLevelH     = 3                 // hours behind the level of the daily baseline
	weeklyLevelH    = 72                // and of the weekly one
	calibHours      = 7 * 24            // hours whose prediction errors calibrate the level error
	calibMin        = 24                // usable hours needed for that
	calibN          = 100               // executions an hour needs to be usable
	minHourMinutes  = 30                // minutes an hour of throughput needs to be a profile value
	disturbedHour   = 15                // anomalous minutes that keep an hour out of calibration
)

// Baseline modes of an hour.
const (
	modeNone = iota
	modeDaily
	modeWeekly
)

// metricKind is what differs between metrics: the scale y on which minutes
// are compared, the sampling noise on that scale, and how hours aggregate.
type metricKind struct {
	toY      func(v, n float64) float64
	fromY    func(y, n float64) float64
	meanY    func(e, n float64) float64 // expected y of a minute whose expected value is e, with n behind it
	noise    func(e, n float64) float64 // sampling standard deviation of y
	floorY   float64                    // least standard deviation of y
	minN     float64                    // executions needed to judge a minute
	overlap  float64                    // minutes sharing executions (trailing windows)
	minDisp  float64                    // least dispersion factor
	initDisp float64                    // dispersion assumed before any is measured
	upSkew   func(n float64) float64    // how much wider the noise is upwards (nil: not)
	ratio    bool                       // level is a ratio of rates (throughput); else a shift in y
	lvlFloor [3]float64                 // least level error, by mode
	hourVar  func(n float64) float64    // sampling variance of an hour's profile value
	agg      func(v float64) float64    // what an hour sums of its minutes, weighted
	value    func(mean float64) float64 // an hour's profile value from its weighted mean
}

var metricKinds = map[Metric]*metricKind{
	// Counts are Poisson-like: on the square-root (Anscombe) scale their
	// noise is 1/2 whatever the rate, and the long right tail of small
	// counts does not look like an outlier.
	Throughput: {
		toY:      func(v, _ float64) float64 { return math.Sqrt(math.Max(v, 0) + 0.375) },
		fromY:    func(y, _ float64) float64 { return math.Max(0, y*y-0.375) },
		meanY:    func(e, _ float64) float64 { return poissonMeanSqrt(e) },
		noise:    func(float64, float64) float64 { return 0.5 },
		minDisp:  1,
		initDisp: 1.2,
		overlap:  1,
		ratio:    true,
		lvlFloor: [3]float64{0, 0.10, 0.03},
		hourVar:  func(n float64) float64 { return 1 / n },
		agg:      sameValue,
		value:    sameValue,
	},
	// Proportions are binomial: on the arcsine square-root scale their noise
	// is 1/(2√N), which is √(p(1-p)/N) translated, and stays finite at p = 0.
	// Anscombe's 3/8 keeps a minute without errors from looking far out when
	// only a few were expected.
	ErrorRate: {
		toY:      anscombeAsin,
		fromY:    fromAnscombeAsin,
		meanY:    binomialMeanAsin,
		noise:    func(_, n float64) float64 { return 1 / (2 * math.Sqrt(n)) },
		floorY:   0.005,
		minN:     minJudgeN,
		overlap:  5,
		minDisp:  1,
		initDisp: 1.2,
		lvlFloor: [3]float64{0, 0.03, 0.01},
		hourVar:  func(n float64) float64 { return 1 / (4 * n) },
		agg:      sameValue,
		value:    func(p float64) float64 { return math.Asin(math.Sqrt(clampTo(p, 0, 1))) },
	},
	DurationP95:  logKind(),
	QueueWaitP95: logKind(),
}

// logKind compares p95s on a log scale: their noise is relative, about
// c/√N for a sample of N, c depending on the spread (about 1 for a
// lognormal run time with σ = 0.5); the dispersion factor learns c. A high
// order statistic of a small sample is skewed: its right tail is longer
// (five deviations up are 100 times likelier than for a normal variable
// at N = 20..100), so rises are measured against a noise 1 + 2/√N wider.
func logKind() *metricKind {
	return &metricKind{
		toY:      func(v, _ float64) float64 { return math.Log(math.Max(v, 1)) },
		fromY:    func(y, _ float64) float64 { return math.Exp(y) },
		meanY:    func(e, _ float64) float64 { return math.Log(math.Max(e, 1)) },
		noise:    func(_, n float64) float64 { return 1 / math.Sqrt(n) },
		floorY:   0.02,
		minN:     minJudgeN,
		overlap:  5,
		minDisp:  0.5,
		initDisp: 2,
		upSkew:   func(n float64) float64 { return 1 + 2/math.Sqrt(n) },
		lvlFloor: [3]float64{0, 0.10, 0.03},
		hourVar:  func(n float64) float64 { return 1 / n },
		agg:      func(v float64) float64 { return math.Log(math.Max(v, 1)) },
		value:    sameValue,
	}
}

func sameValue(x float64) float64 { return x }

// hourSlot is one hour of history. Raw sums hold what was observed; clean
// sums what the baseline learns from, each minute clipped to within winsor
// deviations of what was expected of it.
type hourSlot struct {
	h       int64   // hour number (Unix hours); the slot is empty unless it matches
	w, wv   float64 // raw weight and weighted sum
	cw, cwv float64 // clean weight and weighted sum
	n       float64 // executions behind the hour
	anom    int     // anomalous minutes
	prof    float64 // profile value predicted for the hour (NaN: none)
	lvl     float64 // level in force during it
	res     float64 // its prediction error (NaN: not usable)
}

// hourModel is the baseline of the current hour.
type hourModel struct {
	h    int64
	mode int
	prof [3]float64 // profile of the hour before, this hour, the hour after
	lvl  float64
	sigL float64 // level error, in the scale of the profile
}

// Series is one metric of one scope (a workspace, or one agent in it). Not safe for concurrent use.
type Series struct {
	metric Metric
	k      *metricKind
	hours  []hourSlot

	start, end time.Time // span of the history
	seeded     bool
	lastSeed   int64
	minutes    bool      // a minute has been added
	last       time.Time // the last minute added
	cur        hourModel
	since      int64 // hour from which the level is read (the start of the last accepted change)
	// rawFrom..rawTo are the hours of the last accepted change: the level
	// reads what they observed, not what the baseline learnt of them.
	rawFrom, rawTo int64

	robust robustWindow // y of recent minutes, clipped
	sus    []sustained  // residuals of the last sustainSpan

	// Dispersion: the noise is phi times the sampling noise. It is a running
	// variance over about dispMemory minutes: a window of minutes would be
	// too short at night, when few are judged and those few share
	// executions.
	dispVar, dispN float64
	phi            float64
	lagT           [5]int64 // the last minutes' residuals, by minute modulo the overlap
	lagU           [5]float64

	open    *openFinding
	pending *openFinding // opened by a minute that closed the one before; reported next minute
	held    *heldMinute  // a drop waiting for the next minute to confirm it
	// accepted is the change last taken as the new normal, kept for
	// revertWithin in case the series returns to the level it replaced.
	accepted *acceptance
}

type acceptance struct {
	at    time.Time
	dir   float64
	mode  int
	lvl   float64 // the level it replaced
	since int64
}

type sustained struct {
	t    int64 // Unix minute
	r, v float64
}

type openFinding struct {
	f          Finding
	dir        float64
	sumU, cntU float64 // deviations of its minutes, in standard deviations, for its level
	evid       float64 // evidence (log likelihood ratio) that the series is back to normal
	quiet      int
	lastJudged time.Time
}

type heldMinute struct {
	t     time.Time
	a     Assessment
	z1    float64
	basis string
}

// NewSeries returns an empty series of metric m.
func NewSeries(m Metric) *Series {
	k := metricKinds[m]
	if k == nil {
		k = metricKinds[Throughput]
	}
	s := &Series{metric: m, k: k, hours: make([]hourSlot, ringHours), lastSeed: math.MinInt64, rawFrom: 1}
	s.phi, s.dispVar = k.initDisp, k.initDisp*k.initDisp
	for i := range s.hours {
		s.hours[i].h = math.MinInt64
	}
	return s
}

// SeedHour adds one hour of history older than any minute added so far, as read from hour
// rollups: throughput value = the hour's count / 60 (a per-minute rate), N = hour count;
// error rate: the hour's rate and its denominator; p95s: the hour's p95 and its count.
// Hours must be given oldest first; gaps allowed. Hours out of order, or not older than the
// hour of the first minute added, are ignored. A throughput hour missing between two seeded
// hours counts as zero.
func (s *Series) SeedHour(start time.Time, value, n float64) {
	h := unixHour(start)
	if (s.seeded && h <= s.lastSeed) || (s.minutes && h >= unixHour(s.start)) || notFinite(value) || notFinite(n) {
		return
	}
	if s.k.ratio && s.seeded {
		for g := max(s.lastSeed+1, h-ringHours); g < h; g++ {
			s.seedHour(g, 0, 0)
		}
	}
	s.seedHour(h, value, n)
}

func (s *Series) seedHour(h int64, value, n float64) {
	s.openHour(h, false)
	sl := s.slot(h)
	switch {
	case s.k.ratio:
		sl.w, sl.wv, sl.n = 60, math.Max(value, 0)*60, math.Max(n, 0)
	case n > 0:
		sl.w, sl.wv, sl.n = n, n*s.k.agg(value), n
	}
	sl.cw, sl.cwv = sl.w, sl.wv
	s.closeHour(h)
	t := time.Unix(h*3600, 0).UTC()
	if !s.seeded {
		s.start = t
	}
	if !s.minutes {
		s.end = t.Add(time.Hour)
	}
	s.seeded, s.lastSeed = true, h
}

// Add feeds the next minute (strictly increasing T; gaps allowed and mean no data except for
// throughput, where a gap of minutes means those minutes were 0 — callers normally send every
// minute). It returns the minute's assessment and, when a finding opened, grew, escalated or
// closed at this minute, that finding (a copy; Ongoing false once closed). Add also folds the
// minute into the series' own hourly history, so seeding is needed only once.
//
// The zero minutes of a throughput gap enter the history but are not judged. A point whose T
// is not after the last one is ignored. When one minute ends a finding and starts one in the
// other direction, Add returns the ended one and the next call the new one.
func (s *Series) Add(p Point) (Assessment, *Finding) {
	t := p.T.UTC().Truncate(time.Minute)
	if s.minutes && !t.After(s.last) {
		return Assessment{T: t, Observed: p.Value, Baseline: BaselineNone}, nil
	}
	var rep *Finding
	if s.k.ratio && s.minutes {
		g := s.last.Add(time.Minute)
		if oldest := t.Add(-ringHours * time.Hour); g.Before(oldest) {
			g = oldest
		}
		for ; g.Before(t); g = g.Add(time.Minute) {
			if _, f := s.step(g, 0, 0, false); f != nil {
				rep = f
			}
		}
	}
	v, n := p.Value, p.N
	if notFinite(v) || notFinite(n) {
		v, n = 0, 0
	}
	if s.k.ratio {
		v = math.Max(v, 0)
		n = v
	}
	a, f := s.step(t, v, n, true)
	if f != nil {
		rep = f
	}
	return a, rep
}

// Baseline is what the next minute would be compared with.
func (s *Series) Baseline() string {
	next := s.end
	if s.minutes {
		next = s.last.Add(time.Minute)
	}
	h := unixHour(next)
	mode, prof := s.cur.mode, s.cur.prof[1]
	if h != s.cur.h || !s.minutes {
		mode, prof = s.modeAt(h)
	}
	if mode != modeNone && !math.IsNaN(prof) {
		return BaselineSeasonal
	}
	if s.robust.countAfter(next.Add(-robustSpan).Unix()/60) >= robustMin {
		return BaselineRobust
	}
	return BaselineNone
}

// HistoryHours is how much history the series has: from its first seeded
// hour or minute to the end of its last.
func (s *Series) HistoryHours() float64 {
	if !s.seeded && !s.minutes {
		return 0
	}
	return s.end.Sub(s.start).Hours()
}

// judgement is the baseline's view of one minute.
type judgement struct {
	name      string
	e, ey     float64 // expected value, and expected y
	sd1, sdM  float64 // standard deviation of a minute's y, and its noise part
	sdL       float64 // level error in y
	sustained bool    // slow changes are judged too
}

func (s *Series) baselineAt(t time.Time, n float64) (judgement, bool) {
	m := &s.cur
	if m.mode != modeNone && !math.IsNaN(m.prof[1]) {
		p := s.interpolate(t)
		e := s.applyLevel(p, m.lvl)
		sdM := math.Max(s.k.noise(e, n)*s.phi, s.k.floorY)
		sdL := m.sigL
		if s.k.ratio {
			sdL = math.Sqrt(e) * m.sigL / 2 // a relative error on the square-root scale
		}
		return judgement{name: BaselineSeasonal, e: e, ey: s.k.meanY(e, n), sd1: math.Hypot(sdM, sdL),
			sdM: sdM, sdL: sdL, sustained: m.mode == modeWeekly}, true
	}
	if y, sd, ok := s.robust.baseline(t.Unix()/60 - int64(robustSpan/time.Minute/2)); ok {
		e := s.k.fromY(y, n)
		noise := math.Max(s.k.noise(e, n)*s.phi, s.k.floorY)
		return judgement{name: BaselineRobust, e: e, ey: y, sd1: math.Max(sd, noise), sdM: noise}, true
	}
	return judgement{}, false
}

// interpolate reads the profile at minute t between the centres of the
// hours around it, so the shape of a daily cycle within an hour is not
// mistaken for a change. A trailing window's centre is earlier than its
// last minute.
func (s *Series) interpolate(t time.Time) float64 {
	p := s.cur.prof
	off := float64(t.Minute()) + 0.5 - (s.k.overlap-1)/2
	pos := off/60 - 0.5
	switch {
	case pos < 0 && !math.IsNaN(p[0]):
		return p[1] + (p[0]-p[1])*(-pos)
	case pos > 0 && !math.IsNaN(p[2]):
		return p[1] + (p[2]-p[1])*pos
	}
	return p[1]
}

func (s *Series) applyLevel(p, lvl float64) float64 {
	if s.k.ratio {
		return math.Max(p*lvl, 0)
	}
	return s.k.fromY(p+lvl, math.Inf(1))
}

// step judges minute t when judge is set (else only records it), folds it
// into the history and runs the finding state machine.
func (s *Series) step(t time.Time, v, n float64, judge bool) (Assessment, *Finding) {
	if h := unixHour(t); !s.minutes || h != s.cur.h {
		if s.minutes {
			s.closeHour(s.cur.h)
		}
		s.openHour(h, true)
	}
	if !s.minutes {
		s.minutes = true
		if !s.seeded {
			s.start = t
		}
	}
	s.last, s.end = t, t.Add(time.Minute)
	tm := t.Unix() / 60
	s.robust.expire(tm - int64(robustSpan/time.Minute))
	s.expireSustained(tm)

	var rep *Finding
	if s.pending != nil {
		s.open, s.pending = s.pending, nil
		rep = s.report()
	}
	a := Assessment{T: t, Observed: v, Baseline: BaselineNone}
	has := s.k.ratio || n > 0
	b, ok := s.baselineAt(t, math.Max(n, 1))
	if ok {
		a.Expected, a.Baseline = b.e, b.name
	}
	if !judge || !has || n < s.k.minN || !ok {
		if has {
			s.fold(t, v, n, v, false)
			if n >= s.k.minN {
				y := s.k.toY(v, n)
				s.robust.push(tm, y, y)
			}
		}
		if s.open != nil && t.Sub(s.open.lastJudged) >= noDataClose {
			rep = s.close()
		}
		return a, rep
	}

	a.Judged = true
	y := s.k.toY(v, n)
	r, z1, meanR, score, bySustained := s.score(tm, y, n, b)
	if nb, ok := s.revert(t, y, n, b, score); ok {
		b = nb
		a.Expected = b.e
		r, z1, meanR, score, bySustained = s.score(tm, y, n, b)
	}
	a.Score = score

	anom, f := s.decide(t, a, b, z1, meanR/b.sd1, bySustained)
	if f != nil {
		rep = f
	}
	if !anom {
		s.learnDispersion(tm, r/math.Max(s.k.noise(b.e, n), s.k.floorY))
	}
	// The baseline learns the minute clipped, an anomalous one to within one
	// deviation: a burst cannot drag the baseline along, yet a lasting
	// change (or a baseline gone wrong) still pulls it, a little each minute.
	lim := winsor * b.sd1
	if anom {
		lim = winsorAnomalous * b.sdM
	}
	cy := b.ey + clampTo(r, -lim, lim)
	s.fold(t, v, n, s.k.fromY(cy, n), anom)
	s.robust.push(tm, cy, y)

	if s.open != nil && anom && t.Add(time.Minute).Sub(s.open.f.Start) >= acceptAfter {
		start, dir := s.open.f.Start, s.open.dir
		rep = s.close()
		s.accept(t, start, dir)
	}
	return a, rep
}

// score judges y, the minute tm's value on its scale, against baseline b:
// its residual, its own score z1, the mean residual of the sustained
// window, and the minute's score, which is the sustained score
// (bySustained) when that is stronger and on the minute's side.
func (s *Series) score(tm int64, y, n float64, b judgement) (r, z1, meanR, score float64, bySustained bool) {
	var zW float64
	r = y - b.ey
	z1 = r / b.sd1
	if r > 0 && s.k.upSkew != nil {
		// Widen the noise part of the deviation, not the rest.
		w := s.k.upSkew(n)
		z1 = r / math.Sqrt(b.sd1*b.sd1+b.sdM*b.sdM*(w*w-1))
	}
	if b.sustained {
		if len(s.sus) > 0 && s.sus[len(s.sus)-1].t == tm {
			s.sus = s.sus[:len(s.sus)-1] // judged again
		}
		if math.Abs(z1) < WarningScore {
			s.sus = append(s.sus, sustained{tm, r, b.sdM * b.sdM})
		}
		zW, meanR = s.sustainedScore(b)
	}
	score = z1
	if bySustained = math.Abs(zW) > math.Abs(z1) && zW*r > 0; bySustained {
		score = zW
	}
	return r, z1, meanR, score, bySustained
}

// sustainedScore is the mean residual of the last sustainSpan in standard
// deviations of such a mean: sampling noise shrinks with the minutes (of
// which trailing windows share executions), the level error does not.
func (s *Series) sustainedScore(b judgement) (z, mean float64) {
	if len(s.sus) < sustainMin {
		return 0, 0
	}
	var sr, sv float64
	for _, x := range s.sus {
		sr += x.r
		sv += x.v
	}
	cnt := float64(len(s.sus))
	eff := math.Max(1, cnt/s.k.overlap)
	mean = sr / cnt
	return mean / math.Sqrt(sv/cnt/eff+b.sdL*b.sdL), mean
}

// learnDispersion folds the residual u of a normal minute tm, in units of
// sampling noise, into the running noise variance. It uses the difference
// with the residual one window earlier (the windows of trailing metrics do
// not share executions then): a change of level, which would pass for
// noise in the spread of the residuals themselves, cancels out of it.
// Differences beyond six deviations are clipped.
func (s *Series) learnDispersion(tm int64, u float64) {
	lag := int64(s.k.overlap)
	i := tm % lag
	prevT, prevU := s.lagT[i], s.lagU[i]
	s.lagT[i], s.lagU[i] = tm, u
	if prevT != tm-lag {
		return
	}
	alpha := 1 / math.Min(dispPrior+s.dispN, dispMemory)
	s.dispN++
	lim := 6 * math.Sqrt(s.dispVar)
	d := clampTo((u-prevU)/math.Sqrt2, -lim, lim)
	s.dispVar = (1-alpha)*s.dispVar + alpha*d*d
	s.phi = math.Max(math.Sqrt(s.dispVar), s.k.minDisp)
}

func (s *Series) expireSustained(tm int64) {
	i := 0
	for i < len(s.sus) && s.sus[i].t <= tm-int64(sustainSpan/time.Minute) {
		i++
	}
	if i > 0 {
		s.sus = append(s.sus[:0], s.sus[i:]...)
	}
}

// needsConfirming says a minute's score opens a finding only if the minute
// before was as far out the same way: a moderate drop in a single minute.
// Counts cannot go below zero, and near zero the square-root scale leaves
// their lower tail long, so one low minute is weak evidence; rises must be
// caught in their first minute and are not held back.
func needsConfirming(score float64, bySustained bool) bool {
	return score < 0 && score > -CriticalScore && !bySustained
}

// decide runs the finding state machine on a judged minute and reports
// whether the minute is anomalous (it opened or extended a finding).
// lvl is the mean deviation of the sustained window, in the minute's
// standard deviations; bySustained says the minute's score is that of the
// sustained window.
func (s *Series) decide(t time.Time, a Assessment, b judgement, z1, lvl float64, bySustained bool) (bool, *Finding) {
	held := s.held
	s.held = nil
	if held != nil && !held.t.Equal(t.Add(-time.Minute)) {
		held = nil
	}
	score := a.Score
	o := s.open
	if o == nil {
		if math.Abs(score) < WarningScore {
			return false, nil
		}
		if needsConfirming(score, bySustained) && held == nil {
			s.held = &heldMinute{t: t, a: a, z1: z1, basis: b.name}
			return false, nil
		}
		level := z1
		if bySustained {
			level = lvl
		}
		s.open = s.newFinding(t, a, b.name, math.Abs(level), held)
		return true, s.report()
	}
	o.lastJudged = t
	d := o.dir
	if -d*score >= WarningScore {
		if needsConfirming(score, bySustained) && held == nil {
			s.held = &heldMinute{t: t, a: a, z1: z1, basis: b.name}
		} else {
			// Turned the other way: this minute ends one finding and, reported
			// at the next minute, begins the other.
			rep := s.close()
			s.pending = s.newFinding(t, a, b.name, math.Abs(z1), held)
			return true, rep
		}
	}
	u := d * z1
	m := math.Max(1, o.sumU/o.cntU)
	o.sumU += u
	o.cntU++
	// Log likelihood ratio of this minute under "back to normal" (mean 0)
	// against "still at the finding's level" (mean m); trailing windows
	// share executions, so their minutes count for a share of one.
	llr := m * (m/2 - u) / s.k.overlap
	if u >= WarningScore || u >= m/2 {
		o.f.End = t.Add(time.Minute)
		o.quiet = 0
		if u >= WarningScore {
			o.evid = 0
		} else {
			o.evid = math.Max(0, o.evid+llr)
		}
		if d*score > d*o.f.Score {
			setExtreme(o, a, b.name)
		}
		return true, s.report()
	}
	o.evid = math.Max(0, o.evid+llr)
	o.quiet++
	if o.evid >= closeEvidence && o.quiet >= closeQuiet {
		return false, s.close()
	}
	return false, nil
}

// newFinding opens a finding at minute t, or at the held minute before it
// that it confirms.
func (s *Series) newFinding(t time.Time, a Assessment, basis string, level float64, held *heldMinute) *openFinding {
	d, dir := 1.0, dirUp
	if a.Score < 0 {
		d, dir = -1, dirDown
	}
	o := &openFinding{dir: d, sumU: level, cntU: 1, lastJudged: t}
	o.f = Finding{Metric: s.metric, Direction: dir, Start: t, End: t.Add(time.Minute), Ongoing: true}
	setExtreme(o, a, basis)
	if held != nil && held.a.Score*d > 0 {
		o.f.Start = held.t
		o.sumU += math.Abs(held.z1)
		o.cntU++
		if d*held.a.Score > d*a.Score {
			setExtreme(o, held.a, held.basis)
		}
	}
	return o
}

func setExtreme(o *openFinding, a Assessment, basis string) {
	o.f.Observed, o.f.Expected, o.f.Score, o.f.Baseline = a.Observed, a.Expected, a.Score, basis
	o.f.Severity = sevWarning
	if math.Abs(a.Score) >= CriticalScore {
		o.f.Severity = sevCritical
	}
}

func (s *Series) report() *Finding {
	f := s.open.f
	return &f
}

// close ends the open finding. The sustained window is emptied, so a
// finding needs fresh evidence to open again.
func (s *Series) close() *Finding {
	f := s.open.f
	f.Ongoing = false
	s.open = nil
	s.sus = s.sus[:0]
	return &f
}

// accept makes a change that began at start the new normal at minute t:
// the level is read from the hours since then alone, as observed. The
// level it replaces is kept for a day, for revert.
func (s *Series) accept(t, start time.Time, dir float64) {
	from := unixHour(start)
	s.accepted = &acceptance{at: t, dir: dir, mode: s.cur.mode, lvl: s.cur.lvl, since: s.since}
	s.robust.useRawSince(start.Unix() / 60)
	s.since, s.rawFrom, s.rawTo = from, from, s.cur.h
	if s.cur.mode != modeNone {
		s.cur.lvl, _ = s.level(from, s.cur.h, s.cur.mode)
	}
}

// revert undoes the change accepted in the last day when minute t, about
// to open a finding the other way, is back at the level the change
// replaced: the change is over, and the old normal is not news. It returns
// the baseline at the old level.
func (s *Series) revert(t time.Time, y, n float64, b judgement, score float64) (judgement, bool) {
	ac := s.accepted
	if ac == nil {
		return b, false
	}
	if t.Sub(ac.at) > revertWithin || ac.mode == modeNone || s.cur.mode != ac.mode {
		s.accepted = nil
		return b, false
	}
	if math.Abs(score) < WarningScore || score*ac.dir > 0 || s.open != nil {
		return b, false
	}
	e := s.applyLevel(s.interpolate(t), ac.lvl)
	ey := s.k.meanY(e, n)
	if math.Abs(y-ey) >= WarningScore*b.sd1 {
		return b, false
	}
	s.cur.lvl, s.since, s.accepted = ac.lvl, ac.since, nil
	s.rawFrom, s.rawTo = 1, 0
	s.sus = s.sus[:0]
	b.e, b.ey = e, ey
	return b, true
}

// fold adds a minute to its hour: v as observed, clean as the baseline
// learns it.
func (s *Series) fold(t time.Time, v, n, clean float64, anom bool) {
	sl := s.slot(unixHour(t))
	switch {
	case s.k.ratio:
		sl.w++
		sl.wv += v
		sl.cw++
		sl.cwv += clean
		sl.n += v
	case n > 0:
		sl.w += n
		sl.wv += n * s.k.agg(v)
		sl.cw += n
		sl.cwv += n * s.k.agg(clean)
		sl.n += n / s.k.overlap
	}
	if anom {
		sl.anom++
	}
}

// openHour starts hour h: its profile, the level in force and, for an hour
// of minutes, the model they are judged with.
func (s *Series) openHour(h int64, minutes bool) {
	sl := s.slot(h)
	mode, p := s.modeAt(h)
	lvl, covered := s.neutral(), 0
	if mode == modeWeekly {
		// The first hours with three weeks behind them have few earlier hours
		// with a weekly profile to read the level from: the daily baseline
		// serves until half of the level's hours have one.
		from := max(h-weeklyLevelH, s.since)
		if lvl, covered = s.level(from, h-1, mode); covered < int(h-from)/2 {
			mode, p = modeDaily, s.profileAt(h, modeDaily)
			if math.IsNaN(p) {
				mode = modeNone
			}
		}
	}
	if mode == modeDaily {
		lvl, _ = s.level(max(h-dailyLevelH, s.since), h-1, mode)
	}
	sl.prof, sl.lvl = p, lvl
	if !minutes {
		return
	}
	s.cur = hourModel{h: h, mode: mode, lvl: lvl, prof: [3]float64{math.NaN(), p, math.NaN()}}
	if mode == modeNone {
		return
	}
	s.cur.prof[0] = s.profileAt(h-1, mode)
	s.cur.prof[2] = s.profileAt(h+1, mode)
	s.cur.sigL = s.calibrate(h, mode)
	if mode == modeDaily {
		// The daily level follows the last hours, so it lags when the level
		// moves (into and out of a weekend): count how far it moved from the
		// three hours before as error too.
		if prev, n := s.level(h-2*dailyLevelH, h-dailyLevelH-1, mode); n >= 2 {
			moved := lvl - prev
			if s.k.ratio {
				moved = math.Log(lvl / prev)
			}
			s.cur.sigL = math.Hypot(s.cur.sigL, moved)
		}
	}
}

// closeHour records how far the hour's clean value was from its
// prediction.
func (s *Series) closeHour(h int64) {
	sl := s.slotIf(h)
	if sl == nil {
		return
	}
	sl.res = math.NaN()
	if math.IsNaN(sl.prof) || sl.anom >= disturbedHour || sl.n < calibN || sl.cw == 0 {
		return
	}
	if s.k.ratio {
		pred := sl.prof * sl.lvl * sl.cw
		if pred > 0 && sl.cwv > 0 {
			sl.res = math.Log(sl.cwv / pred)
		}
		return
	}
	sl.res = s.value(sl) - (sl.prof + sl.lvl)
}

// value is an hour's clean profile value: a rate per minute for throughput,
// y for the others.
func (s *Series) value(sl *hourSlot) float64 {
	return s.k.value(sl.cwv / sl.cw)
}

// usable reports whether an hour has enough data to be a profile value.
func (s *Series) usable(sl *hourSlot) bool {
	if sl == nil || sl.cw == 0 {
		return false
	}
	if s.k.ratio {
		return sl.cw >= minHourMinutes
	}
	return sl.n >= minJudgeN
}

// modeAt picks the baseline of hour h: weekly when three earlier weeks have
// it, else daily when three earlier days do.
func (s *Series) modeAt(h int64) (int, float64) {
	if p := s.profileAt(h, modeWeekly); !math.IsNaN(p) {
		return modeWeekly, p
	}
	if p := s.profileAt(h, modeDaily); !math.IsNaN(p) {
		return modeDaily, p
	}
	return modeNone, math.NaN()
}

// profileAt is the median of hour h's clean values on earlier days (or
// weeks); NaN when fewer than minSeasons have data.
func (s *Series) profileAt(h int64, mode int) float64 {
	var buf [dailyDays]float64
	vals := buf[:0]
	step, count := int64(24), dailyDays
	if mode == modeWeekly {
		step, count = 24*7, weeklyWeeks
	}
	for i := 1; i <= count; i++ {
		if sl := s.slotIf(h - int64(i)*step); s.usable(sl) {
			vals = append(vals, s.value(sl))
		}
	}
	if len(vals) < minSeasons {
		return math.NaN()
	}
	return medianOf(vals)
}

func (s *Series) neutral() float64 {
	if s.k.ratio {
		return 1
	}
	return 0
}

// level is how far hours from..to ran from their profile in mode (a ratio
// of their counts for throughput, a mean shift in y for the others), and
// how many hours it was read from. Hours weigh by their data, n/(n+100),
// so busy and quiet hours count about alike and a slow change of the busy
// hours of one day moves it little. The profile is read afresh in the mode
// asked for, so a switch from daily to weekly does not carry a level
// measured against the other. Pseudo-counts pull the level to neutral when
// those hours hold little data.
func (s *Series) level(from, to int64, mode int) (lvl float64, covered int) {
	var num, den float64
	if s.k.ratio {
		num, den = 30, 30
	} else {
		den = 1
	}
	for h := from; h <= to; h++ {
		sl := s.slotIf(h)
		if sl == nil || sl.cw == 0 {
			continue
		}
		prof := s.profileAt(h, mode)
		if math.IsNaN(prof) {
			continue
		}
		w, wv := sl.cw, sl.cwv
		if h >= s.rawFrom && h <= s.rawTo {
			w, wv = sl.w, sl.wv
		}
		if s.k.ratio {
			num += wv
			den += prof * w
			covered++
		} else if sl.n >= minJudgeN {
			weight := sl.n / (sl.n + 100)
			num += weight * (s.k.value(wv/w) - prof)
			den += weight
			covered++
		}
	}
	if s.k.ratio {
		return clampTo(num/den, 0.2, 5), covered
	}
	return num / den, covered
}

// calibrate is the level error of hour h's baseline: the variance of the
// past week's hourly prediction errors beyond their sampling variance v
// (the Paule-Mandel estimate: the τ² for which the errors, each divided by
// its variance τ² + v, have a mean square of 1), and at least the floor
// of the mode. v is the hour's sampling variance times the dispersion
// learnt from minutes.
func (s *Series) calibrate(h int64, mode int) float64 {
	floor := s.k.lvlFloor[mode]
	type miss struct{ r2, v float64 }
	var buf [calibHours]miss
	misses := buf[:0]
	var sum float64
	for j := h - calibHours; j < h; j++ {
		if sl := s.slotIf(j); sl != nil && !math.IsNaN(sl.res) {
			misses = append(misses, miss{sl.res * sl.res, s.phi * s.phi * s.k.hourVar(sl.n)})
			sum += sl.res * sl.res
		}
	}
	k := float64(len(misses))
	if k < calibMin {
		return floor
	}
	excess := func(tau2 float64) float64 {
		var q float64
		for _, m := range misses {
			q += m.r2 / (tau2 + m.v)
		}
		return q - k
	}
	lo, hi := 0.0, sum/k
	if excess(lo) <= 0 {
		return floor
	}
	for range 40 {
		mid := (lo + hi) / 2
		if excess(mid) > 0 {
			lo = mid
		} else {
			hi = mid
		}
	}
	return math.Max(floor, math.Sqrt(hi))
}

// slot returns hour h's slot, emptied if it held an older hour.
func (s *Series) slot(h int64) *hourSlot {
	sl := &s.hours[ringIndex(h)]
	if sl.h != h {
		*sl = hourSlot{h: h, prof: math.NaN(), res: math.NaN()}
	}
	return sl
}

// slotIf returns hour h's slot, or nil when the history does not hold it.
func (s *Series) slotIf(h int64) *hourSlot {
	if sl := &s.hours[ringIndex(h)]; sl.h == h {
		return sl
	}
	return nil
}

func ringIndex(h int64) int64 {
	i := h % ringHours
	if i < 0 {
		i += ringHours
	}
	return i
}

func unixHour(t time.Time) int64 {
	u := t.Unix()
	if u < 0 {
		return (u - 3599) / 3600
	}
	return u / 3600
}

func notFinite(x float64) bool { return math.IsNaN(x) || math.IsInf(x, 0) }

func clampTo(x, lo, hi float64) float64 { return math.Min(math.Max(x, lo), hi) }

// poissonMeanSqrt is E[√(X+3/8)] for X Poisson with mean l. It is below
// √(l+3/8), markedly so for small l, and comparing minutes with the naive
// value would make quiet minutes look low.
func poissonMeanSqrt(l float64) float64 {
	if l <= 0 {
		return math.Sqrt(0.375)
	}
	if l >= 10 {
		// Second-order expansion, within 0.005 of the exact sum from here.
		c := l + 0.375
		return math.Sqrt(c) - l/(8*c*math.Sqrt(c))
	}
	p, sum := math.Exp(-l), 0.0
	kmax := int(l + 12*math.Sqrt(l) + 12)
	for k := 0; k <= kmax; k++ {
		sum += p * math.Sqrt(float64(k)+0.375)
		p *= l / float64(k+1)
	}
	return sum
}

// anscombeAsin is the error rate p of n executions on the arcsine scale,
// with Anscombe's correction: asin √((pn+3/8)/(n+3/4)).
func anscombeAsin(p, n float64) float64 {
	return math.Asin(math.Sqrt((clampTo(p, 0, 1)*n + 0.375) / (n + 0.75)))
}

// fromAnscombeAsin inverts anscombeAsin; with n infinite it inverts the
// plain asin √p of the hourly profile.
func fromAnscombeAsin(y, n float64) float64 {
	s := math.Sin(clampTo(y, 0, math.Pi/2))
	if math.IsInf(n, 1) {
		return s * s
	}
	return clampTo((s*s*(n+0.75)-0.375)/n, 0, 1)
}

// binomialMeanAsin is the expected anscombeAsin of X/n for X binomial(n, p):
// exact when few errors are expected, where it differs most from asin √p;
// else halfway between asin √p and anscombeAsin(p, n), within 0.02
// deviations of the exact value.
func binomialMeanAsin(p, n float64) float64 {
	p = clampTo(p, 0, 1)
	n = math.Round(n)
	if n < 1 {
		return math.Asin(math.Sqrt(p))
	}
	if p > 0.5 {
		// The transform is symmetric: y(1-p) = π/2 - y(p).
		return math.Pi/2 - binomialMeanAsin(1-p, n)
	}
	mu := n * p
	if mu >= 30 {
		return (math.Asin(math.Sqrt(p)) + anscombeAsin(p, n)) / 2
	}
	kmax := math.Min(n, math.Ceil(mu+12*math.Sqrt(mu)+12))
	pk, sum := math.Pow(1-p, n), 0.0
	for k := 0.0; k <= kmax; k++ {
		sum += pk * anscombeAsin(k/n, n)
		if p == 0 {
			break
		}
		pk *= (n - k) / (k + 1) * p / (1 - p)
	}
	return sum
}

// robustWindow holds the y of recent minutes in time order.
type robustWindow struct {
	items []robustItem
	buf   []float64
}

type robustItem struct {
	t      int64 // Unix minute
	v, raw float64
}

func (w *robustWindow) push(t int64, v, raw float64) {
	w.items = append(w.items, robustItem{t: t, v: v, raw: raw})
}

// expire drops the minutes at or before t.
func (w *robustWindow) expire(t int64) {
	i := 0
	for i < len(w.items) && w.items[i].t <= t {
		i++
	}
	if i > 0 {
		w.items = append(w.items[:0], w.items[i:]...)
	}
}

func (w *robustWindow) countAfter(t int64) int {
	c := 0
	for _, it := range w.items {
		if it.t > t {
			c++
		}
	}
	return c
}

// useRawSince replaces the clipped values from t on with the observed ones.
func (w *robustWindow) useRawSince(t int64) {
	for i := range w.items {
		if w.items[i].t >= t {
			w.items[i].v = w.items[i].raw
		}
	}
}

// baseline is the expected y and its standard deviation: the median of
// the minutes after split (the recent half of the window), with a spread
// that adds to the MAD of the whole window half the distance between the
// medians of its two halves. So a daily ramp, which moves the recent half
// away from the older one, widens the spread by the lag of the median
// instead of passing for a change.
func (w *robustWindow) baseline(split int64) (y, sd float64, ok bool) {
	if len(w.items) < robustMin {
		return 0, 0, false
	}
	w.buf = w.buf[:0]
	for _, it := range w.items {
		w.buf = append(w.buf, it.v)
	}
	all := medianOf(w.buf)
	for i := range w.buf {
		w.buf[i] = math.Abs(w.buf[i] - all)
	}
	mad := medianOf(w.buf)
	w.buf = w.buf[:0]
	for _, it := range w.items {
		if it.t <= split {
			w.buf = append(w.buf, it.v)
		}
	}
	older := len(w.buf)
	for _, it := range w.items {
		if it.t > split {
			w.buf = append(w.buf, it.v)
		}
	}
	if older < robustMin/3 || len(w.buf)-older < robustMin/3 {
		return all, 1.4826 * mad, true
	}
	m1, m2 := medianOf(w.buf[:older]), medianOf(w.buf[older:])
	return m2, math.Hypot(1.4826*mad, (m2-m1)/2), true
}

// medianOf returns the median of a, which it reorders.
func medianOf(a []float64) float64 {
	n := len(a)
	hi := kthSmallest(a, n/2)
	if n%2 == 1 {
		return hi
	}
	// After selection everything before n/2 is at most a[n/2].
	lo := a[0]
	for _, v := range a[1 : n/2] {
		lo = math.Max(lo, v)
	}
	return (lo + hi) / 2
}

// kthSmallest returns the k-th smallest (from 0) of a, reordering a so that
// a[k] holds it, the values before it are not larger and those after not
// smaller (quickselect, linear on average).
func kthSmallest(a []float64, k int) float64 {
	lo, hi := 0, len(a)-1
	for lo < hi {
		pivot := a[lo+(hi-lo)/2]
		i, j := lo, hi
		for i <= j {
			for a[i] < pivot {
				i++
			}
			for a[j] > pivot {
				j--
			}
			if i <= j {
				a[i], a[j] = a[j], a[i]
				i++
				j--
			}
		}
		switch {
		case k <= j:
			hi = j
		case k >= i:
			lo = i
		default:
			return a[k]
		}
	}
	return a[k]
}
