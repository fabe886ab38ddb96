package patterns

import (
	"errors"
	"math"
	"sort"
	"time"
)

// ForecastPoint is one hour ahead: its start, the executions expected to
// finish in it, and the 90% prediction interval (Lower >= 0).
type ForecastPoint struct {
	T                      time.Time
	Expected, Lower, Upper float64
}

// Forecast is the executions expected per hour after the end of a history.
type Forecast struct {
	Model        string // "seasonal_daily" or "seasonal_weekly" (two full weeks of history or more)
	HistoryHours int
	Series       []ForecastPoint
	// BacktestMAPE is the mean absolute percentage error, in percent, on the
	// last full day of history forecast from the days before it (hours whose
	// actual count is 0 are skipped); nil when that is not possible.
	BacktestMAPE *float64
}

// ErrShortHistory is returned for a history under 48 hours.
var ErrShortHistory = errors.New("patterns: a forecast needs 48 hours of history")

// Forecast models.
const (
	ModelDaily  = "seasonal_daily"
	ModelWeekly = "seasonal_weekly"
)

const (
	minForecastHours = 48      // history needed for any forecast
	weeklyAfterHours = 14 * 24 // and for the weekly season
	maxDailyCycles   = 7       // days the daily season is read from
	maxWeeklyCycles  = 4       // weeks the weekly season is read from
	dailyLevelHours  = 24      // hours the level is read from, daily model
	weeklyLevelHours = 72      // and weekly
	maxGrowthPerDay  = 0.10    // the trend is capped at 10% a day either way
	backtestDays     = 14      // past days forecast to calibrate the interval
	intervalLow      = 0.05    // the interval's quantiles of the past errors
	intervalHigh     = 0.95
)

// Hourly forecasts the horizon hours from end. history[i] is the count of executions finished in
// the hour starting at end - time.Duration(len(history)-i)*time.Hour (oldest first; end is hour aligned).
//
// The model is multiplicative: a seasonal shape (the hours of the day, or
// of the week once two full weeks are known) times a level read from the
// last 24 hours (72 for the weekly shape), growing at the trend of the
// recent days or weeks. The 90% interval comes from the errors this same
// method made forecasting each of the last backtestDays days from the days
// before it: their 5% and 95% quantiles, relative to the forecast. When no
// past day can be forecast (under three days of history) the interval is
// the Poisson noise plus 25% either way.
func Hourly(history []float64, end time.Time, horizon int) (*Forecast, error) {
	n := len(history)
	if n < minForecastHours {
		return nil, ErrShortHistory
	}
	x := make([]float64, n)
	for i, v := range history {
		if v > 0 && !math.IsInf(v, 1) {
			x[i] = v
		}
	}
	fc := &Forecast{Model: ModelDaily, HistoryHours: n, Series: []ForecastPoint{}}
	if n >= weeklyAfterHours {
		fc.Model = ModelWeekly
	}
	fit := fitSeasonal(x)

	// Relative errors of past days forecast from the days before them.
	var errs []float64
	days := 0
	for d := 1; d <= backtestDays; d++ {
		o := n - 24*d
		if o < minForecastHours {
			break
		}
		past := fitSeasonal(x[:o])
		days++
		var abs, cnt float64
		for h := range 24 {
			f, a := past.at(h), x[o+h]
			errs = append(errs, (a-f)/math.Max(f, 1))
			if d == 1 && a > 0 {
				abs += math.Abs(a-f) / a
				cnt++
			}
		}
		if d == 1 && cnt > 0 {
			mape := 100 * abs / cnt
			fc.BacktestMAPE = &mape
		}
	}
	sort.Float64s(errs)

	start := end.UTC().Truncate(time.Hour)
	for h := range max(horizon, 0) {
		f := fit.at(h)
		var lo, hi float64
		if len(errs) > 0 {
			// A few days' errors understate the spread of the next day's: widen
			// by √(1+2/days), as a prediction from a small sample must be.
			widen := math.Sqrt(1 + 2/float64(days))
			lo = f + widen*quantileSorted(errs, intervalLow)*math.Max(f, 1)
			hi = f + widen*quantileSorted(errs, intervalHigh)*math.Max(f, 1)
		} else {
			lo = f - 1.645*math.Sqrt(f) - 0.25*f
			hi = f + 1.645*math.Sqrt(f) + 0.25*f
		}
		fc.Series = append(fc.Series, ForecastPoint{
			T:        start.Add(time.Duration(h) * time.Hour),
			Expected: f,
			Lower:    math.Max(0, math.Min(lo, f)),
			Upper:    math.Max(hi, f),
		})
	}
	return fc, nil
}

// seasonalFit is a fitted model: forecast hour h (0 = the hour after the
// history) is level · e^(growth·(h+1)) · season[h mod period].
type seasonalFit struct {
	season []float64
	level  float64
	growth float64 // log growth per hour
}

func (m seasonalFit) at(h int) float64 {
	return math.Max(0, m.level*math.Exp(m.growth*float64(h+1))*m.season[h%len(m.season)])
}

// fitSeasonal fits x (at least minForecastHours long) with a daily season,
// or a weekly one from weeklyAfterHours.
func fitSeasonal(x []float64) seasonalFit {
	n := len(x)
	period, maxCycles, levelHours := 24, maxDailyCycles, dailyLevelHours
	if n >= weeklyAfterHours {
		period, maxCycles, levelHours = 24*7, maxWeeklyCycles, weeklyLevelHours
	}
	cycles := min(n/period, maxCycles)
	// cycle c covers x[n-(c+1)·period : n-c·period]; c = 0 is the latest.
	cycle := func(c int) []float64 { return x[n-(c+1)*period : n-c*period] }

	// Trend: the median of the growth rates between pairs of whole cycles
	// (Theil-Sen), so one odd day or week does not tilt it.
	var rates []float64
	for a := range cycles {
		for b := a + 1; b < cycles; b++ {
			ma, mb := meanOf(cycle(a)), meanOf(cycle(b))
			if ma > 0 && mb > 0 {
				rates = append(rates, math.Log(ma/mb)/float64((b-a)*period))
			}
		}
	}
	var growth float64
	if cycles >= 3 && len(rates) > 0 {
		sort.Float64s(rates)
		growth = clampTo(quantileSorted(rates, 0.5), -maxGrowthPerDay/24, maxGrowthPerDay/24)
	}
	// detrended is x[i] brought to the level of the last hour.
	detrended := func(i int) float64 { return x[i] * math.Exp(growth*float64(n-1-i)) }

	// Season: per phase, the detrended counts over the cycles' means (a ratio
	// of sums, so quiet cycles weigh little and zeros do no harm).
	season := make([]float64, period)
	var total float64
	for c := range cycles {
		base := n - (c+1)*period
		for p := range period {
			season[p] += detrended(base + p)
		}
	}
	for _, v := range season {
		total += v
	}
	for p := range season {
		if total > 0 {
			season[p] *= float64(period) / total
		} else {
			season[p] = 1
		}
	}
	// Phases count from the hour after the history: x[i] has phase (i-n) mod period.
	phase := func(i int) int { return ((i-n)%period + period) % period }

	// Level: the last hours' detrended counts over their season.
	var num, den float64
	for i := max(0, n-levelHours); i < n; i++ {
		num += detrended(i)
		den += season[phase(i)]
	}
	level := 0.0
	if den > 0 {
		level = num / den
	}
	// Cycles end with the history, so forecast hour h has phase h mod period.
	return seasonalFit{season: season, level: level, growth: growth}
}

func meanOf(a []float64) float64 {
	var s float64
	for _, v := range a {
		s += v
	}
	return s / float64(len(a))
}

// quantileSorted is the q quantile of sorted values, interpolating between
// ranks.
func quantileSorted(a []float64, q float64) float64 {
	pos := q * float64(len(a)-1)
	i := int(pos)
	if i+1 >= len(a) {
		return a[len(a)-1]
	}
	return a[i] + (a[i+1]-a[i])*(pos-float64(i))
}
