package rollup

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/shadower/shadower/internal/execution"
)

// base is a fixed UTC midnight (2026-03-01), so its Unix seconds are aligned
// to every tier.
var base = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)

func at(d time.Duration) int64 { return base.Add(d).Unix() }

const (
	mn  = time.Minute
	hr  = time.Hour
	day = 24 * time.Hour
)

func TestTierSecondsAndBucket(t *testing.T) {
	for _, c := range []struct {
		tier Tier
		secs int64
		name string
	}{{Minute, 60, "minute"}, {Hour, 3600, "hour"}, {Day, 86400, "day"}} {
		if c.tier.Seconds() != c.secs || c.tier.String() != c.name {
			t.Errorf("%v: Seconds %d String %q, want %d %q", c.tier, c.tier.Seconds(), c.tier.String(), c.secs, c.name)
		}
	}
	ts := base.Add(13*hr + 47*mn + 31*time.Second + 999*time.Millisecond)
	for _, c := range []struct {
		tier Tier
		want time.Time
	}{{Minute, base.Add(13*hr + 47*mn)}, {Hour, base.Add(13 * hr)}, {Day, base}} {
		if got := c.tier.Bucket(ts); got != c.want.Unix() {
			t.Errorf("%s.Bucket(%v) = %v, want %v", c.tier, ts, time.Unix(got, 0).UTC(), c.want)
		}
		if got := c.tier.Bucket(c.want); got != c.want.Unix() {
			t.Errorf("%s.Bucket of an aligned time moved it", c.tier)
		}
	}
	// Before 1970 the bucket is still the one at or before the time.
	neg := time.Unix(-90, 0)
	if got := Minute.Bucket(neg); got != -120 {
		t.Errorf("Minute.Bucket(-90s) = %d, want -120", got)
	}
	if got := Day.Bucket(time.Unix(-1, 0)); got != -86400 {
		t.Errorf("Day.Bucket(-1s) = %d, want -86400", got)
	}
}

func TestTierFor(t *testing.T) {
	for _, c := range []struct {
		step int64
		want Tier
	}{
		{60, Minute}, {120, Minute}, {300, Minute}, {900, Minute}, {1800, Minute}, {5400, Minute},
		{3600, Hour}, {7200, Hour}, {21600, Hour}, {43200, Hour}, {90000, Hour},
		{86400, Day}, {172800, Day}, {7 * 86400, Day},
	} {
		if got := TierFor(c.step); got != c.want {
			t.Errorf("TierFor(%d) = %s, want %s", c.step, got, c.want)
		}
	}
}

func sp(tier Tier, from, to time.Duration) Span { return Span{tier, at(from), at(to)} }

func TestCover(t *testing.T) {
	cases := []struct {
		name     string
		from, to time.Duration
		max      Tier
		want     []Span
	}{
		{"empty", 10 * hr, 10 * hr, Day, nil},
		{"reversed", 11 * hr, 10 * hr, Day, nil},
		{"one minute", 10*hr + 5*mn, 10*hr + 6*mn, Day, []Span{sp(Minute, 10*hr+5*mn, 10*hr+6*mn)}},
		{"minutes inside an hour", 10*hr + 5*mn, 10*hr + 35*mn, Day, []Span{sp(Minute, 10*hr+5*mn, 10*hr+35*mn)}},
		{"minutes across an hour boundary", 10*hr + 50*mn, 11*hr + 10*mn, Day, []Span{sp(Minute, 10*hr+50*mn, 11*hr+10*mn)}},
		{"whole hour", 10 * hr, 11 * hr, Day, []Span{sp(Hour, 10*hr, 11*hr)}},
		{"hours with minute edges", 10*hr + 5*mn, 12*hr + 35*mn, Day, []Span{
			sp(Minute, 10*hr+5*mn, 11*hr), sp(Hour, 11*hr, 12*hr), sp(Minute, 12*hr, 12*hr+35*mn)}},
		{"hours, aligned start", 10 * hr, 12*hr + 35*mn, Day, []Span{sp(Hour, 10*hr, 12*hr), sp(Minute, 12*hr, 12*hr+35*mn)}},
		{"hours, aligned end", 10*hr + 5*mn, 12 * hr, Day, []Span{sp(Minute, 10*hr+5*mn, 11*hr), sp(Hour, 11*hr, 12*hr)}},
		{"almost a day", 0, 23 * hr, Day, []Span{sp(Hour, 0, 23*hr)}},
		{"whole day", 0, day, Day, []Span{sp(Day, 0, day)}},
		{"whole days", day, 3 * day, Day, []Span{sp(Day, day, 3*day)}},
		{"days with hour and minute edges", 22*hr + 30*mn, 3*day + hr + 15*mn, Day, []Span{
			sp(Minute, 22*hr+30*mn, 23*hr), sp(Hour, 23*hr, day), sp(Day, day, 3*day),
			sp(Hour, 3*day, 3*day+hr), sp(Minute, 3*day+hr, 3*day+hr+15*mn)}},
		{"days with hour edges only", 22 * hr, 2*day + 3*hr, Day, []Span{
			sp(Hour, 22*hr, day), sp(Day, day, 2*day), sp(Hour, 2*day, 2*day+3*hr)}},
		{"across midnight, less than a day", 20*hr + 10*mn, day + 4*hr + 20*mn, Day, []Span{
			sp(Minute, 20*hr+10*mn, 21*hr), sp(Hour, 21*hr, day+4*hr), sp(Minute, day+4*hr, day+4*hr+20*mn)}},
		{"max hour: no day spans", 22*hr + 30*mn, 3*day + hr + 15*mn, Hour, []Span{
			sp(Minute, 22*hr+30*mn, 23*hr), sp(Hour, 23*hr, 3*day+hr), sp(Minute, 3*day+hr, 3*day+hr+15*mn)}},
		{"max hour, whole days", 0, 2 * day, Hour, []Span{sp(Hour, 0, 2*day)}},
		{"max minute: one span", 22*hr + 30*mn, 3*day + hr + 15*mn, Minute, []Span{sp(Minute, 22*hr+30*mn, 3*day+hr+15*mn)}},
		{"max minute, whole day", 0, day, Minute, []Span{sp(Minute, 0, day)}},
	}
	for _, c := range cases {
		got := Cover(at(c.from), at(c.to), c.max)
		if !slices.Equal(got, c.want) {
			t.Errorf("%s: Cover = %v, want %v", c.name, fmtSpans(got), fmtSpans(c.want))
		}
		if err := checkCover(at(c.from), at(c.to), c.max, got); err != nil {
			t.Errorf("%s: %v", c.name, err)
		}
	}
}

func fmtSpans(spans []Span) string {
	s := "["
	for i, x := range spans {
		if i > 0 {
			s += " "
		}
		s += fmt.Sprintf("%s[%s,%s)", x.Tier, time.Unix(x.From, 0).UTC().Format("01-02T15:04"), time.Unix(x.To, 0).UTC().Format("01-02T15:04"))
	}
	return s + "]"
}

// checkCover verifies what every cover must be: spans in order that tile
// [from, to) exactly, each non-empty and aligned to its tier, no tier above
// max, and no span that a coarser allowed tier could have shortened: no
// finer span holds a whole bucket of a coarser allowed tier, and no two
// neighbours share a tier (they would be one span).
func checkCover(from, to int64, max Tier, spans []Span) error {
	if from >= to {
		if len(spans) != 0 {
			return fmt.Errorf("empty range covered by %v", spans)
		}
		return nil
	}
	if len(spans) == 0 {
		return fmt.Errorf("no spans for [%d,%d)", from, to)
	}
	if spans[0].From != from || spans[len(spans)-1].To != to {
		return fmt.Errorf("spans %v do not start at %d and end at %d", spans, from, to)
	}
	for i, s := range spans {
		if s.From >= s.To {
			return fmt.Errorf("span %d empty: %v", i, s)
		}
		if s.Tier > max || s.Tier < Minute {
			return fmt.Errorf("span %d of tier %s above max %s", i, s.Tier, max)
		}
		w := s.Tier.Seconds()
		if floor(s.From, w) != s.From || floor(s.To, w) != s.To {
			return fmt.Errorf("span %d not aligned to %s: %v", i, s.Tier, s)
		}
		if i > 0 {
			if spans[i-1].To != s.From {
				return fmt.Errorf("spans %d and %d leave a gap or overlap: %v %v", i-1, i, spans[i-1], s)
			}
			if spans[i-1].Tier == s.Tier {
				return fmt.Errorf("spans %d and %d share tier %s", i-1, i, s.Tier)
			}
		}
		for c := s.Tier + 1; c <= max; c++ {
			cw := c.Seconds()
			if ceil(s.From, cw)+cw <= s.To {
				return fmt.Errorf("span %d (%v) holds a whole %s", i, s, c)
			}
		}
	}
	if len(spans) > 2*int(max)+1 {
		return fmt.Errorf("%d spans, at most %d needed", len(spans), 2*int(max)+1)
	}
	return nil
}

// TestCoverProperties checks random minute-aligned ranges, some around
// the Unix epoch (negative times), against the properties of a cover and
// against the seconds it must tile.
func TestCoverProperties(t *testing.T) {
	rng := rand.New(rand.NewPCG(42, 1))
	for i := range 20000 {
		origin := base.Unix()
		if i%4 == 0 {
			origin = 0
		}
		// Ranges from empty to about 20 days, at minute alignment, with
		// ends clustered near hour and day boundaries half the time.
		from := origin + 60*int64(rng.IntN(10*1440)) - 5*86400
		if rng.IntN(2) == 0 {
			from = floor(from, 3600) + 60*int64(rng.IntN(3)-1)
		}
		to := from + 60*int64(rng.IntN(20*1440))
		if rng.IntN(2) == 0 {
			to = floor(to, 86400) + 60*int64(rng.IntN(3)-1)
		}
		if rng.IntN(50) == 0 {
			to = from - 60*int64(rng.IntN(5))
		}
		max := Tier(rng.IntN(3))
		spans := Cover(from, to, max)
		if err := checkCover(from, to, max, spans); err != nil {
			t.Fatalf("Cover(%d, %d, %s) = %v: %v", from, to, max, fmtSpans(spans), err)
		}
		var total int64
		for _, s := range spans {
			total += s.To - s.From
		}
		if want := max64(to-from, 0); total != want {
			t.Fatalf("Cover(%d, %d, %s) covers %d seconds, want %d", from, to, max, total, want)
		}
	}
}

func max64(a, b int64) int64 {
	if a > b {
		return a
	}
	return b
}

// ---- Delta ---------------------------------------------------------------

func key(tier Tier, ts time.Time, agent string) Key {
	return Key{WorkspaceID: "ws", Tier: tier, Bucket: tier.Bucket(ts), AgentID: agent}
}

func TestDeltaCounts(t *testing.T) {
	// Times in different minutes, hours and days, so every tier's buckets differ.
	t1 := base.Add(23*hr + 59*mn + 30*time.Second) // day 1, 23:59
	t2 := base.Add(day + 10*time.Second)           // day 2, 00:00
	t3 := base.Add(day + 2*hr + 5*mn)              // day 2, 02:05

	d := NewDelta()
	d.Start("ws", "a", t1)
	d.Start("ws", "b", t1)
	d.Start("ws", "a", t2)
	d.Finish("ws", "a", t2, execution.StatusCompleted, "")
	d.Finish("ws", "a", t2, execution.StatusFailed, "ValueError")
	d.Finish("ws", "b", t3, execution.StatusTimedOut, "unknown")
	d.Finish("ws", "b", t3, execution.StatusCancelled, "")
	d.Usage("ws", "a", t1, 1.5, 100)
	d.Usage("ws", "b", t3, 0.25, 0)
	d.Start("other", "a", t1)

	type counts struct {
		started, completed, failed, timedOut, cancelled int64
		credits, tokens                                 float64
		errors                                          map[string]int64
	}
	want := map[Key]counts{}
	addTo := func(ts time.Time, agent string, f func(*counts)) {
		for _, tier := range Tiers {
			for _, a := range []string{agent, AllAgents} {
				k := key(tier, ts, a)
				c := want[k]
				f(&c)
				want[k] = c
			}
		}
	}
	addErr := func(c *counts, e string) {
		m := map[string]int64{}
		for k, v := range c.errors {
			m[k] = v
		}
		m[e]++
		c.errors = m
	}
	addTo(t1, "a", func(c *counts) { c.started++; c.credits += 1.5; c.tokens += 100 })
	addTo(t1, "b", func(c *counts) { c.started++ })
	addTo(t2, "a", func(c *counts) { c.started++; c.completed++; c.failed++; addErr(c, "ValueError") })
	addTo(t3, "b", func(c *counts) { c.timedOut++; c.cancelled++; c.credits += 0.25; addErr(c, "unknown") })

	out, err := d.Apply(nil)
	if err != nil {
		t.Fatal(err)
	}
	if d.Len() != len(want)+6 || len(d.Keys()) != d.Len() {
		t.Errorf("Len %d, Keys %d, want %d", d.Len(), len(d.Keys()), len(want)+6)
	}
	for k, w := range want {
		r := out[k]
		if r == nil {
			t.Errorf("no row %+v", k)
			continue
		}
		got := counts{r.Started, r.Completed, r.Failed, r.TimedOut, r.Cancelled, r.Credits, r.Tokens, r.Errors}
		if got.started != w.started || got.completed != w.completed || got.failed != w.failed ||
			got.timedOut != w.timedOut || got.cancelled != w.cancelled || got.credits != w.credits || got.tokens != w.tokens ||
			!mapsEqual(got.errors, w.errors) {
			t.Errorf("row %s %s %s: got %+v, want %+v", k.Tier, time.Unix(k.Bucket, 0).UTC(), k.AgentID, got, w)
		}
		if r.Key != k {
			t.Errorf("row under %+v has key %+v", k, r.Key)
		}
	}
	for _, tier := range Tiers {
		k := Key{WorkspaceID: "other", Tier: tier, Bucket: tier.Bucket(t1), AgentID: AllAgents}
		if out[k] == nil || out[k].Started != 1 {
			t.Errorf("other workspace %s total: %+v", tier, out[k])
		}
	}
	if len(out) != d.Len() {
		t.Errorf("Apply returned %d rows, delta touches %d", len(out), d.Len())
	}
}

func mapsEqual(a, b map[string]int64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if bv, ok := b[k]; !ok || bv != v {
			return false
		}
	}
	return true
}

func TestDeltaDurationAndQueueWaitBuckets(t *testing.T) {
	queued := base.Add(23*hr + 58*mn)
	started := base.Add(23*hr + 59*mn + 50*time.Second) // day 1, 23:59
	finished := base.Add(day + hr + 30*time.Second)     // day 2, 01:00
	d := NewDelta()
	d.Start("ws", "a", started)
	d.QueueWait("ws", "a", started, execution.Millis(started.Sub(queued)))
	d.Finish("ws", "a", finished, execution.StatusCompleted, "")
	d.Duration("ws", "a", finished, execution.Millis(finished.Sub(started)))
	out, err := d.Apply(nil)
	if err != nil {
		t.Fatal(err)
	}
	wantDur := execution.Millis(finished.Sub(started))
	wantQW := execution.Millis(started.Sub(queued))
	for _, tier := range Tiers {
		for _, a := range []string{"a", AllAgents} {
			fr, sr := out[key(tier, finished, a)], out[key(tier, started, a)]
			if fr == nil || sr == nil {
				t.Fatalf("%s %s: rows missing", tier, a)
			}
			if fr.Duration.Count != 1 || fr.Duration.Sum != wantDur || fr.Duration.Min != wantDur || fr.Duration.Max != wantDur {
				t.Errorf("%s %s: finish bucket duration %+v, want one of %v", tier, a, fr.Duration, wantDur)
			}
			if fr.QueueWait.Count != 0 || fr.Started != 0 || fr.Completed != 1 {
				t.Errorf("%s %s: finish bucket has queue wait %d, started %d, completed %d", tier, a, fr.QueueWait.Count, fr.Started, fr.Completed)
			}
			if sr.QueueWait.Count != 1 || sr.QueueWait.Sum != wantQW {
				t.Errorf("%s %s: start bucket queue wait %+v, want one of %v", tier, a, sr.QueueWait, wantQW)
			}
			if sr.Duration.Count != 0 || sr.Started != 1 || sr.Completed != 0 {
				t.Errorf("%s %s: start bucket has duration %d, started %d, completed %d", tier, a, sr.Duration.Count, sr.Started, sr.Completed)
			}
			if v, ok, err := fr.Duration.Quantile(0.5); err != nil || !ok || v != wantDur {
				t.Errorf("%s %s: duration median %v %v %v, want %v (clamped to the one value)", tier, a, v, ok, err, wantDur)
			}
		}
	}
}

// snapshot is a deep, comparable description of a row.
func snapshot(t *testing.T, r *Row) string {
	t.Helper()
	s := fmt.Sprintf("%+v %d %d %d %d %d %d %v %v", r.Key, r.Started, r.Completed, r.Failed, r.TimedOut, r.Cancelled,
		r.PeakMinute, r.Credits, r.Tokens)
	keys := make([]string, 0, len(r.Errors))
	for k := range r.Errors {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		s += fmt.Sprintf(" %s=%d", k, r.Errors[k])
	}
	for _, st := range []*Stat{&r.Duration, &r.QueueWait} {
		s += fmt.Sprintf(" [%d %v %v %v", st.Count, st.Sum, st.Min, st.Max)
		sk, err := st.Sketch()
		if err != nil {
			t.Fatal(err)
		}
		s += fmt.Sprintf(" n=%d", sk.Count())
		for _, q := range []float64{0, 0.25, 0.5, 0.9, 0.99, 1} {
			v, _ := sk.Quantile(q)
			s += fmt.Sprintf(" %v", v)
		}
		s += "]"
	}
	return s
}

func filledRow(k Key, seed int) *Row {
	r := &Row{Key: k, Started: int64(seed + 3), Completed: int64(seed + 2), Failed: 1, PeakMinute: int64(seed + 1),
		Credits: 2.5, Tokens: 10, Errors: map[string]int64{"E": 1}}
	for i := range 10 + seed {
		r.Duration.Add(float64(100 * (i + 1)))
		r.QueueWait.Add(float64(i))
	}
	return r
}

func TestDeltaApplyLeavesBaseUnmodified(t *testing.T) {
	ts := base.Add(5*hr + 7*mn)
	d := NewDelta()
	d.Start("ws", "a", ts)
	d.Finish("ws", "a", ts, execution.StatusFailed, "E")
	d.Finish("ws", "a", ts, execution.StatusFailed, "F")
	d.Duration("ws", "a", ts, 5)
	d.QueueWait("ws", "a", ts, 7)
	d.Usage("ws", "a", ts, 1, 2)

	baseRows := map[Key]*Row{}
	for i, k := range d.Keys() {
		r := filledRow(k, i)
		if i%2 == 0 {
			// Half the rows as read from a store: sketches still encoded.
			for _, st := range []*Stat{&r.Duration, &r.QueueWait} {
				b, err := st.Encoded()
				if err != nil {
					t.Fatal(err)
				}
				st.SetEncoded(slices.Clone(b))
			}
		}
		baseRows[k] = r
	}
	before := map[Key]string{}
	for k, r := range baseRows {
		before[k] = snapshot(t, r)
	}
	out1, err := d.Apply(baseRows)
	if err != nil {
		t.Fatal(err)
	}
	// Change the results in every way; the base must not see it.
	for _, r := range out1 {
		if baseRows[r.Key] == r {
			t.Fatalf("Apply returned a base row itself for %+v", r.Key)
		}
		r.Started += 100
		r.Errors["E"] += 100
		r.Errors["new"] = 1
		r.Duration.Add(1e6)
		r.QueueWait.Add(1e6)
	}
	for k, r := range baseRows {
		if got := snapshot(t, r); got != before[k] {
			t.Errorf("base row %s %s changed:\n was %s\n now %s", k.Tier, k.AgentID, before[k], got)
		}
	}
	// The same delta on the same base gives the same answer again.
	out2, err := d.Apply(baseRows)
	if err != nil {
		t.Fatal(err)
	}
	for k, r := range out2 {
		b := baseRows[k]
		if r.Started != b.Started+1 || r.Failed != b.Failed+2 || r.Errors["E"] != b.Errors["E"]+1 || r.Errors["F"] != 1 ||
			r.Duration.Count != b.Duration.Count+1 || r.QueueWait.Count != b.QueueWait.Count+1 || r.Credits != b.Credits+1 {
			t.Errorf("second Apply %s %s: %s", k.Tier, k.AgentID, snapshot(t, r))
		}
	}
}

// TestDeltaPeakMinute runs many commits of finishes clustered on a few
// minutes of two days, with rows kept between commits as a store would
// keep them, and after each commit compares every row's PeakMinute with
// a brute-force maximum over the minute totals seen so far.
func TestDeltaPeakMinute(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	agents := []string{"a", "b", "c"}
	// A few hot minutes across hour and day boundaries, and random others.
	hot := []time.Time{base.Add(10*hr + 3*mn), base.Add(10*hr + 4*mn), base.Add(10*hr + 59*mn),
		base.Add(11 * hr), base.Add(23*hr + 59*mn), base.Add(day + 5*mn)}
	store := map[Key]*Row{}
	minuteTotals := map[string]map[int64]int64{} // agent (or AllAgents) -> minute -> finishes
	for _, a := range append(slices.Clone(agents), AllAgents) {
		minuteTotals[a] = map[int64]int64{}
	}
	for commit := range 60 {
		d := NewDelta()
		for range 1 + rng.IntN(25) {
			ts := hot[rng.IntN(len(hot))].Add(time.Duration(rng.IntN(60)) * time.Second)
			if rng.IntN(4) == 0 {
				ts = base.Add(time.Duration(rng.IntN(2*24*60)) * time.Minute)
			}
			a := agents[rng.IntN(len(agents))]
			switch rng.IntN(5) {
			case 0:
				d.Start("ws", a, ts) // no finish: peaks must not move
			case 1:
				d.Usage("ws", a, ts, 1, 1)
			default:
				d.Finish("ws", a, ts, execution.StatusCompleted, "")
				m := Minute.Bucket(ts)
				minuteTotals[a][m]++
				minuteTotals[AllAgents][m]++
			}
		}
		// Base as the writer builds it: the stored rows of the delta's keys.
		baseRows := map[Key]*Row{}
		for _, k := range d.Keys() {
			if r := store[k]; r != nil {
				baseRows[k] = r
			}
		}
		out, err := d.Apply(baseRows)
		if err != nil {
			t.Fatal(err)
		}
		for k, r := range out {
			store[k] = r
		}
		for k, r := range store {
			var want int64
			for m, n := range minuteTotals[k.AgentID] {
				if floor(m, k.Tier.Seconds()) == k.Bucket {
					want = max(want, n)
				}
			}
			if r.PeakMinute != want {
				t.Fatalf("commit %d: %s row %s of %s: PeakMinute %d, want %d", commit, k.Tier,
					time.Unix(k.Bucket, 0).UTC().Format(time.RFC3339), k.AgentID, r.PeakMinute, want)
			}
			if k.Tier == Minute && r.Finished() != minuteTotals[k.AgentID][k.Bucket] {
				t.Fatalf("commit %d: minute %d of %s finished %d, want %d", commit, k.Bucket, k.AgentID,
					r.Finished(), minuteTotals[k.AgentID][k.Bucket])
			}
		}
	}
}

// ---- Cache ---------------------------------------------------------------

func rowsFor(keys ...Key) map[Key]*Row {
	m := map[Key]*Row{}
	for _, k := range keys {
		m[k] = &Row{Key: k, Started: k.Bucket}
	}
	return m
}

func minuteKey(i int) Key {
	return Key{WorkspaceID: "ws", Tier: Minute, Bucket: base.Unix() + 60*int64(i), AgentID: "a"}
}

func TestCacheGetPut(t *testing.T) {
	c := NewCache(100)
	k1, k2, k3 := minuteKey(1), minuteKey(2), minuteKey(3)
	rows := rowsFor(k1, k2)
	c.Put(rows)
	hit, miss := c.Get([]Key{k1, k3, k2})
	if len(hit) != 2 || hit[k1] != rows[k1] || hit[k2] != rows[k2] {
		t.Errorf("Get hits = %v, want the rows put (same pointers)", hit)
	}
	if !slices.Equal(miss, []Key{k3}) {
		t.Errorf("Get misses = %v, want [k3]", miss)
	}
	// Put replaces.
	r1 := &Row{Key: k1, Started: 99}
	c.Put(map[Key]*Row{k1: r1})
	if hit, _ := c.Get([]Key{k1}); hit[k1] != r1 {
		t.Errorf("after a second Put, Get = %+v, want the new row", hit[k1])
	}
	if hit, miss := c.Get(nil); len(hit) != 0 || len(miss) != 0 {
		t.Errorf("Get(nil) = %v, %v", hit, miss)
	}
}

// TestCacheBound puts batches of every size up to the bound and checks the
// cache never holds more than its bound, and that each batch just put is
// all there (its rows are the most recent).
func TestCacheBound(t *testing.T) {
	const max = 40
	rng := rand.New(rand.NewPCG(5, 6))
	c := NewCache(max)
	next := 0
	for i := range 300 {
		n := 1 + rng.IntN(max)
		keys := make([]Key, n)
		for j := range keys {
			keys[j] = minuteKey(next)
			next++
		}
		c.Put(rowsFor(keys...))
		if got := len(c.rows); got > max {
			t.Fatalf("put %d: after a batch of %d the cache holds %d rows, bound %d", i, n, got, max)
		}
		if _, miss := c.Get(keys); len(miss) != 0 {
			t.Fatalf("put %d: %d of the %d rows just put are missing", i, len(miss), n)
		}
	}
}

// ---- Row and Stat ----------------------------------------------------------

func TestRowMerge(t *testing.T) {
	k := minuteKey(0)
	a := &Row{Key: k, Started: 1, Completed: 2, Failed: 3, TimedOut: 4, Cancelled: 5, PeakMinute: 7,
		Credits: 1.5, Tokens: 10, Errors: map[string]int64{"E": 1, "F": 2}}
	b := &Row{Key: k, Started: 10, Completed: 20, Failed: 30, TimedOut: 40, Cancelled: 50, PeakMinute: 3,
		Credits: 0.25, Tokens: 5, Errors: map[string]int64{"F": 5, "G": 1}}
	var all []float64
	for i := range 30 {
		v := float64(i*i) + 0.5
		a.Duration.Add(v)
		all = append(all, v)
	}
	for i := range 20 {
		v := float64(1000 + i)
		b.Duration.Add(v)
		all = append(all, v)
	}
	b.QueueWait.Add(42)
	if err := a.Merge(b); err != nil {
		t.Fatal(err)
	}
	if a.Started != 11 || a.Completed != 22 || a.Failed != 33 || a.TimedOut != 44 || a.Cancelled != 55 ||
		a.PeakMinute != 7 || a.Credits != 1.75 || a.Tokens != 15 || a.Finished() != 154 {
		t.Errorf("merged counts: %+v", *a)
	}
	if !mapsEqual(a.Errors, map[string]int64{"E": 1, "F": 7, "G": 1}) {
		t.Errorf("merged errors: %v", a.Errors)
	}
	if a.Duration.Count != 50 || a.Duration.Min != 0.5 || a.Duration.Max != 1019 {
		t.Errorf("merged duration: %+v", a.Duration)
	}
	if a.QueueWait.Count != 1 || a.QueueWait.Min != 42 || a.QueueWait.Max != 42 || a.QueueWait.Mean() != 42 {
		t.Errorf("queue wait merged into an empty stat: %+v", a.QueueWait)
	}
	// Merging is lossless: the quantiles are those of one stat of all values.
	var one Stat
	for _, v := range all {
		one.Add(v)
	}
	for _, q := range []float64{0, 0.1, 0.5, 0.9, 0.99, 1} {
		got, _, _ := a.Duration.Quantile(q)
		want, _, _ := one.Quantile(q)
		if got != want {
			t.Errorf("merged quantile %v = %v, want %v", q, got, want)
		}
	}
	// The peak is the larger one, whichever side has it.
	c := &Row{Key: k, PeakMinute: 2}
	if err := c.Merge(&Row{PeakMinute: 9}); err != nil || c.PeakMinute != 9 {
		t.Errorf("peak after merge: %d, %v", c.PeakMinute, err)
	}
}

func TestRowMergeIndependence(t *testing.T) {
	k := minuteKey(0)
	src := filledRow(k, 2)
	dst := &Row{Key: k}
	if err := dst.Merge(src); err != nil {
		t.Fatal(err)
	}
	want := snapshot(t, dst)
	// Changing the source afterwards leaves the merged row alone.
	src.Errors["E"] += 10
	src.Errors["X"] = 1
	src.Duration.Add(1e6)
	src.QueueWait.Add(1e6)
	src.Started++
	if got := snapshot(t, dst); got != want {
		t.Errorf("merged row changed with its source:\n was %s\n now %s", want, got)
	}
	// And the other way round.
	srcSnap := snapshot(t, src)
	dst.Errors["E"] += 10
	dst.Duration.Add(2e6)
	if got := snapshot(t, src); got != srcSnap {
		t.Errorf("source changed with the merged row:\n was %s\n now %s", srcSnap, got)
	}
}

func TestRowCloneIndependence(t *testing.T) {
	for _, encoded := range []bool{false, true} {
		t.Run(fmt.Sprintf("encoded=%v", encoded), func(t *testing.T) {
			orig := filledRow(minuteKey(0), 1)
			if encoded {
				for _, st := range []*Stat{&orig.Duration, &orig.QueueWait} {
					b, err := st.Encoded()
					if err != nil {
						t.Fatal(err)
					}
					st.SetEncoded(slices.Clone(b))
				}
			}
			before := snapshot(t, orig)
			c := orig.Clone()
			if got := snapshot(t, c); got != before {
				t.Fatalf("clone differs:\n orig  %s\n clone %s", before, got)
			}
			c.Started++
			c.PeakMinute++
			c.Errors["E"]++
			c.Errors["new"] = 1
			c.Duration.Add(1e6)
			c.QueueWait.Add(1e6)
			if err := c.Merge(filledRow(minuteKey(0), 3)); err != nil {
				t.Fatal(err)
			}
			if got := snapshot(t, orig); got != before {
				t.Errorf("original changed with its clone:\n was %s\n now %s", before, got)
			}
			// And the original's changes do not reach the clone.
			cs := snapshot(t, c)
			orig.Errors["E"] += 5
			orig.Duration.Add(3e6)
			if got := snapshot(t, c); got != cs {
				t.Errorf("clone changed with its original:\n was %s\n now %s", cs, got)
			}
		})
	}
	// A row without errors clones to one without errors.
	if c := (&Row{}).Clone(); c.Errors != nil {
		t.Errorf("clone of a row without errors has %v", c.Errors)
	}
}

func TestStat(t *testing.T) {
	var s Stat
	if _, ok, err := s.Quantile(0.5); ok || err != nil || s.Mean() != 0 {
		t.Errorf("empty stat: quantile ok=%v err=%v mean %v", ok, err, s.Mean())
	}
	if b, err := s.Encoded(); b != nil || err != nil {
		t.Errorf("empty stat encodes to %v, %v; want nil", b, err)
	}
	for _, v := range []float64{30, 10, 20, 0, 40} {
		s.Add(v)
	}
	if s.Count != 5 || s.Sum != 100 || s.Min != 0 || s.Max != 40 || s.Mean() != 20 {
		t.Errorf("stat: %+v mean %v", s, s.Mean())
	}
	// Quantiles follow nearest rank within the sketch's 1% and never leave
	// [Min, Max].
	for _, c := range []struct{ q, lo, hi float64 }{{0, 0, 0}, {1, 39.6, 40}, {0.5, 19.8, 20.2}, {0.8, 29.7, 30.3}} {
		v, ok, err := s.Quantile(c.q)
		if !ok || err != nil || v < c.lo || v > c.hi {
			t.Errorf("quantile %v = %v (%v, %v), want within [%v, %v]", c.q, v, ok, err, c.lo, c.hi)
		}
	}
	var big Stat
	big.Add(1000)
	if v, _, _ := big.Quantile(0.5); v != 1000 {
		t.Errorf("one value: median %v, want it clamped to exactly 1000", v)
	}
	// Encoding round trip: a decoded stat answers the same.
	b, err := s.Encoded()
	if err != nil || len(b) == 0 {
		t.Fatalf("Encoded: %d bytes, %v", len(b), err)
	}
	var d Stat
	d.Count, d.Sum, d.Min, d.Max = s.Count, s.Sum, s.Min, s.Max
	d.SetEncoded(b)
	for _, q := range []float64{0, 0.3, 0.5, 0.7, 1} {
		v1, _, _ := s.Quantile(q)
		v2, ok, err := d.Quantile(q)
		if v1 != v2 || !ok || err != nil {
			t.Errorf("decoded quantile %v = %v (%v, %v), want %v", q, v2, ok, err, v1)
		}
	}
	// A corrupt stored sketch is an error, not a panic or a silent empty.
	var bad Stat
	bad.Count = 1
	bad.SetEncoded([]byte{0xff, 0xfe, 0xfd})
	if _, err := bad.Sketch(); err == nil {
		t.Error("a corrupt sketch decoded without error")
	}
	if err := (&Stat{}).Merge(&bad); err == nil {
		t.Error("merging a corrupt sketch gave no error")
	}
}

func TestRowAddFinish(t *testing.T) {
	var r Row
	r.AddFinish(execution.StatusCompleted, "")
	r.AddFinish(execution.StatusFailed, "E")
	r.AddFinish(execution.StatusTimedOut, "E")
	r.AddFinish(execution.StatusCancelled, "")
	if r.Completed != 1 || r.Failed != 1 || r.TimedOut != 1 || r.Cancelled != 1 || r.Finished() != 4 ||
		!mapsEqual(r.Errors, map[string]int64{"E": 2}) {
		t.Errorf("after one finish of each status: %+v", r)
	}
}

// TestChangedFromBoundsUpdate: no row Update changes lies in a bucket
// before ChangedFrom, with or without the event, whatever the change.
func TestChangedFromBoundsUpdate(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	tm := func() time.Time { return base.Add(time.Duration(rng.Int64N(int64(72 * time.Hour)))) }
	credits := 1.5
	for i := range 5000 {
		x := execution.Execution{WorkspaceID: "ws", AgentID: "a", Status: execution.StatusCompleted,
			StartedAt: tm(), FinishedAt: tm()}
		if rng.IntN(2) == 0 {
			x.QueuedAt = tm()
		}
		ev := &execution.Event{Timestamp: tm()}
		if rng.IntN(2) == 0 {
			ev.Credits = &credits
		}
		// An execution's first event is no later than any of its events.
		x.SeenAt = ev.Timestamp
		for _, t := range []time.Time{x.QueuedAt, x.StartedAt, x.FinishedAt} {
			if !t.IsZero() && (x.SeenAt.IsZero() || t.Before(x.SeenAt)) {
				x.SeenAt = t
			}
		}
		c := execution.Change{Started: rng.IntN(2) == 0, Finished: rng.IntN(2) == 0, Conflict: rng.IntN(10) == 0,
			HasDuration: rng.IntN(2) == 0, Duration: time.Second, HasQueueWait: rng.IntN(2) == 0, QueueWait: time.Second}
		u := execution.Update{Event: ev, Execution: x, Change: c}
		for _, withEvent := range []bool{true, false} {
			d := NewDelta()
			d.Update(u)
			if !withEvent {
				u.Event = nil
			}
			from, ok := ChangedFrom(u)
			if d.Len() > 0 && !ok {
				t.Fatalf("update %d (event %v) changes %d rows, ChangedFrom says none", i, withEvent, d.Len())
			}
			for _, k := range d.Keys() {
				if k.Bucket < k.Tier.Bucket(from) {
					t.Fatalf("update %d (event %v): row %v is before ChangedFrom %v", i, withEvent, k, from)
				}
			}
		}
	}
}
