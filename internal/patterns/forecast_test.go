package patterns

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// hourlyHistory draws hourly counts from the synthetic load (daily and,
// when weekly, weekly cycles, 1% a day of growth, 4% day-to-day noise,
// Poisson counts) for hours hours from synthStart.
func hourlyHistory(seed uint64, hours int, peak float64, weekly bool) []float64 {
	rng := rand.New(rand.NewPCG(seed, seed*31+7))
	out := make([]float64, hours)
	day := 1.0
	for i := range out {
		t := synthStart.Add(time.Duration(i) * time.Hour)
		if i%24 == 0 {
			day = math.Exp(rng.NormFloat64() * synthDayNoise)
		}
		rate := 0.0
		for m := 0; m < 60; m += 10 {
			at := t.Add(time.Duration(m+5) * time.Minute)
			l := synthLoad(at)
			if !weekly {
				l /= weeklyShape(at)
			}
			rate += 10 * peak * l
		}
		rate *= day
		if rate > 1000 {
			// Poisson this large is normal to well within its own noise.
			out[i] = math.Max(0, math.Round(rate+math.Sqrt(rate)*rng.NormFloat64()))
		} else {
			out[i] = drawPoisson(rng, rate)
		}
	}
	return out
}

// forecastRun forecasts the day after each of several ends and scores it.
type forecastScore struct {
	runs           int
	ape, apeN      float64 // absolute percentage errors, summed, and their count
	inside, points float64 // actuals inside the interval
	backtest       float64 // BacktestMAPE, summed over runs
}

func (f *forecastScore) mape() float64     { return 100 * f.ape / f.apeN }
func (f *forecastScore) coverage() float64 { return f.inside / f.points }

func scoreForecasts(t *testing.T, historyHours int, weekly bool, seeds []uint64) (*forecastScore, string) {
	t.Helper()
	sc := &forecastScore{}
	model := ""
	for _, seed := range seeds {
		series := hourlyHistory(seed, 43*24, 80, weekly)
		// Ends at midnight on each of the last 7 days, so every weekday is forecast.
		for d := range 7 {
			end := 35*24 + d*24
			hist := series[end-historyHours : end]
			fc, err := Hourly(hist, synthStart.Add(time.Duration(end)*time.Hour), 24)
			if err != nil {
				t.Fatal(err)
			}
			model = fc.Model
			sc.runs++
			if fc.BacktestMAPE != nil {
				sc.backtest += *fc.BacktestMAPE
			}
			for h, p := range fc.Series {
				a := series[end+h]
				if a > 0 {
					sc.ape += math.Abs(a-p.Expected) / a
					sc.apeN++
				}
				if a >= p.Lower && a <= p.Upper {
					sc.inside++
				}
				sc.points++
			}
		}
	}
	return sc, model
}

// TestForecastQuality forecasts held-back days of synthetic series and
// measures the mean absolute percentage error and how often the actual
// count falls in the 90% interval.
func TestForecastQuality(t *testing.T) {
	seeds := []uint64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}
	var b strings.Builder
	fmt.Fprintf(&b, "\n%-16s %8s %-14s %5s %8s %9s %11s\n", "model", "history", "series", "days", "MAPE %", "coverage", "backtest %")
	for _, tc := range []struct {
		hours    int
		weekly   bool
		maxMAPE  float64
		coverage [2]float64
	}{
		{35 * 24, true, 8, [2]float64{0.8, 0.97}},
		{7 * 24, false, 8, [2]float64{0.8, 0.97}},
		// A daily model cannot know weekends: shown for what it costs.
		{7 * 24, true, 40, [2]float64{0.5, 0.97}},
	} {
		sc, model := scoreForecasts(t, tc.hours, tc.weekly, seeds)
		kind := "daily cycle"
		if tc.weekly {
			kind = "daily+weekly"
		}
		fmt.Fprintf(&b, "%-16s %7dh %-14s %5d %8.2f %9.3f %11.2f\n", model, tc.hours, kind, sc.runs, sc.mape(), sc.coverage(), sc.backtest/float64(sc.runs))
		if sc.mape() > tc.maxMAPE {
			t.Errorf("%s on %dh: MAPE %.2f%%, want at most %.0f%%", model, tc.hours, sc.mape(), tc.maxMAPE)
		}
		if c := sc.coverage(); c < tc.coverage[0] || c > tc.coverage[1] {
			t.Errorf("%s on %dh: 90%% interval covers %.3f, want %.2f to %.2f", model, tc.hours, c, tc.coverage[0], tc.coverage[1])
		}
	}
	t.Log(b.String())
}

func TestForecastShortHistory(t *testing.T) {
	end := synthStart.Add(47 * time.Hour)
	if _, err := Hourly(make([]float64, 47), end, 24); !errors.Is(err, ErrShortHistory) {
		t.Fatalf("47 hours: err %v, want ErrShortHistory", err)
	}
	h := hourlyHistory(1, 48, 80, true)
	fc, err := Hourly(h, synthStart.Add(48*time.Hour), 24)
	if err != nil {
		t.Fatal(err)
	}
	if fc.Model != ModelDaily || fc.HistoryHours != 48 || fc.BacktestMAPE != nil || len(fc.Series) != 24 {
		t.Fatalf("48 hours: model %s, history %d, backtest %v, %d points", fc.Model, fc.HistoryHours, fc.BacktestMAPE, len(fc.Series))
	}
	if !fc.Series[0].T.Equal(synthStart.Add(48*time.Hour)) || !fc.Series[23].T.Equal(synthStart.Add(71*time.Hour)) {
		t.Fatalf("series from %s to %s", fc.Series[0].T, fc.Series[23].T)
	}
	fc, err = Hourly(hourlyHistory(1, 72, 80, true), synthStart.Add(72*time.Hour), 24)
	if err != nil || fc.BacktestMAPE == nil {
		t.Fatalf("72 hours: err %v, backtest %v; want a backtest", err, fc.BacktestMAPE)
	}
}

func TestForecastModel(t *testing.T) {
	h := hourlyHistory(2, 14*24, 80, true)
	for _, tc := range []struct {
		hours int
		model string
	}{{14*24 - 1, ModelDaily}, {14 * 24, ModelWeekly}} {
		fc, err := Hourly(h[len(h)-tc.hours:], synthStart.Add(14*24*time.Hour), 24)
		if err != nil || fc.Model != tc.model {
			t.Errorf("%d hours: model %v (err %v), want %s", tc.hours, fc.Model, err, tc.model)
		}
	}
}

// TestForecastZeros: quiet nights with no executions at all, and a history
// of nothing but zeros, give finite forecasts with intervals never below
// zero; the backtest error skips hours whose actual count is 0.
func TestForecastZeros(t *testing.T) {
	h := hourlyHistory(3, 10*24, 2, true)
	zeros := 0
	for i := range h {
		if (i % 24) < 6 {
			h[i] = 0
		}
		if h[i] == 0 {
			zeros++
		}
	}
	fc, err := Hourly(h, synthStart.Add(10*24*time.Hour), 24)
	if err != nil {
		t.Fatal(err)
	}
	if zeros == 0 || fc.BacktestMAPE == nil || math.IsNaN(*fc.BacktestMAPE) || math.IsInf(*fc.BacktestMAPE, 0) {
		t.Fatalf("%d zero hours, backtest MAPE %v; want a finite figure", zeros, fc.BacktestMAPE)
	}
	for _, p := range fc.Series {
		if p.Lower < 0 || p.Lower > p.Expected || p.Upper < p.Expected || math.IsNaN(p.Expected) {
			t.Fatalf("%s: expected %v in [%v, %v]", p.T, p.Expected, p.Lower, p.Upper)
		}
	}
	if p := fc.Series[2]; p.Expected > 0.5 {
		t.Errorf("02:00 after nights of zeros: expected %v, want about 0", p.Expected)
	}

	fc, err = Hourly(make([]float64, 100), synthStart.Add(100*time.Hour), 24)
	if err != nil {
		t.Fatal(err)
	}
	if fc.BacktestMAPE != nil {
		t.Errorf("all zeros: backtest MAPE %v, want nil (no hour to score)", *fc.BacktestMAPE)
	}
	for _, p := range fc.Series {
		if p.Expected != 0 || p.Lower != 0 || p.Upper < 0 {
			t.Fatalf("all zeros: %+v", p)
		}
	}
}
