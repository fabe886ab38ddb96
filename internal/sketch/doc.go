/*
Package sketch provides mergeable quantile sketches of durations, for
percentiles over time-bucketed rollups.

A [Sketch] answers "what is the p99?" for any number of values in a few
hundred bytes, and two sketches merge into the sketch of both inputs, so
minute sketches can be rolled up into hours and days and any time range can
be answered by merging the buckets that cover it:

	s := sketch.New()
	for _, d := range durationsMillis {
		s.Add(d)
	}
	p99, ok := s.Quantile(0.99)

# How it works

The sketch is a DDSketch (github.com/DataDog/sketches-go). Positive values
are counted in logarithmic bins: bin i holds the values in
[γ^i, γ^(i+1)), with γ = (1+a)/(1-a). Every value in a bin is within a
relative distance a of the bin's representative value 2γ^(i+1)/(1+γ), so
answering with that value is off by at most a, whatever the distribution.
Here a is 0.009, a margin under the promised [RelativeAccuracy] of 1%.
Zeros (and negative inputs) are counted exactly in a separate zero bin.

Only the counts per bin are kept, so merging is adding counts: it is exact,
associative and commutative. A sketch of the day built from 1440 minute
sketches is identical, bit for bit, to the sketch of all its values. Size
depends on the spread of the values, not their number: at most about 128
bins per decade (factor of 10), and only non-empty bins are stored.

# Nearest rank

[Sketch.Quantile] returns the value at nearest rank: the element at 1-based
rank ceil(q*n) of the sorted values. It computes that rank itself, because
sketches-go's GetValueAtQuantile uses rank q*(n-1), a different definition:
for the values {1, 10, 100} it reports 10 as the 75th percentile where
nearest rank gives 100. Counts are exact integers, so the bin holding the
wanted rank is found exactly, and the only error is the bin width.

# Histograms

[Sketch.Histogram] counts values between bounds from the bins. A bin is
placed whole by its representative value, so a value within 1% of a bound
may be counted on either side of it; totals are always exact.

# Encoding

[Sketch.MarshalBinary] writes a versioned varint format: the zero count,
then the non-empty bins as key gaps and counts, about two bytes a bin.
[Decode] validates everything (version, key range, gaps, counts summing to
at most 2^53) and so never panics on corrupt input, and the memory it
allocates is bounded by the range of keys the mapping can produce.
[Sketch.MergeBinary] folds an encoding straight into a sketch without an
intermediate one, for queries that merge many stored sketches.

A Sketch is not safe for concurrent use.
*/
package sketch
