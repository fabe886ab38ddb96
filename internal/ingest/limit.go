package ingest

import (
	"math"
	"sync"
	"time"
)

// Limiter caps each workspace's ingest rate with a token bucket, so one
// tenant's flood cannot take the writer from the others.
type Limiter struct {
	rate  float64 // events per second
	burst float64
	now   func() time.Time

	mu      sync.Mutex
	buckets map[string]*bucket
}

type bucket struct {
	tokens float64
	at     time.Time
}

// NewLimiter allows each workspace rate events per second on average and
// bursts of burst events (at least one full batch). A rate of 0 or less
// means no limit.
func NewLimiter(rate, burst float64, now func() time.Time) *Limiter {
	if now == nil {
		now = time.Now
	}
	return &Limiter{rate: rate, burst: math.Max(burst, MaxEvents), now: now, buckets: map[string]*bucket{}}
}

// Allow takes counts[ws] events for every workspace of a batch, all or
// none. When it refuses, it says how long until the batch would fit.
func (l *Limiter) Allow(counts map[string]int) (bool, time.Duration) {
	if l == nil || l.rate <= 0 {
		return true, 0
	}
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	var wait time.Duration
	for ws, n := range counts {
		b := l.fill(ws, now)
		if need := float64(n) - b.tokens; need > 0 {
			wait = max(wait, time.Duration(need/l.rate*float64(time.Second)))
		}
	}
	if wait > 0 {
		return false, wait
	}
	for ws, n := range counts {
		l.buckets[ws].tokens -= float64(n)
	}
	return true, 0
}

// Empty reports whether ws has no tokens left, and how long until it has
// one: a batch can be refused before its body is read.
func (l *Limiter) Empty(ws string) (bool, time.Duration) {
	if l == nil || l.rate <= 0 {
		return false, 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.fill(ws, l.now())
	if b.tokens >= 1 {
		return false, 0
	}
	return true, time.Duration((1 - b.tokens) / l.rate * float64(time.Second))
}

func (l *Limiter) fill(ws string, now time.Time) *bucket {
	b := l.buckets[ws]
	if b == nil {
		if len(l.buckets) > 100_000 {
			l.buckets = map[string]*bucket{} // full buckets are the default: forgetting is safe
		}
		b = &bucket{tokens: l.burst, at: now}
		l.buckets[ws] = b
	}
	b.tokens = math.Min(l.burst, b.tokens+now.Sub(b.at).Seconds()*l.rate)
	b.at = now
	return b
}
