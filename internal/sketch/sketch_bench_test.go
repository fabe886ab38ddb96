package sketch

import (
	"math/rand/v2"
	"testing"
)

// benchSketch returns a sketch of about 300 bins: 10,000 lognormal values
// around 200 ms.
func benchSketch(seed uint64) *Sketch {
	r := rand.New(rand.NewPCG(seed, 1))
	return build(gen(10000, func() float64 { return lognormal(r, 200, 0.9) }))
}

// reportBins adds the bin count to the results; call it after the loop,
// which resets reported metrics.
func reportBins(b *testing.B, s *Sketch) {
	n := 0
	s.bins.ForEach(func(int, float64) bool { n++; return false })
	b.ReportMetric(float64(n), "bins")
}

func BenchmarkAdd(b *testing.B) {
	r := newRand()
	values := gen(4096, func() float64 { return lognormal(r, 200, 1) })
	s := New()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		s.Add(values[i&4095])
		i++
	}
}

func BenchmarkMerge(b *testing.B) {
	x, y := benchSketch(1), benchSketch(2)
	b.ReportAllocs()
	for b.Loop() {
		x.Merge(y)
	}
	reportBins(b, y)
}

func BenchmarkMarshalBinary(b *testing.B) {
	s := benchSketch(1)
	var enc []byte
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if enc, err = s.MarshalBinary(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(enc)), "bytes")
	reportBins(b, s)
}

func BenchmarkDecode(b *testing.B) {
	s := benchSketch(1)
	enc, _ := s.MarshalBinary()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Decode(enc); err != nil {
			b.Fatal(err)
		}
	}
	reportBins(b, s)
}

// BenchmarkMergeBinary is the query path: folding stored sketches into one.
func BenchmarkMergeBinary(b *testing.B) {
	acc := benchSketch(2)
	enc, _ := benchSketch(1).MarshalBinary()
	b.ReportAllocs()
	for b.Loop() {
		if err := acc.MergeBinary(enc); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkQuantile(b *testing.B) {
	s := benchSketch(1)
	b.ReportAllocs()
	for b.Loop() {
		s.Quantile(0.99)
	}
	reportBins(b, s)
}
