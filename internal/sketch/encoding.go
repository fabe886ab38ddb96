package sketch

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
)

// Encoding, version 1. Integers are varints as in encoding/binary.
//
//	byte     version (1)
//	uvarint  zero count
//	uvarint  number of bins n
//	n bins, by ascending key:
//	  varint   key of the first bin; uvarint gap (>= 1) to the previous key for the others
//	  uvarint  count (>= 1)
//
// The version also pins the index mapping: bin keys are only meaningful for
// the gamma they were made with.
const version1 = 1

var (
	errVersion   = errors.New("sketch: unknown encoding version")
	errTruncated = errors.New("sketch: truncated or malformed varint")
	errTrailing  = errors.New("sketch: trailing bytes")
	errCount     = errors.New("sketch: total count exceeds 2^53")
)

// MarshalBinary encodes s in the compact format read by [Decode].
func (s *Sketch) MarshalBinary() ([]byte, error) {
	return s.AppendBinary(nil)
}

// AppendBinary appends the encoding of s to b.
func (s *Sketch) AppendBinary(b []byte) ([]byte, error) {
	if s.count > maxCount {
		return b, errCount
	}
	n := 0
	if s.bins != nil {
		s.bins.ForEach(func(int, float64) bool { n++; return false })
	}
	// Typical bins take 2 bytes (gap < 128, count < 128); 3 leaves room.
	b = slices.Grow(b, 1+2*binary.MaxVarintLen64+3*n)
	b = append(b, version1)
	b = binary.AppendUvarint(b, s.zero)
	b = binary.AppendUvarint(b, uint64(n))
	prev, first := 0, true
	if s.bins != nil {
		s.bins.ForEach(func(key int, c float64) bool {
			if first {
				b = binary.AppendVarint(b, int64(key))
				first = false
			} else {
				b = binary.AppendUvarint(b, uint64(key-prev))
			}
			b = binary.AppendUvarint(b, uint64(c))
			prev = key
			return false
		})
	}
	return b, nil
}

// Decode decodes a sketch encoded by [Sketch.MarshalBinary]. Empty input
// decodes to an empty sketch. Corrupt input yields an error, never a panic,
// and the memory it can make Decode allocate is bounded by the range of bin
// keys the mapping can produce (well under 1 MiB).
func Decode(b []byte) (*Sketch, error) {
	s := New()
	if err := s.MergeBinary(b); err != nil {
		return nil, err
	}
	return s, nil
}

// MergeBinary merges an encoded sketch into s, as Merge(Decode(b)) would but
// without building the intermediate sketch: use it to fold many stored
// sketches into one. On error s is left unchanged.
func (s *Sketch) MergeBinary(b []byte) error {
	if len(b) == 0 {
		return nil
	}
	// Validate everything first, so that s changes only for a good input.
	h, err := parseHeader(b)
	if err != nil {
		return err
	}
	r := h.bins()
	var firstKey, lastKey int
	var firstCount, lastCount uint64
	total := h.zero
	for i := range h.n {
		key, c, err := r.next()
		if err != nil {
			return err
		}
		if c > maxCount-total {
			return errCount
		}
		total += c
		if i == 0 {
			firstKey, firstCount = key, c
		}
		lastKey, lastCount = key, c
	}
	if !r.done() {
		return errTrailing
	}

	s.zero += h.zero
	s.count += total
	if h.n == 0 {
		return nil
	}
	// The dense store grows to fit each key out of its range; adding the
	// extreme keys first sizes it once instead of once per few dozen bins.
	st := s.positive()
	st.AddWithCount(lastKey, float64(lastCount))
	if h.n > 1 {
		st.AddWithCount(firstKey, float64(firstCount))
	}
	r = h.bins()
	for i := range h.n {
		key, c, _ := r.next()
		if i > 0 && i < h.n-1 {
			st.AddWithCount(key, float64(c))
		}
	}
	return nil
}

type header struct {
	zero uint64
	n    int
	rest []byte // the bins
}

func parseHeader(b []byte) (header, error) {
	if b[0] != version1 {
		return header{}, fmt.Errorf("%w %d", errVersion, b[0])
	}
	b = b[1:]
	zero, k := binary.Uvarint(b)
	if k <= 0 {
		return header{}, errTruncated
	}
	b = b[k:]
	if zero > maxCount {
		return header{}, errCount
	}
	n, k := binary.Uvarint(b)
	if k <= 0 {
		return header{}, errTruncated
	}
	b = b[k:]
	// Keys are distinct and each bin takes at least two bytes.
	if n > uint64(maxKey-minKey+1) || n > uint64(len(b)/2) {
		return header{}, fmt.Errorf("sketch: %d bins cannot fit", n)
	}
	return header{zero: zero, n: int(n), rest: b}, nil
}

func (h header) bins() binReader { return binReader{b: h.rest, first: true} }

// binReader walks the bins of an encoding, checking each.
type binReader struct {
	b     []byte
	pos   int
	key   int
	first bool
}

func (r *binReader) next() (key int, count uint64, err error) {
	if r.first {
		k, n := binary.Varint(r.b[r.pos:])
		if n <= 0 {
			return 0, 0, errTruncated
		}
		if k < int64(minKey) || k > int64(maxKey) {
			return 0, 0, fmt.Errorf("sketch: bin key %d out of range", k)
		}
		r.pos, r.key, r.first = r.pos+n, int(k), false
	} else {
		gap, ok := r.uvarint()
		if !ok {
			return 0, 0, errTruncated
		}
		// Compare before adding so a huge gap cannot overflow.
		if gap == 0 || gap > uint64(maxKey-r.key) {
			return 0, 0, fmt.Errorf("sketch: bin gap %d invalid after key %d", gap, r.key)
		}
		r.key += int(gap)
	}
	c, ok := r.uvarint()
	if !ok {
		return 0, 0, errTruncated
	}
	if c == 0 {
		return 0, 0, errors.New("sketch: empty bin")
	}
	return r.key, c, nil
}

// uvarint reads a uvarint, taking the common one-byte case inline.
func (r *binReader) uvarint() (uint64, bool) {
	if r.pos < len(r.b) && r.b[r.pos] < 0x80 {
		r.pos++
		return uint64(r.b[r.pos-1]), true
	}
	v, n := binary.Uvarint(r.b[r.pos:])
	if n <= 0 {
		return 0, false
	}
	r.pos += n
	return v, true
}

// done reports whether the whole input was read.
func (r *binReader) done() bool { return r.pos == len(r.b) }
