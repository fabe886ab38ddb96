// Package rollup keeps execution metrics in time buckets of three tiers
// (minute, hour, day) per workspace and agent: exact counts, sums, minima and
// maxima, and mergeable quantile sketches of duration and queue wait. Every
// metric the API answers is a merge of such rows; raw events are never scanned.
package rollup

import (
	"fmt"
	"time"
)

// Tier is the width of a bucket.
type Tier int

// The tiers, finest first.
const (
	Minute Tier = iota
	Hour
	Day
)

// Tiers lists every tier, finest first.
var Tiers = []Tier{Minute, Hour, Day}

// Seconds is the width of a bucket of the tier.
func (t Tier) Seconds() int64 {
	switch t {
	case Minute:
		return 60
	case Hour:
		return 3600
	default:
		return 86400
	}
}

func (t Tier) String() string {
	switch t {
	case Minute:
		return "minute"
	case Hour:
		return "hour"
	case Day:
		return "day"
	}
	return fmt.Sprintf("tier(%d)", int(t))
}

// Bucket is the start, in Unix seconds, of the tier's bucket holding ts.
func (t Tier) Bucket(ts time.Time) int64 { return floor(ts.Unix(), t.Seconds()) }

// Retention is how long each tier's rows are kept: minutes for two weeks,
// hours for over a year, days for five years.
var Retention = map[Tier]time.Duration{
	Minute: 14 * 24 * time.Hour,
	Hour:   400 * 24 * time.Hour,
	Day:    5 * 365 * 24 * time.Hour,
}

// Span is a range [From, To) of Unix seconds, both aligned to Tier.
type Span struct {
	Tier     Tier
	From, To int64
}

// Cover splits [from, to), whose ends are minute-aligned, into the fewest
// aligned spans of tiers no coarser than max: whole days in the middle, whole
// hours around them, minutes at the ends.
func Cover(from, to int64, max Tier) []Span {
	var spans []Span
	var cover func(from, to int64, t Tier)
	cover = func(from, to int64, t Tier) {
		if from >= to {
			return
		}
		if t == Minute {
			spans = append(spans, Span{Minute, from, to})
			return
		}
		w := t.Seconds()
		lo, hi := ceil(from, w), floor(to, w)
		if lo >= hi {
			cover(from, to, t-1)
			return
		}
		cover(from, lo, t-1)
		spans = append(spans, Span{t, lo, hi})
		cover(hi, to, t-1)
	}
	cover(from, to, max)
	return spans
}

// TierFor is the coarsest tier whose buckets tile a step of the given seconds.
func TierFor(step int64) Tier {
	switch {
	case step%Day.Seconds() == 0:
		return Day
	case step%Hour.Seconds() == 0:
		return Hour
	default:
		return Minute
	}
}

func floor(x, w int64) int64 {
	r := x % w
	if r < 0 {
		r += w
	}
	return x - r
}

func ceil(x, w int64) int64 { return -floor(-x, w) }
