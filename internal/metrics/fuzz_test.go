package metrics_test

import (
	"errors"
	"net/url"
	"slices"
	"testing"
	"time"
	_ "time/tzdata" // tz values must not depend on the host's zoneinfo

	"github.com/shadower/shadower/internal/execution"
	"github.com/shadower/shadower/internal/metrics"
)

// fuzzNow is the fixed present of FuzzParseWindow: inside a minute, an hour
// and a day, so every step's alignment moves it.
var fuzzNow = time.Date(2026, 3, 4, 12, 7, 30, 0, time.UTC)

// FuzzParseWindow feeds arbitrary query strings to ParseWindow. It must never
// panic; a window it accepts must be a whole, non-empty number of aligned
// steps of whole minutes within the bucket and length limits; a query it
// refuses must be refused as invalid_request naming the parameter at fault.
// The seed corpus is in testdata/fuzz/FuzzParseWindow.
func FuzzParseWindow(f *testing.F) {
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			t.Skip()
		}
		w, err := metrics.ParseWindow(q, fuzzNow)
		if err != nil {
			var e *execution.Error
			if !errors.As(err, &e) {
				t.Fatalf("error %T is not an *execution.Error: %v", err, err)
			}
			if e.Code != execution.EInvalid {
				t.Fatalf("code %q, want %q: %v", e.Code, execution.EInvalid, err)
			}
			if e.Where == "" {
				t.Fatalf("error without Where: %v", err)
			}
			return
		}
		checkWindow(t, q, w)
	})
}

func checkWindow(t *testing.T, q url.Values, w metrics.Window) {
	step := w.Step
	if step <= 0 || step%metrics.MinStep != 0 {
		t.Fatalf("step %d is not a positive multiple of %d", step, metrics.MinStep)
	}
	if !w.From.Before(w.To) {
		t.Fatalf("from %s is not before to %s", w.From, w.To)
	}
	if w.From.Location() != time.UTC || w.To.Location() != time.UTC {
		t.Fatalf("window [%s, %s) is not in UTC", w.From, w.To)
	}
	if w.From.Nanosecond() != 0 || w.To.Nanosecond() != 0 {
		t.Fatalf("window [%s, %s) is not in whole seconds", w.From, w.To)
	}
	from, to := w.From.Unix(), w.To.Unix()
	if mod(from, step) != 0 || mod(to, step) != 0 {
		t.Fatalf("window [%s, %s) is not aligned to step %d", w.From, w.To, step)
	}
	if (to-from)%step != 0 {
		t.Fatalf("window [%s, %s) is not a whole number of steps of %d", w.From, w.To, step)
	}
	if n := (to - from) / step; n > metrics.MaxBuckets {
		t.Fatalf("window has %d buckets, more than %d", n, metrics.MaxBuckets)
	}
	// Alignment widens a window by up to a step at each end.
	if d := w.To.Sub(w.From); d > metrics.MaxWindow+2*time.Duration(step)*time.Second {
		t.Fatalf("window [%s, %s) of step %d spans %v, more than MaxWindow plus two steps", w.From, w.To, step, d)
	}
	for _, a := range w.Agents {
		if !execution.ValidID(a) {
			t.Fatalf("agent %q is not a valid id", a)
		}
	}
	if !slices.Equal(w.Agents, q["agent_id"]) {
		t.Fatalf("agents %q, asked for %q", w.Agents, q["agent_id"])
	}
	if w.TZ == nil {
		t.Fatal("nil time zone")
	}
	if w.Timeframe == "" {
		t.Fatal("empty timeframe")
	}
}

// mod is x modulo m, in [0, m).
func mod(x, m int64) int64 {
	r := x % m
	if r < 0 {
		r += m
	}
	return r
}
