package ingest

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/shadower/shadower/internal/execution"
)

var now = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

const valid = `{"event_id":"e1","type":"started","execution_id":"x1","workspace_id":"ws","agent_id":"a","timestamp":"2026-03-01T11:59:00Z"}`

// with returns the valid event with one field replaced (or removed when v is "").
func with(field, v string) string {
	fields := map[string]string{
		"event_id": `"e1"`, "type": `"started"`, "execution_id": `"x1"`, "workspace_id": `"ws"`,
		"agent_id": `"a"`, "timestamp": `"2026-03-01T11:59:00Z"`,
	}
	if v == "" {
		delete(fields, field)
	} else {
		fields[field] = v
	}
	var parts []string
	for k, val := range fields {
		parts = append(parts, fmt.Sprintf("%q:%s", k, val))
	}
	return "{" + strings.Join(parts, ",") + "}"
}

func TestValidationTable(t *testing.T) {
	long := strings.Repeat("a", 129)
	cases := []struct {
		name  string
		event string
		field string // the field the single detail must name; "" means valid
	}{
		{"valid", valid, ""},
		{"missing event_id", with("event_id", ""), "event_id"},
		{"event_id too long", with("event_id", `"`+long+`"`), "event_id"},
		{"event_id not a string", with("event_id", `5`), "event_id"},
		{"missing type", with("type", ""), "type"},
		{"unknown type", with("type", `"finished"`), "type"},
		{"missing execution_id", with("execution_id", ""), "execution_id"},
		{"execution_id bad char", with("execution_id", `"a b"`), "execution_id"},
		{"workspace_id too long", with("workspace_id", `"`+long+`"`), "workspace_id"},
		{"agent_id bad char", with("agent_id", `"a#b"`), "agent_id"},
		{"missing timestamp", with("timestamp", ""), "timestamp"},
		{"timestamp without offset", with("timestamp", `"2026-03-01T11:59:00"`), "timestamp"},
		{"timestamp not RFC 3339", with("timestamp", `"yesterday"`), "timestamp"},
		{"timestamp 6 minutes ahead", with("timestamp", `"2026-03-01T12:06:00Z"`), "timestamp"},
		{"timestamp 4 minutes ahead", with("timestamp", `"2026-03-01T12:04:00Z"`), ""},
		{"timestamp with offset", with("timestamp", `"2026-03-01T13:59:00+02:00"`), ""},
		{"worker_id bad", with("worker_id", `"w 1"`), "worker_id"},
		{"trigger too long", with("trigger", `"`+strings.Repeat("t", 65)+`"`), "trigger"},
		{"progress on started ok", with("progress", `0`), ""},
		{"progress over 100", with("progress", `101`), "progress"},
		{"progress negative", with("progress", `-1`), "progress"},
		{"progress a string", with("progress", `"50"`), "progress"},
		{"progress event without progress", with("type", `"progress"`), "progress"},
		{"error on started", with("error", `{"type":"x","message":"m"}`), "error"},
		{"credits negative", with("credits", `-0.5`), "credits"},
		{"tokens a string", with("tokens", `"many"`), "tokens"},
		{"tokens zero", with("tokens", `0`), ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			evs, err := Decode(strings.NewReader("["+tc.event+"]"), false, false, now)
			if tc.field == "" {
				if err != nil || len(evs) != 1 {
					t.Fatalf("want valid, got %v", err)
				}
				return
			}
			var e *execution.Error
			if !errors.As(err, &e) || e.Code != execution.EInvalidEvent {
				t.Fatalf("want invalid_event, got %v", err)
			}
			if len(e.Details) != 1 || e.Details[0].Field != tc.field || e.Details[0].Index != 0 {
				t.Fatalf("want one detail on %q, got %+v", tc.field, e.Details)
			}
		})
	}
}

func TestErrorRules(t *testing.T) {
	failed := func(errJSON string) string {
		return strings.Replace(with("type", `"failed"`), "{", `{"error":`+errJSON+",", 1)
	}
	for _, tc := range []struct {
		errJSON, field string
	}{
		{`{"type":"rate_limit","message":"429 from provider"}`, ""},
		{`{"type":"","message":"m"}`, "error.type"},
		{`{"type":"` + strings.Repeat("e", 129) + `"}`, "error.type"},
		{`{"type":"x","message":"` + strings.Repeat("m", 2001) + `"}`, "error.message"},
		{`{"type":7}`, "error.type"},
	} {
		_, err := Decode(strings.NewReader("["+failed(tc.errJSON)+"]"), false, false, now)
		var e *execution.Error
		if tc.field == "" {
			if err != nil {
				t.Fatalf("%s: %v", tc.errJSON[:20], err)
			}
			continue
		}
		if !errors.As(err, &e) || len(e.Details) == 0 || e.Details[0].Field != tc.field {
			t.Fatalf("want %s problem, got %v", tc.field, err)
		}
	}
}

func TestDetailsNameTheIndex(t *testing.T) {
	body := "[" + valid + "," + valid + "," + with("agent_id", "") + "]"
	_, err := Decode(strings.NewReader(body), false, false, now)
	var e *execution.Error
	if !errors.As(err, &e) || len(e.Details) != 1 || e.Details[0].Index != 2 {
		t.Fatalf("want one problem at index 2, got %v", err)
	}
}

func TestBodies(t *testing.T) {
	nd := valid + "\n" + strings.Replace(valid, `"e1"`, `"e2"`, 1) + "\n"
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte("[" + valid + "]"))
	zw.Close()
	cases := []struct {
		name     string
		body     string
		gzip     bool
		ndjson   bool
		n        int
		wantCode string
	}{
		{"array", "[" + valid + "]", false, false, 1, ""},
		{"ndjson", nd, false, true, 2, ""},
		{"gzip", gz.String(), true, false, 1, ""},
		{"not gzip", "[" + valid + "]", true, false, 0, execution.EInvalid},
		{"object not array", valid, false, false, 0, execution.EInvalid},
		{"empty array", "[]", false, false, 0, execution.EInvalid},
		{"truncated", "[" + valid, false, false, 0, execution.EInvalid},
		{"truncated event", "[" + valid[:30], false, false, 0, execution.EInvalidEvent},
		{"trailing garbage", "[" + valid + "] x", false, false, 0, execution.EInvalid},
		{"element not an object", "[5]", false, false, 0, execution.EInvalidEvent},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			evs, err := Decode(strings.NewReader(tc.body), tc.gzip, tc.ndjson, now)
			if tc.wantCode == "" {
				if err != nil || len(evs) != tc.n {
					t.Fatalf("got %d events, %v", len(evs), err)
				}
				return
			}
			if got := execution.ErrorCode(err); got != tc.wantCode {
				t.Fatalf("code %s, want %s (%v)", got, tc.wantCode, err)
			}
		})
	}
}

// TestHostileBodies: whitespace floods and corrupt gzip streams are named
// as such, and cheaply.
func TestHostileBodies(t *testing.T) {
	blank := "[" + strings.Repeat(" ", 1<<20) + valid + "]"
	_, err := Decode(strings.NewReader(blank), false, false, now)
	var e *execution.Error
	if !errors.As(err, &e) || e.Code != execution.EInvalid || !strings.Contains(e.Message, "whitespace") {
		t.Fatalf("a megabyte of spaces: %v", err)
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte("[" + valid + "," + valid + "]"))
	zw.Close()
	b := gz.Bytes()
	b[len(b)-5] ^= 0xff // break the checksum
	_, err = Decode(bytes.NewReader(b), true, false, now)
	if !errors.As(err, &e) || !strings.Contains(e.Message, "gzip") {
		t.Fatalf("a corrupt gzip stream: %v", err)
	}
}

func TestLimits(t *testing.T) {
	var b strings.Builder
	b.WriteString("[")
	for i := 0; i <= MaxEvents; i++ {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString(strings.Replace(valid, `"e1"`, fmt.Sprintf(`"e%d"`, i), 1))
	}
	b.WriteString("]")
	if _, err := Decode(strings.NewReader(b.String()), false, false, now); execution.ErrorCode(err) != execution.ETooLarge {
		t.Fatalf("10,001 events: %v", err)
	}
	// A gzip bomb: a small body that expands past the byte limit.
	var gz bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression)
	zw.Write([]byte("[" + valid + "," + `{"event_id":"`))
	zw.Write(bytes.Repeat([]byte("a"), MaxBodyBytes+10))
	zw.Close()
	if gz.Len() > 1<<20 {
		t.Fatalf("bomb is %d bytes", gz.Len())
	}
	if _, err := Decode(&gz, true, false, now); execution.ErrorCode(err) != execution.ETooLarge {
		t.Fatalf("gzip bomb: %v", err)
	}
}
