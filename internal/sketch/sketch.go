package sketch

import (
	"math"

	"github.com/DataDog/sketches-go/ddsketch/mapping"
	"github.com/DataDog/sketches-go/ddsketch/store"
)

// RelativeAccuracy is the guaranteed bound on the relative error of
// [Sketch.Quantile] against the exact nearest-rank value.
const RelativeAccuracy = 0.01

// mappingAccuracy is the accuracy the index mapping is built for. It is
// tighter than RelativeAccuracy so that float rounding in the log/exp of the
// mapping, which can put a value right at a bin boundary into the
// neighbouring bin, cannot push the error past the promise; the margin costs
// about 7% more bins than 0.0099 would. Changing it changes what every bin
// key means: it needs a new encoding version.
const mappingAccuracy = 0.009

// maxCount bounds the total count an encoding may carry. The store keeps
// per-bin counts as float64, which are exact integers only up to 2^53.
const maxCount = 1 << 53

var (
	logMapping = mustMapping()
	// minKey and maxKey are the extreme bin keys the mapping can produce;
	// decoding rejects anything outside, which also bounds the store size.
	minKey = logMapping.Index(logMapping.MinIndexableValue())
	maxKey = logMapping.Index(logMapping.MaxIndexableValue())
)

func mustMapping() *mapping.LogarithmicMapping {
	m, err := mapping.NewLogarithmicMapping(mappingAccuracy)
	if err != nil {
		panic(err)
	}
	return m
}

// Sketch is a mergeable quantile sketch of non-negative values. The zero
// value is an empty sketch ready to use.
//
// A Sketch is not safe for concurrent use: guard it with a mutex or keep it
// to one goroutine.
type Sketch struct {
	zero  uint64            // exact count of zeros (and of values too small to map)
	count uint64            // exact count of all added values
	bins  *store.DenseStore // positive values by bin key; nil until the first one
}

// New returns an empty sketch.
func New() *Sketch { return &Sketch{} }

// Add records v. Negative values count as 0, and so do positive values below
// about 2.3e-308, the smallest the mapping can index; NaN and ±Inf are
// ignored. Values above about 1.26e308 are clamped to the largest bin.
func (s *Sketch) Add(v float64) {
	switch {
	case math.IsNaN(v) || math.IsInf(v, 0):
		return
	case v < logMapping.MinIndexableValue():
		s.zero++
	default:
		s.positive().Add(logMapping.Index(min(v, logMapping.MaxIndexableValue())))
	}
	s.count++
}

func (s *Sketch) positive() *store.DenseStore {
	if s.bins == nil {
		s.bins = store.NewDenseStore()
	}
	return s.bins
}

// Merge adds the values of o to s, losslessly: the result is the sketch of
// the union of both inputs. o may be nil or empty.
func (s *Sketch) Merge(o *Sketch) {
	if o == nil || o.count == 0 {
		return
	}
	if o.bins != nil && !o.bins.IsEmpty() {
		s.positive().MergeWith(o.bins)
	}
	s.zero += o.zero
	s.count += o.count
}

// Count returns the exact number of values added.
func (s *Sketch) Count() uint64 { return s.count }

// Empty reports whether no value was added.
func (s *Sketch) Empty() bool { return s.count == 0 }

// Copy returns an independent copy of s.
func (s *Sketch) Copy() *Sketch {
	c := *s
	if s.bins != nil {
		c.bins = s.bins.Copy().(*store.DenseStore)
	}
	return &c
}

// Quantile returns the nearest-rank q-quantile: the element at 1-based rank
// ceil(q*n) (at least 1) of the sorted values, within RelativeAccuracy
// relative error; an exact 0 is returned as 0. q is clamped to [0, 1]. ok is
// false when s is empty or q is NaN.
func (s *Sketch) Quantile(q float64) (v float64, ok bool) {
	if s.count == 0 || math.IsNaN(q) {
		return 0, false
	}
	r := rankIndex(q, s.count)
	if r < s.zero {
		return 0, true
	}
	// The zeros come first in sorted order; the rest are in the store. Its
	// counts are exact integers, so the float rank is exact too.
	return logMapping.Value(s.bins.KeyAtRank(float64(r - s.zero))), true
}

// rankIndex returns the 0-based nearest rank ceil(q*n)-1 clamped to [0, n-1].
// (ddsketch's own GetValueAtQuantile uses rank q*(n-1), which is a different
// definition and disagrees with nearest rank, most visibly for small n.)
func rankIndex(q float64, n uint64) uint64 {
	r := math.Ceil(q * float64(n))
	switch {
	case r < 1: // also q < 0
		return 0
	case r >= float64(n): // also q > 1
		return n - 1
	}
	return uint64(r) - 1
}

// Histogram returns the number of values in each [bounds[i], bounds[i+1]);
// values below bounds[0] count in the first bucket, values at or above the
// last bound in the last one. bounds must be ascending; with fewer than two
// bounds the result is nil.
//
// Each bin of the sketch is placed whole by its representative value, so a
// value within RelativeAccuracy of a boundary may be counted on either side
// of it. Zeros are exact.
func (s *Sketch) Histogram(bounds []float64) []uint64 {
	if len(bounds) < 2 {
		return nil
	}
	h := make([]uint64, len(bounds)-1)
	i := 0
	// Bins arrive in ascending value order, so the bucket only moves right.
	put := func(v float64, c uint64) {
		for i < len(h)-1 && v >= bounds[i+1] {
			i++
		}
		h[i] += c
	}
	if s.zero > 0 {
		put(0, s.zero)
	}
	if s.bins != nil {
		s.bins.ForEach(func(key int, c float64) bool {
			put(logMapping.Value(key), uint64(c))
			return false
		})
	}
	return h
}
