package rollup

import (
	"encoding/json"
	"fmt"
	"math"

	"github.com/shadower/shadower/internal/execution"
	"github.com/shadower/shadower/internal/sketch"
)

// AllAgents is the agent id of a workspace's total row. It lies outside the
// id alphabet, so no real agent can collide with it.
const AllAgents = "*"

// Key names one row: a workspace's agent (or AllAgents) in one bucket of a tier.
type Key struct {
	WorkspaceID string
	Tier        Tier
	Bucket      int64 // Unix seconds, aligned to Tier
	AgentID     string
}

// Stat summarises a set of values in milliseconds: exact count, sum, min and
// max, and a sketch for quantiles. The sketch is decoded lazily, so rows read
// only for their counts never pay for it.
type Stat struct {
	Count    int64
	Sum      float64
	Min, Max float64
	enc      []byte
	sk       *sketch.Sketch
}

// Add records one value.
func (s *Stat) Add(v float64) {
	sk := s.mustSketch()
	if s.Count == 0 || v < s.Min {
		s.Min = v
	}
	if s.Count == 0 || v > s.Max {
		s.Max = v
	}
	s.Count++
	s.Sum += v
	sk.Add(v)
	s.enc = nil
}

// Merge adds every value of o.
func (s *Stat) Merge(o *Stat) error {
	if o.Count == 0 {
		return nil
	}
	sk, err := s.Sketch()
	if err != nil {
		return err
	}
	// A stored sketch not decoded yet merges straight from its bytes.
	if o.sk == nil && len(o.enc) > 0 {
		if err := sk.MergeBinary(o.enc); err != nil {
			return fmt.Errorf("merge sketch: %w", err)
		}
	} else if o.sk != nil {
		sk.Merge(o.sk)
	}
	if s.Count == 0 || o.Min < s.Min {
		s.Min = o.Min
	}
	if s.Count == 0 || o.Max > s.Max {
		s.Max = o.Max
	}
	s.Count += o.Count
	s.Sum += o.Sum
	s.enc = nil
	return nil
}

// Sketch returns the quantile sketch, decoding it on first use.
func (s *Stat) Sketch() (*sketch.Sketch, error) {
	if s.sk != nil {
		return s.sk, nil
	}
	if len(s.enc) == 0 {
		s.sk = sketch.New()
		return s.sk, nil
	}
	sk, err := sketch.Decode(s.enc)
	if err != nil {
		return nil, fmt.Errorf("decode sketch: %w", err)
	}
	s.sk = sk
	return sk, nil
}

func (s *Stat) mustSketch() *sketch.Sketch {
	sk, err := s.Sketch()
	if err != nil {
		// Add is only called on rows built in memory, whose sketch is never
		// an undecoded blob; reaching this is a programming error.
		panic(err)
	}
	return sk
}

// Encoded returns the sketch's stored form (nil when empty).
func (s *Stat) Encoded() ([]byte, error) {
	if s.enc != nil || s.Count == 0 {
		return s.enc, nil
	}
	sk, err := s.Sketch()
	if err != nil {
		return nil, err
	}
	b, err := sk.MarshalBinary()
	if err != nil {
		return nil, err
	}
	s.enc = b
	return b, nil
}

// SetEncoded sets the sketch from its stored form, as read from a store.
func (s *Stat) SetEncoded(b []byte) { s.enc, s.sk = b, nil }

// Mean is the exact mean, or 0 when empty.
func (s *Stat) Mean() float64 {
	if s.Count == 0 {
		return 0
	}
	return s.Sum / float64(s.Count)
}

// Quantile is the nearest-rank quantile from the sketch, clamped into the
// exact [Min, Max] (which only narrows the error).
func (s *Stat) Quantile(q float64) (float64, bool, error) {
	if s.Count == 0 {
		return 0, false, nil
	}
	sk, err := s.Sketch()
	if err != nil {
		return 0, false, err
	}
	v, ok := sk.Quantile(q)
	if !ok {
		return 0, false, nil
	}
	return math.Min(math.Max(v, s.Min), s.Max), true, nil
}

// clone copies s deeply enough that changing the copy leaves s intact.
func (s *Stat) clone() Stat {
	c := *s
	if s.sk != nil {
		c.sk = s.sk.Copy()
	}
	return c
}

// Row is what one bucket knows about one agent (or a whole workspace).
type Row struct {
	Key
	Started    int64
	Completed  int64
	Failed     int64
	TimedOut   int64
	Cancelled  int64
	PeakMinute int64 // the most executions finished in one minute of the bucket
	Duration   Stat
	QueueWait  Stat
	// Errors counts finished executions by error type. Rows read from a
	// store keep the stored form until ErrorCounts is asked for, since most
	// reads (every agent's rows) never need it.
	Errors  map[string]int64
	errEnc  [][]byte
	Credits float64
	Tokens  float64
}

// SetEncodedErrors sets the error counts from their stored form (JSON).
func (r *Row) SetEncodedErrors(b []byte) { r.errEnc = [][]byte{b} }

// ErrorCounts returns the error counts, decoding what was read from a store.
func (r *Row) ErrorCounts() (map[string]int64, error) {
	for _, b := range r.errEnc {
		var m map[string]int64
		if err := json.Unmarshal(b, &m); err != nil {
			return nil, fmt.Errorf("decode error counts: %w", err)
		}
		for k, v := range m {
			if r.Errors == nil {
				r.Errors = map[string]int64{}
			}
			r.Errors[k] += v
		}
	}
	r.errEnc = nil
	return r.Errors, nil
}

// Finished counts the executions that finished in the bucket.
func (r *Row) Finished() int64 { return r.Completed + r.Failed + r.TimedOut + r.Cancelled }

// AddFinish counts one execution finishing with status st.
func (r *Row) AddFinish(st execution.Status, errType string) {
	switch st {
	case execution.StatusCompleted:
		r.Completed++
	case execution.StatusFailed:
		r.Failed++
	case execution.StatusTimedOut:
		r.TimedOut++
	case execution.StatusCancelled:
		r.Cancelled++
	}
	if errType != "" {
		if r.Errors == nil {
			r.Errors = map[string]int64{}
		}
		r.Errors[errType]++
	}
}

// Merge adds o's counts and values into r. The peak becomes the larger of the
// two, which is exact when both rows describe the same series of minutes.
func (r *Row) Merge(o *Row) error {
	r.Started += o.Started
	r.Completed += o.Completed
	r.Failed += o.Failed
	r.TimedOut += o.TimedOut
	r.Cancelled += o.Cancelled
	r.PeakMinute = max(r.PeakMinute, o.PeakMinute)
	r.Credits += o.Credits
	r.Tokens += o.Tokens
	for k, v := range o.Errors {
		if r.Errors == nil {
			r.Errors = map[string]int64{}
		}
		r.Errors[k] += v
	}
	r.errEnc = append(r.errEnc[:len(r.errEnc):len(r.errEnc)], o.errEnc...)
	if err := r.Duration.Merge(&o.Duration); err != nil {
		return err
	}
	return r.QueueWait.Merge(&o.QueueWait)
}

// Clone returns a deep copy of r.
func (r *Row) Clone() *Row {
	c := *r
	c.Duration = r.Duration.clone()
	c.QueueWait = r.QueueWait.clone()
	if r.Errors != nil {
		c.Errors = make(map[string]int64, len(r.Errors))
		for k, v := range r.Errors {
			c.Errors[k] = v
		}
	}
	return &c
}
