package sketch

import (
	"bytes"
	"testing"
)

// FuzzDecode feeds arbitrary bytes to Decode. It must never panic, and what
// it accepts must re-encode to a canonical form that decodes to the same
// sketch. The seed corpus is in testdata/fuzz/FuzzDecode.
func FuzzDecode(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := Decode(b)
		if err != nil {
			if s != nil {
				t.Fatal("Decode returned a sketch with an error")
			}
			return
		}
		// The input may use non-minimal varints; its re-encoding may not.
		b1 := encode(t, s)
		s1, err := Decode(b1)
		if err != nil {
			t.Fatalf("re-encoding does not decode: %v", err)
		}
		if b2 := encode(t, s1); !bytes.Equal(b1, b2) {
			t.Fatalf("re-encoding not stable:\n%x\n%x", b1, b2)
		}
		if s.Count() != s1.Count() {
			t.Fatalf("Count %d != %d", s.Count(), s1.Count())
		}
		for _, q := range []float64{0, 0.25, 0.5, 0.9, 0.99, 1} {
			v, ok := s.Quantile(q)
			v1, ok1 := s1.Quantile(q)
			if v != v1 || ok != ok1 || ok != !s.Empty() {
				t.Fatalf("Quantile(%v): %v,%v vs %v,%v", q, v, ok, v1, ok1)
			}
		}
		var sum uint64
		for _, c := range s.Histogram(histBounds) {
			sum += c
		}
		if sum != s.Count() {
			t.Fatalf("histogram sums to %d, Count %d", sum, s.Count())
		}
		// Merging into a non-empty sketch adds counts exactly.
		m := build([]float64{0, 1, 100})
		m.Merge(s)
		if m.Count() != s.Count()+3 {
			t.Fatalf("merged Count %d, want %d", m.Count(), s.Count()+3)
		}
	})
}
