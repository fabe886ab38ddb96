// Package ingest turns request bodies into validated batches of events and
// commits them durably, exactly once, with the execution state and rollups
// they change, in one transaction per group of batches.
package ingest

import (
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/shadower/shadower/internal/execution"
)

// Limits of one batch.
const (
	MaxEvents    = 10_000
	MaxBodyBytes = 16 << 20
	maxDetails   = 100 // problems reported per batch; the rest are summarised
)

// wireEvent is an event as it arrives: the timestamp is kept as text so a
// missing offset can be named rather than guessed.
type wireEvent struct {
	EventID     string               `json:"event_id"`
	Type        string               `json:"type"`
	ExecutionID string               `json:"execution_id"`
	WorkspaceID string               `json:"workspace_id"`
	AgentID     string               `json:"agent_id"`
	Timestamp   string               `json:"timestamp"`
	WorkerID    string               `json:"worker_id"`
	Trigger     string               `json:"trigger"`
	Progress    *float64             `json:"progress"`
	Error       *execution.ErrorInfo `json:"error"`
	Credits     *float64             `json:"credits"`
	Tokens      *float64             `json:"tokens"`
}

// Decode reads a batch from body: a JSON array, or NDJSON when ndjson is
// set, optionally gzip-compressed. Every event is validated against now; the
// batch is returned only when all of it is valid. Errors are *execution.Error.
func Decode(body io.Reader, gzipped, ndjson bool, now time.Time) ([]*execution.Event, error) {
	var gz *gzipReader
	if gzipped {
		zr, err := gzip.NewReader(body)
		if err != nil {
			return nil, &execution.Error{Code: execution.EInvalid, Message: "body is not valid gzip: " + err.Error(), Where: "body"}
		}
		defer zr.Close()
		gz = &gzipReader{r: zr}
		body = gz
	}
	// Cap what is read after decompression too, so a small gzip bomb
	// cannot expand beyond the batch limit.
	lr := &limitedReader{r: body, n: MaxBodyBytes}
	dec := json.NewDecoder(lr)
	events, err := decodeEvents(dec, lr, ndjson, now)
	switch {
	case err == nil:
		return events, nil
	case lr.blank:
		return nil, &execution.Error{Code: execution.EInvalid, Where: "body",
			Message: fmt.Sprintf("body has more than %d bytes of whitespace in a row", maxBlank)}
	case gz != nil && gz.err != nil && gz.err != io.EOF:
		return nil, &execution.Error{Code: execution.EInvalid, Message: "body is not valid gzip: " + gz.err.Error(), Where: "body"}
	}
	return nil, err
}

// decodeEvents reads the events of a batch through dec.
func decodeEvents(dec *json.Decoder, lr *limitedReader, ndjson bool, now time.Time) ([]*execution.Event, error) {

	if !ndjson {
		tok, err := dec.Token()
		if err != nil || tok != json.Delim('[') {
			if lr.exceeded {
				return nil, tooLarge()
			}
			return nil, &execution.Error{Code: execution.EInvalid, Message: "body must be a JSON array of events (or NDJSON with Content-Type application/x-ndjson)", Where: "body"}
		}
	}

	var (
		events  []*execution.Event
		details []execution.Detail
		more    = 0
	)
	for i := 0; ; i++ {
		if !ndjson && !dec.More() {
			break
		}
		var w wireEvent
		err := dec.Decode(&w)
		if ndjson && err == io.EOF {
			break
		}
		if i >= MaxEvents {
			return nil, &execution.Error{Code: execution.ETooLarge, Message: fmt.Sprintf("a batch holds at most %d events", MaxEvents), Where: "body"}
		}
		if err != nil {
			if lr.exceeded {
				return nil, tooLarge()
			}
			var te *json.UnmarshalTypeError
			if !errors.As(err, &te) {
				details = append(details, execution.Detail{Index: i, Message: "malformed JSON: " + err.Error()})
				return nil, invalid(details, more)
			}
			field := te.Field
			if field == "" {
				field = "(event)"
			}
			details = appendCapped(details, &more, execution.Detail{Index: i, Field: field, Message: "must be a JSON " + jsonKind(te.Type.Kind().String())})
			continue
		}
		ev, ds := w.event(i, now)
		for _, d := range ds {
			details = appendCapped(details, &more, d)
		}
		events = append(events, ev)
	}
	if !ndjson {
		if _, err := dec.Token(); err != nil {
			if lr.exceeded {
				return nil, tooLarge()
			}
			return nil, &execution.Error{Code: execution.EInvalid, Message: "malformed JSON: " + err.Error(), Where: "body"}
		}
		if _, err := dec.Token(); err != io.EOF {
			return nil, &execution.Error{Code: execution.EInvalid, Message: "unexpected data after the JSON array", Where: "body"}
		}
	}
	if len(details) > 0 {
		return nil, invalid(details, more)
	}
	if len(events) == 0 {
		return nil, &execution.Error{Code: execution.EInvalid, Message: "the batch holds no events", Where: "body"}
	}
	return events, nil
}

func (w *wireEvent) event(i int, now time.Time) (*execution.Event, []execution.Detail) {
	ev := &execution.Event{
		EventID: w.EventID, Type: execution.Type(w.Type), ExecutionID: w.ExecutionID,
		WorkspaceID: w.WorkspaceID, AgentID: w.AgentID, WorkerID: w.WorkerID, Trigger: w.Trigger,
		Progress: w.Progress, Error: w.Error, Credits: w.Credits, Tokens: w.Tokens,
	}
	var ds []execution.Detail
	if w.Timestamp != "" {
		ts, err := time.Parse(time.RFC3339Nano, w.Timestamp)
		if err != nil {
			ds = append(ds, execution.Detail{Index: i, Field: "timestamp", Message: "must be RFC 3339 with an offset, e.g. 2026-01-02T15:04:05.123Z"})
			// Keep validating the rest without complaining twice.
			ts = now
		}
		ev.Timestamp = ts.UTC()
	}
	return ev, append(ds, execution.Validate(ev, i, now)...)
}

func appendCapped(ds []execution.Detail, more *int, d execution.Detail) []execution.Detail {
	if len(ds) >= maxDetails {
		*more++
		return ds
	}
	return append(ds, d)
}

func invalid(ds []execution.Detail, more int) error {
	msg := "the batch was rejected; nothing of it was stored"
	if more > 0 {
		msg += fmt.Sprintf(" (%d further problems not listed)", more)
	}
	return &execution.Error{Code: execution.EInvalidEvent, Message: msg, Details: ds}
}

func tooLarge() error {
	return &execution.Error{Code: execution.ETooLarge, Message: fmt.Sprintf("a batch holds at most %d bytes after decompression", MaxBodyBytes), Where: "body"}
}

func jsonKind(goKind string) string {
	switch {
	case goKind == "string":
		return "string"
	case strings.HasPrefix(goKind, "float"), strings.HasPrefix(goKind, "int"):
		return "number"
	case goKind == "struct", goKind == "ptr", goKind == "map":
		return "object"
	}
	return goKind
}

// maxBlank caps a run of whitespace: the JSON decoder rescans buffered
// whitespace each time it reads on, so megabytes of it would cost seconds
// of CPU for nothing.
const maxBlank = 64 << 10

// limitedReader reads at most n bytes and remembers whether the source held
// more, or ran too much whitespace in a row.
type limitedReader struct {
	r        io.Reader
	n        int64
	exceeded bool
	run      int // whitespace bytes in a row so far
	blank    bool
}

func (l *limitedReader) Read(p []byte) (int, error) {
	n, err := l.read(p)
	for _, c := range p[:n] {
		if c == ' ' || c == '\n' || c == '\r' || c == '\t' {
			if l.run++; l.run > maxBlank {
				l.blank = true
				return 0, errors.New("too much whitespace")
			}
		} else {
			l.run = 0
		}
	}
	return n, err
}

func (l *limitedReader) read(p []byte) (int, error) {
	if l.n <= 0 {
		// Probe one byte to tell "exactly at the limit" from "over it".
		var b [1]byte
		n, _ := l.r.Read(b[:])
		if n > 0 {
			l.exceeded = true
			return 0, errors.New("body too large")
		}
		return 0, io.EOF
	}
	if int64(len(p)) > l.n {
		p = p[:l.n]
	}
	n, err := l.r.Read(p)
	l.n -= int64(n)
	return n, err
}

// gzipReader remembers the decompressor's error, so a corrupt stream is
// reported as such rather than as the malformed JSON it leaves behind.
type gzipReader struct {
	r   io.Reader
	err error
}

func (g *gzipReader) Read(p []byte) (int, error) {
	n, err := g.r.Read(p)
	if err != nil && g.err == nil {
		g.err = err
	}
	return n, err
}
