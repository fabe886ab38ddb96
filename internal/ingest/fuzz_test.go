package ingest_test

import (
	"bytes"
	"compress/gzip"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/shadower/shadower/internal/execution"
	"github.com/shadower/shadower/internal/ingest"
)

// fuzzNow is the fixed present of FuzzDecode.
var fuzzNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// gzipMagic starts every gzip stream.
var gzipMagic = []byte{0x1f, 0x8b}

// FuzzDecode feeds arbitrary bodies to Decode, as a JSON array or NDJSON,
// plain or gzipped. It must never panic; a batch it accepts must hold at
// most MaxEvents events, each valid against the contract; a batch it refuses
// must be refused with an *execution.Error of a code the API documents,
// locating every problem of an invalid event.
//
// When gzipped is set and the body does not already start with the gzip
// magic bytes, the body is compressed here, so mutations of the JSON inside
// a gzip stream are explored too; a body that starts with them (a real,
// truncated or corrupt gzip stream) is passed as it is. The seed corpus is in
// testdata/fuzz/FuzzDecode.
func FuzzDecode(f *testing.F) {
	f.Fuzz(func(t *testing.T, body []byte, gzipped, ndjson bool) {
		in := body
		if gzipped && !bytes.HasPrefix(body, gzipMagic) {
			in = compress(t, body)
		}
		events, err := ingest.Decode(bytes.NewReader(in), gzipped, ndjson, fuzzNow)
		if err == nil {
			checkAccepted(t, events)
			return
		}
		if events != nil {
			t.Fatalf("Decode returned %d events with an error: %v", len(events), err)
		}
		checkRefused(t, err)
	})
}

// gzipWriters saves allocating a compressor for every input.
var gzipWriters = sync.Pool{New: func() any { return gzip.NewWriter(nil) }}

func compress(t *testing.T, b []byte) []byte {
	var buf bytes.Buffer
	zw := gzipWriters.Get().(*gzip.Writer)
	defer gzipWriters.Put(zw)
	zw.Reset(&buf)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func checkAccepted(t *testing.T, events []*execution.Event) {
	if len(events) == 0 {
		t.Fatal("Decode accepted a batch without events")
	}
	if len(events) > ingest.MaxEvents {
		t.Fatalf("Decode accepted %d events, more than MaxEvents (%d)", len(events), ingest.MaxEvents)
	}
	for i, ev := range events {
		if ev == nil {
			t.Fatalf("event %d is nil", i)
		}
		if ds := execution.Validate(ev, i, fuzzNow); len(ds) > 0 {
			t.Fatalf("accepted event %d does not validate: %+v (event %+v)", i, ds, ev)
		}
		if ev.Timestamp.Location() != time.UTC {
			t.Fatalf("event %d: timestamp %v is not in UTC", i, ev.Timestamp)
		}
	}
}

func checkRefused(t *testing.T, err error) {
	var e *execution.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %T is not an *execution.Error: %v", err, err)
	}
	switch e.Code {
	case execution.EInvalid, execution.ETooLarge:
		if e.Where == "" {
			t.Fatalf("%s error without Where: %v", e.Code, err)
		}
	case execution.EInvalidEvent:
		if len(e.Details) == 0 {
			t.Fatalf("invalid_event error without details: %v", err)
		}
		for _, d := range e.Details {
			if d.Index < 0 || d.Index >= ingest.MaxEvents {
				t.Fatalf("detail with index %d out of range: %+v", d.Index, d)
			}
			if d.Field == "" && d.Message == "" {
				t.Fatalf("detail with neither field nor message: %+v", d)
			}
		}
	default:
		t.Fatalf("unexpected error code %q: %v", e.Code, err)
	}
	if e.Message == "" {
		t.Fatalf("%s error without a message", e.Code)
	}
}
