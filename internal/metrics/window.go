// Package metrics answers the metrics API: throughput, latency, performance
// and comparison over a window, computed by merging rollup rows, and the
// realtime section from the live view.
package metrics

import (
	"net/url"
	"strconv"
	"time"

	"github.com/shadower/shadower/internal/execution"
	"github.com/shadower/shadower/internal/rollup"
)

// Limits of a window.
const (
	MaxWindow  = 400 * 24 * time.Hour
	MaxBuckets = 2000
	// MinStep is the finest rollup tier: steps are whole minutes.
	MinStep = 60
)

// The range a custom window may lie in: no execution is older than 2000,
// and far-future years would not even print.
var (
	earliest = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	latest   = time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC)
)

// Timeframes maps each named timeframe to its length and default step.
var Timeframes = map[string]struct {
	Length time.Duration
	Step   int64
}{
	"1h":  {time.Hour, 60},
	"6h":  {6 * time.Hour, 300},
	"24h": {24 * time.Hour, 900},
	"7d":  {7 * 24 * time.Hour, 3600},
	"30d": {30 * 24 * time.Hour, 21600},
	"90d": {90 * 24 * time.Hour, 86400},
}

// Window is what a metrics request asks about: [From, To) in whole steps,
// the agents to include (none for all) and the time zone of by_hour.
type Window struct {
	Timeframe string // a named timeframe, or "custom"
	From, To  time.Time
	Step      int64 // seconds
	Agents    []string
	TZ        *time.Location
}

// Previous is the window of equal length just before w.
func (w Window) Previous() Window {
	p := w
	p.From, p.To = w.From.Add(-w.To.Sub(w.From)), w.From
	return p
}

// ParseWindow reads timeframe, from, to, step, agent_id and tz. The window
// is widened to whole steps aligned in UTC: from down, to up, so the last
// bucket holds the present. Nothing invalid is clamped: it is refused.
func ParseWindow(q url.Values, now time.Time) (Window, error) {
	w := Window{TZ: time.UTC}
	tf := q.Get("timeframe")
	fromS, toS := q.Get("from"), q.Get("to")
	var length time.Duration
	switch {
	case fromS != "" || toS != "":
		if fromS == "" || toS == "" {
			return w, execution.ParamError(pick(fromS == "", "from", "to"), "from and to must be given together")
		}
		if tf != "" {
			return w, execution.ParamError("timeframe", "give either timeframe or from and to, not both")
		}
		from, err := time.Parse(time.RFC3339Nano, fromS)
		if err != nil {
			return w, execution.ParamError("from", "must be RFC 3339 with an offset")
		}
		to, err := time.Parse(time.RFC3339Nano, toS)
		if err != nil {
			return w, execution.ParamError("to", "must be RFC 3339 with an offset")
		}
		if !from.Before(to) {
			return w, execution.ParamError("from", "must be before to")
		}
		if from.Before(earliest) || to.After(latest) {
			return w, execution.ParamError("from", "from and to must lie between 2000-01-01 and 3000-01-01")
		}
		if to.Sub(from) > MaxWindow {
			return w, execution.ParamError("from", "a window is at most 400 days")
		}
		w.Timeframe, w.From, w.To = "custom", from, to
		length = to.Sub(from)
	default:
		if tf == "" {
			tf = "24h"
		}
		t, ok := Timeframes[tf]
		if !ok {
			return w, execution.ParamError("timeframe", "must be one of 1h, 6h, 24h, 7d, 30d, 90d")
		}
		w.Timeframe, w.Step, length = tf, t.Step, t.Length
		w.To = now
		w.From = now.Add(-length)
	}
	if s := q.Get("step"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n <= 0 {
			return w, execution.ParamError("step", "must be a positive whole number of seconds")
		}
		if n > int64(MaxWindow/time.Second) {
			return w, execution.ParamError("step", "must be at most 400 days (34560000 seconds)")
		}
		if n%MinStep != 0 {
			return w, execution.ParamError("step", "must be a whole number of minutes (a multiple of 60): the finest rollup is one minute")
		}
		w.Step = n
	} else if w.Step == 0 {
		w.Step = defaultStep(length)
	}
	step := w.Step
	var from, to int64
	if w.Timeframe == "custom" {
		from = floorDiv(w.From.Unix(), step) * step
		to = -floorDiv(-w.To.Unix(), step) * step
		if to == w.To.Unix() && w.To.Nanosecond() > 0 {
			to += step
		}
	} else {
		// A named timeframe keeps its length and ends with the bucket
		// holding now.
		to = floorDiv(now.Unix(), step)*step + step
		from = floorDiv(to-int64(length/time.Second), step) * step
	}
	// A window reaching back past a tier's retention must not need that
	// tier: refuse rather than answer zeros. The previous window of equal
	// length is read too (trend and comparison), so it counts.
	prevFrom := from - (to - from)
	for _, t := range []rollup.Tier{rollup.Minute, rollup.Hour} {
		coarser := t + 1
		if step%coarser.Seconds() != 0 && prevFrom < now.Add(-rollup.Retention[t]).Unix() {
			return w, execution.ParamError("step", "%s rollups are kept for %d days: for a window starting before then use a step that is a multiple of %d",
				t, int(rollup.Retention[t].Hours()/24), coarser.Seconds())
		}
	}
	if n := (to - from) / step; n > MaxBuckets {
		return w, execution.ParamError("step", "the window would have %d buckets; at most %d are allowed", n, MaxBuckets)
	}
	w.From, w.To = time.Unix(from, 0).UTC(), time.Unix(to, 0).UTC()

	for _, a := range q["agent_id"] {
		if !execution.ValidID(a) {
			return w, execution.ParamError("agent_id", "must be 1-128 characters of [A-Za-z0-9._:@/-]")
		}
		w.Agents = append(w.Agents, a)
	}
	if tz := q.Get("tz"); tz != "" {
		loc, err := time.LoadLocation(tz)
		if err != nil || tz == "Local" {
			return w, execution.ParamError("tz", "unknown time zone %q (use an IANA name such as Europe/Paris)", tz)
		}
		w.TZ = loc
	}
	return w, nil
}

// defaultStep follows the window: about 60 to 400 buckets.
func defaultStep(length time.Duration) int64 {
	switch {
	case length <= time.Hour:
		return 60
	case length <= 6*time.Hour:
		return 300
	case length <= 24*time.Hour:
		return 900
	case length <= 7*24*time.Hour:
		return 3600
	case length <= 30*24*time.Hour:
		return 21600
	default:
		return 86400
	}
}

func floorDiv(x, d int64) int64 {
	q := x / d
	if x%d != 0 && (x < 0) != (d < 0) {
		q--
	}
	return q
}

func pick(c bool, a, b string) string {
	if c {
		return a
	}
	return b
}
