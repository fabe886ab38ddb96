package sketch

import (
	"bytes"
	"encoding/binary"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"
)

func newRand() *rand.Rand { return rand.New(rand.NewPCG(20240501, 7)) }

func lognormal(r *rand.Rand, median, sigma float64) float64 {
	return median * math.Exp(sigma*r.NormFloat64())
}

func pareto(r *rand.Rand, xm, alpha float64) float64 {
	return xm / math.Pow(1-r.Float64(), 1/alpha) // 1-U is in (0, 1]
}

func gen(n int, f func() float64) []float64 {
	v := make([]float64, n)
	for i := range v {
		v[i] = f()
	}
	return v
}

// bimodal returns nLow fast values around 200 ms and nHigh slow ones around
// 60 s, shuffled, so that the quantile at nLow/(nLow+nHigh) is the largest
// fast value and the next rank is across the gap.
func bimodal(r *rand.Rand, nLow, nHigh int) []float64 {
	v := append(gen(nLow, func() float64 { return lognormal(r, 200, 0.3) }),
		gen(nHigh, func() float64 { return lognormal(r, 60000, 0.3) })...)
	r.Shuffle(len(v), func(i, j int) { v[i], v[j] = v[j], v[i] })
	return v
}

type dataset struct {
	name   string
	values []float64
}

func datasets() []dataset {
	r := newRand()
	withZeros := gen(20000, func() float64 {
		if r.IntN(10) < 3 {
			return 0
		}
		return lognormal(r, 50, 1.5)
	})
	return []dataset{
		{"lognormal σ=0.25", gen(20000, func() float64 { return lognormal(r, 200, 0.25) })},
		{"lognormal σ=1", gen(20000, func() float64 { return lognormal(r, 200, 1) })},
		{"lognormal σ=2.5", gen(20000, func() float64 { return lognormal(r, 200, 2.5) })},
		{"pareto α=1.1", gen(20000, func() float64 { return pareto(r, 1, 1.1) })},
		{"pareto α=2", gen(20000, func() float64 { return pareto(r, 5, 2) })},
		{"bimodal p90 at gap", bimodal(r, 9000, 1000)},
		{"bimodal p99 at gap", bimodal(r, 9900, 100)},
		{"bimodal p75 at gap", bimodal(r, 750, 250)},
		{"uniform ints 0..1000", gen(20000, func() float64 { return float64(r.IntN(1001)) })},
		{"uniform ints 1..20", gen(5000, func() float64 { return float64(1 + r.IntN(20)) })},
		{"constant 42", gen(1000, func() float64 { return 42 })},
		{"constant 0", gen(1000, func() float64 { return 0 })},
		{"30% zeros", withZeros},
		{"n=1", []float64{17.5}},
		{"n=1 zero", []float64{0}},
		{"n=2", []float64{3, 250}},
		{"n=3", []float64{1000, 0.5, 3}},
		{"n=3 with zero", []float64{0, 8, 9000}},
		{"sub-ms and hours", gen(5000, func() float64 { return math.Pow(10, -3+10*r.Float64()) })},
		{"n=1e6", gen(1_000_000, func() float64 { return lognormal(r, 120, 1.2) })},
	}
}

// testQuantiles are the reported percentiles, min and max rank, and a sweep.
var testQuantiles = func() []float64 {
	q := []float64{0, 0.5, 0.75, 0.9, 0.95, 0.99, 0.999, 1}
	for k := range 201 {
		q = append(q, float64(k)/200)
	}
	return q
}()

// exactQuantile is the oracle: the element at 1-based rank ceil(q*n),
// at least 1, of the sorted values.
func exactQuantile(sorted []float64, q float64) float64 {
	rank := int(math.Ceil(q * float64(len(sorted))))
	rank = max(1, min(len(sorted), rank))
	return sorted[rank-1]
}

func build(values []float64) *Sketch {
	s := New()
	for _, v := range values {
		s.Add(v)
	}
	return s
}

// worstRelErr collects the largest relative error seen by any test.
var worstRelErr float64

// checkAccuracy fails unless every test quantile of s is within
// RelativeAccuracy of the exact nearest-rank value of values (exactly 0 for
// 0), and returns the worst relative error.
func checkAccuracy(t *testing.T, name string, s *Sketch, values []float64) float64 {
	t.Helper()
	sorted := slices.Sorted(slices.Values(values))
	if got := s.Count(); got != uint64(len(values)) {
		t.Fatalf("%s: Count = %d, want %d", name, got, len(values))
	}
	worst := 0.0
	for _, q := range testQuantiles {
		want := exactQuantile(sorted, q)
		got, ok := s.Quantile(q)
		if !ok {
			t.Fatalf("%s: Quantile(%v) not ok", name, q)
		}
		if want == 0 {
			if got != 0 {
				t.Errorf("%s: Quantile(%v) = %v, want exactly 0", name, q, got)
			}
			continue
		}
		e := math.Abs(got-want) / want
		if e > RelativeAccuracy {
			t.Errorf("%s: Quantile(%v) = %v, want %v (relative error %.5f > %v)", name, q, got, want, e, RelativeAccuracy)
		}
		worst = max(worst, e)
	}
	worstRelErr = max(worstRelErr, worst)
	return worst
}

func TestQuantileAccuracy(t *testing.T) {
	for _, d := range datasets() {
		worst := checkAccuracy(t, d.name, build(d.values), d.values)
		t.Logf("%-22s n=%-7d worst relative error %.6f", d.name, len(d.values), worst)
	}
	t.Logf("worst relative error over all tests so far: %.6f", worstRelErr)
}

// TestNearestRankNotInterpolated pins the rank definition on a case where
// ddsketch's own q*(n-1) rank gives the middle value instead.
func TestNearestRankNotInterpolated(t *testing.T) {
	s := build([]float64{1, 10, 100})
	got, _ := s.Quantile(0.75) // nearest rank ceil(2.25) = 3
	if math.Abs(got-100)/100 > RelativeAccuracy {
		t.Errorf("Quantile(0.75) of {1,10,100} = %v, want ≈100", got)
	}
	got, _ = s.Quantile(0.34) // ceil(1.02) = 2
	if math.Abs(got-10)/10 > RelativeAccuracy {
		t.Errorf("Quantile(0.34) of {1,10,100} = %v, want ≈10", got)
	}
}

func TestAddSpecialValues(t *testing.T) {
	s := New()
	for _, v := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
		s.Add(v)
	}
	if !s.Empty() || s.Count() != 0 {
		t.Fatalf("NaN/Inf were counted: Count = %d", s.Count())
	}
	if _, ok := s.Quantile(0.5); ok {
		t.Error("Quantile of empty sketch is ok")
	}
	s.Add(-5) // counts as 0
	s.Add(math.MaxFloat64)
	if s.Count() != 2 {
		t.Fatalf("Count = %d, want 2", s.Count())
	}
	if v, _ := s.Quantile(0); v != 0 {
		t.Errorf("negative value: Quantile(0) = %v, want 0", v)
	}
	if v, _ := s.Quantile(1); math.IsInf(v, 0) || math.IsNaN(v) || v < 1e307 {
		t.Errorf("MaxFloat64: Quantile(1) = %v, want a large finite value", v)
	}
	if _, ok := s.Quantile(math.NaN()); ok {
		t.Error("Quantile(NaN) is ok")
	}
	// Out-of-range q clamps to the extremes.
	lo, _ := s.Quantile(-1)
	hi, _ := s.Quantile(2)
	if lo != 0 || hi < 1e307 {
		t.Errorf("Quantile(-1), Quantile(2) = %v, %v", lo, hi)
	}
}

func TestZeroValueAndCopy(t *testing.T) {
	var s Sketch // the zero value must work
	if !s.Empty() {
		t.Fatal("zero Sketch not empty")
	}
	s.Add(5)
	c := s.Copy()
	c.Add(1000)
	c.Add(0)
	if s.Count() != 1 || c.Count() != 3 {
		t.Fatalf("Count after Copy: orig %d, copy %d", s.Count(), c.Count())
	}
	if v, _ := s.Quantile(1); math.Abs(v-5)/5 > RelativeAccuracy {
		t.Errorf("adding to a copy changed the original: max = %v", v)
	}
}

// roundTrip encodes and decodes s, failing the test on error.
func roundTrip(t testing.TB, s *Sketch) *Sketch {
	t.Helper()
	b, err := s.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	d, err := Decode(b)
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	return d
}

func encode(t testing.TB, s *Sketch) []byte {
	t.Helper()
	b, err := s.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// assertSame fails unless a and b have the same count, the same encoding and
// identical quantiles.
func assertSame(t *testing.T, name string, a, b *Sketch) {
	t.Helper()
	if a.Count() != b.Count() {
		t.Fatalf("%s: Count %d != %d", name, a.Count(), b.Count())
	}
	if !bytes.Equal(encode(t, a), encode(t, b)) {
		t.Errorf("%s: encodings differ", name)
	}
	for _, q := range testQuantiles {
		va, oka := a.Quantile(q)
		vb, okb := b.Quantile(q)
		if va != vb || oka != okb {
			t.Fatalf("%s: Quantile(%v) = %v, %v; want %v, %v", name, q, vb, okb, va, oka)
		}
	}
}

func TestMergeManySmall(t *testing.T) {
	r := newRand()
	values := gen(200_000, func() float64 {
		if r.IntN(50) == 0 {
			return 0
		}
		return lognormal(r, 300, 1.3)
	})
	total := New()
	for chunk := range slices.Chunk(values, 20) { // 10,000 sketches
		total.Merge(roundTrip(t, build(chunk)))
	}
	checkAccuracy(t, "10,000 merged", total, values)
	// Merging is lossless: the result is the sketch of all the values.
	assertSame(t, "10,000 merged vs direct", build(values), total)
}

// day returns one day of per-minute values, some minutes empty, the shape
// drifting by hour and with a slow mode that comes and goes.
func day(r *rand.Rand) [][]float64 {
	minutes := make([][]float64, 1440)
	for m := range minutes {
		hour := m / 60
		n := r.IntN(150)
		if m%97 == 0 {
			n = 0
		}
		minutes[m] = gen(n, func() float64 {
			switch {
			case r.IntN(40) == 0:
				return 0
			case hour%5 == 0 && r.IntN(8) == 0:
				return lognormal(r, 60000, 0.2)
			default:
				return lognormal(r, 100+20*float64(hour), 0.8)
			}
		})
	}
	return minutes
}

func TestMergeTiers(t *testing.T) {
	minutes := day(newRand())
	var all []float64
	dayS := New()
	for h := range 24 {
		hourS := New()
		var hourValues []float64
		for _, mv := range minutes[h*60 : (h+1)*60] {
			m := roundTrip(t, build(mv))
			if len(mv) == 0 {
				if !m.Empty() {
					t.Fatal("empty minute decoded non-empty")
				}
			} else {
				checkAccuracy(t, "minute", m, mv)
			}
			hourS.Merge(m)
			hourValues = append(hourValues, mv...)
		}
		hourS = roundTrip(t, hourS)
		checkAccuracy(t, "hour", hourS, hourValues)
		dayS.Merge(hourS)
		all = append(all, hourValues...)
	}
	dayS = roundTrip(t, dayS)
	checkAccuracy(t, "day", dayS, all)
	assertSame(t, "day vs direct", build(all), dayS)
}

func TestMergeOrderIndependent(t *testing.T) {
	r := newRand()
	var parts []*Sketch
	for _, mv := range day(r) {
		parts = append(parts, build(mv))
	}
	mergeAll := func(ps []*Sketch) *Sketch {
		s := New()
		for _, p := range ps {
			s.Merge(p)
		}
		return s
	}
	want := mergeAll(parts)
	for range 3 {
		shuffled := slices.Clone(parts)
		r.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
		assertSame(t, "shuffled", want, mergeAll(shuffled))
	}
	// Pairwise tree: merge copies so parts stay intact.
	level := slices.Clone(parts)
	for len(level) > 1 {
		var next []*Sketch
		for i := 0; i < len(level); i += 2 {
			s := level[i].Copy()
			if i+1 < len(level) {
				s.Merge(level[i+1])
			}
			next = append(next, s)
		}
		level = next
	}
	assertSame(t, "pairwise tree", want, level[0])

	// nil and empty merge as nothing; self-merge doubles.
	s := want.Copy()
	s.Merge(nil)
	s.Merge(New())
	assertSame(t, "nil/empty merge", want, s)
	s.Merge(s)
	if s.Count() != 2*want.Count() {
		t.Errorf("self-merge Count = %d, want %d", s.Count(), 2*want.Count())
	}
}

func TestRoundTrip(t *testing.T) {
	for _, d := range datasets() {
		s := build(d.values)
		b := encode(t, s)
		got, err := Decode(b)
		if err != nil {
			t.Fatalf("%s: %v", d.name, err)
		}
		assertSame(t, d.name, s, got)
		if !slices.Equal(s.Histogram(histBounds), got.Histogram(histBounds)) {
			t.Errorf("%s: histograms differ after round trip", d.name)
		}
		if !bytes.Equal(b, encode(t, got)) {
			t.Errorf("%s: re-encoding differs", d.name)
		}
	}
	for _, b := range [][]byte{nil, {}, encode(t, New())} {
		s, err := Decode(b)
		if err != nil || !s.Empty() {
			t.Errorf("Decode(%x) = %v, %v; want empty sketch", b, s, err)
		}
	}
}

func TestEncodedSize(t *testing.T) {
	r := newRand()
	minute := build(gen(1000, func() float64 { return lognormal(r, 200, 1) }))
	b := encode(t, minute)
	bins := 0
	minute.bins.ForEach(func(int, float64) bool { bins++; return false })
	t.Logf("typical minute (1000 lognormal values, σ=1): %d bins, %d bytes (%.2f bytes/bin)", bins, len(b), float64(len(b))/float64(bins))
	if len(b) > 3*bins+16 {
		t.Errorf("encoding is %d bytes for %d bins, want at most 3 bytes a bin", len(b), bins)
	}
}

func TestAppendBinary(t *testing.T) {
	s := build([]float64{0, 1, 2, 3, 1e4})
	b, err := s.AppendBinary([]byte("prefix"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(b, []byte("prefix")) || !bytes.Equal(b[6:], encode(t, s)) {
		t.Errorf("AppendBinary = %x", b)
	}
}

// enc builds an encoding by hand: version, zero count, bin count, then the
// given varint fields for the bins.
func enc(version byte, zero, n uint64, firstKey int64, rest ...uint64) []byte {
	b := []byte{version}
	b = binary.AppendUvarint(b, zero)
	b = binary.AppendUvarint(b, n)
	if n > 0 {
		b = binary.AppendVarint(b, firstKey)
	}
	for _, u := range rest {
		b = binary.AppendUvarint(b, u)
	}
	return b
}

func TestDecodeErrors(t *testing.T) {
	valid := encode(t, build([]float64{0, 1, 5, 5, 80}))
	cases := map[string][]byte{
		"bad version":          append([]byte{2}, valid[1:]...),
		"truncated":            valid[:len(valid)-1],
		"trailing":             append(slices.Clone(valid), 0),
		"truncated header":     {1},
		"overlong varint":      {1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01},
		"too many bins":        enc(1, 0, 1<<40, 0, 1),
		"key below range":      enc(1, 0, 1, int64(minKey)-1, 1),
		"key above range":      enc(1, 0, 1, int64(maxKey)+1, 1),
		"zero gap":             enc(1, 0, 2, 5, 1, 0, 1),
		"gap past range":       enc(1, 0, 2, int64(maxKey)-1, 1, 2, 1),
		"huge gap":             enc(1, 0, 2, 0, 1, math.MaxUint64, 1),
		"empty bin":            enc(1, 0, 1, 5, 0),
		"zero count too big":   enc(1, maxCount+1, 0, 0),
		"bin count too big":    enc(1, 0, 1, 5, maxCount+1),
		"counts sum too big":   enc(1, maxCount, 1, 5, 1),
		"counts sum overflows": enc(1, 1, 2, 5, math.MaxUint64, 1, math.MaxUint64),
	}
	for name, b := range cases {
		if s, err := Decode(b); err == nil {
			t.Errorf("%s: Decode(%x) = %v, want error", name, b, s)
		}
	}
	// The extremes of the range are fine, and the sums up to 2^53.
	for name, b := range map[string][]byte{
		"extreme keys": enc(1, 0, 2, int64(minKey), 1, uint64(maxKey-minKey), 1),
		"max count":    enc(1, maxCount-1, 1, 5, 1),
	} {
		if _, err := Decode(b); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestMergeBinary(t *testing.T) {
	a := build([]float64{0, 1, 2, 300})
	b := build([]float64{0, 7, 4000, 5e5})
	want := a.Copy()
	want.Merge(b)
	got := a.Copy()
	if err := got.MergeBinary(encode(t, b)); err != nil {
		t.Fatal(err)
	}
	assertSame(t, "MergeBinary", want, got)

	// A bad bin late in the input leaves the sketch untouched.
	bad := encode(t, b)
	bad[len(bad)-1] = 0 // last count 0
	got = a.Copy()
	if err := got.MergeBinary(bad); err == nil {
		t.Fatal("MergeBinary accepted an empty bin")
	}
	assertSame(t, "after failed MergeBinary", a, got)
}

// TestDecodeMemoryBounded decodes the widest sketch the format allows: two
// bins at the extreme keys make the dense store span the whole key range.
func TestDecodeMemoryBounded(t *testing.T) {
	b := enc(1, 0, 2, int64(minKey), 1, uint64(maxKey-minKey), 1)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	s, err := Decode(b)
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatal(err)
	}
	alloc := after.TotalAlloc - before.TotalAlloc
	t.Logf("widest sketch: keys %d..%d, decode allocated %d bytes", minKey, maxKey, alloc)
	// The race detector's bookkeeping inflates the figure; the bound is
	// about "a few hundred KiB, not gigabytes".
	if alloc > 4<<20 {
		t.Errorf("decode allocated %d bytes, want under 4 MiB", alloc)
	}
	lo, _ := s.Quantile(0)
	hi, _ := s.Quantile(1)
	if !(lo > 0 && lo < 1e-300) || !(hi > 1e300) || math.IsInf(hi, 0) {
		t.Errorf("extreme bins map to %v and %v", lo, hi)
	}
}

var histBounds = []float64{1, 5, 10, 50, 100, 200, 250, 500, 1000, 2500, 5000, 10000, 60000}

func TestHistogram(t *testing.T) {
	r := newRand()
	values := gen(50000, func() float64 {
		switch r.IntN(4) {
		case 0:
			return 0
		case 1: // exactly on and right around the boundaries
			return histBounds[r.IntN(len(histBounds))] * (1 + (r.Float64()-0.5)*0.03)
		default:
			return lognormal(r, 150, 2)
		}
	})
	for _, bounds := range [][]float64{histBounds, append([]float64{0}, histBounds...), {100, 1000}} {
		s := build(values)
		h := s.Histogram(bounds)
		if len(h) != len(bounds)-1 {
			t.Fatalf("len = %d, want %d", len(h), len(bounds)-1)
		}
		var sum uint64
		for _, c := range h {
			sum += c
		}
		if sum != s.Count() {
			t.Errorf("counts sum to %d, want %d", sum, s.Count())
		}
		// At each inner boundary B, the number counted below it may differ
		// from the exact one only by values within RelativeAccuracy of B.
		var below uint64
		for j := 1; j < len(bounds)-1; j++ {
			below += h[j-1]
			B := bounds[j]
			var exact, nearBelow, nearAbove uint64
			for _, x := range values {
				near := math.Abs(x-B) <= RelativeAccuracy*x
				if x < B {
					exact++
					if near {
						nearBelow++
					}
				} else if near {
					nearAbove++
				}
			}
			if below+nearBelow < exact || below > exact+nearAbove {
				t.Errorf("bounds %v: %d counted below %v, exact %d (-%d/+%d near the boundary allowed)", bounds, below, B, exact, nearBelow, nearAbove)
			}
		}
	}
}

func TestHistogramEdges(t *testing.T) {
	s := build([]float64{0, 0.5, 3, 7, 1e6})
	if h := s.Histogram([]float64{1}); h != nil {
		t.Errorf("one bound: %v, want nil", h)
	}
	if h := s.Histogram(nil); h != nil {
		t.Errorf("no bounds: %v, want nil", h)
	}
	if h := s.Histogram([]float64{1, 5, 10}); !slices.Equal(h, []uint64{3, 2}) {
		t.Errorf("got %v, want [3 2] (below first and above last clamp)", h)
	}
	if h := New().Histogram([]float64{1, 5, 10}); !slices.Equal(h, []uint64{0, 0}) {
		t.Errorf("empty: %v", h)
	}
}

func TestMappingRange(t *testing.T) {
	for _, k := range []int{minKey, maxKey} {
		v := logMapping.Value(k)
		if math.IsInf(v, 0) || math.IsNaN(v) || v <= 0 {
			t.Errorf("Value(%d) = %v", k, v)
		}
	}
	if a := logMapping.RelativeAccuracy(); a >= RelativeAccuracy {
		t.Errorf("mapping accuracy %v leaves no margin under %v", a, RelativeAccuracy)
	}
}
