package postgres

import (
	"bytes"
	"context"
	"encoding/binary"
	"math"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/shadower/shadower/internal/execution"
	"github.com/shadower/shadower/internal/rollup"
)

// copyRows encodes rows for COPY ... FROM STDIN (FORMAT binary).
//
// The writer copies in its new rows (event ids, events, executions and
// rollup rows read missing): COPY costs PostgreSQL about half the time of
// an INSERT from arrays of the same rows. It encodes the data itself,
// rather than through pgx.Conn.CopyFrom, to send it in one message with
// the statements before it (BEGIN, SAVEPOINT, RELEASE), which then cost no
// round trip of their own. The types are the few the writer copies: text,
// bigint, double precision, timestamptz, jsonb and bytea.
type copyRows struct {
	buf  []byte
	cols int
}

// copySignature starts every binary COPY stream, followed by the flags and
// header extension length (both zero).
const copySignature = "PGCOPY\n\377\r\n\x00"

// copyHeaderLen is the length of the header: the signature, flags and
// header extension length.
const copyHeaderLen = len(copySignature) + 8

func newCopyRows(cols, sizeHint int) *copyRows {
	c := &copyRows{buf: make([]byte, 0, copyHeaderLen+sizeHint), cols: cols}
	c.buf = append(c.buf, copySignature...)
	c.buf = binary.BigEndian.AppendUint32(c.buf, 0) // flags
	c.buf = binary.BigEndian.AppendUint32(c.buf, 0) // header extension
	return c
}

// appendRows adds the rows of o, which has the same columns.
func (c *copyRows) appendRows(o *copyRows) {
	c.buf = append(c.buf, o.buf[copyHeaderLen:]...)
}

// row starts a row; its cols fields follow.
func (c *copyRows) row() { c.buf = binary.BigEndian.AppendUint16(c.buf, uint16(c.cols)) }

func (c *copyRows) null() { c.buf = binary.BigEndian.AppendUint32(c.buf, math.MaxUint32) } // length -1

func (c *copyRows) text(s string) {
	c.buf = binary.BigEndian.AppendUint32(c.buf, uint32(len(s)))
	c.buf = append(c.buf, s...)
}

func (c *copyRows) int8(v int64) {
	c.buf = binary.BigEndian.AppendUint32(c.buf, 8)
	c.buf = binary.BigEndian.AppendUint64(c.buf, uint64(v))
}

func (c *copyRows) float8(v float64) {
	c.buf = binary.BigEndian.AppendUint32(c.buf, 8)
	c.buf = binary.BigEndian.AppendUint64(c.buf, math.Float64bits(v))
}

// pgEpochMicros is 2000-01-01 UTC, PostgreSQL's epoch, in Unix microseconds.
const pgEpochMicros = 946_684_800_000_000

// timestamptz is t to the microsecond, truncated as pgx does.
func (c *copyRows) timestamptz(t time.Time) {
	c.buf = binary.BigEndian.AppendUint32(c.buf, 8)
	us := t.Unix()*1_000_000 + int64(t.Nanosecond())/1000 - pgEpochMicros
	c.buf = binary.BigEndian.AppendUint64(c.buf, uint64(us))
}

// jsonb is JSON text in jsonb's binary form (format version 1, then the
// text); nil is NULL.
func (c *copyRows) jsonb(b []byte) {
	if b == nil {
		c.null()
		return
	}
	c.buf = binary.BigEndian.AppendUint32(c.buf, uint32(len(b)+1))
	c.buf = append(c.buf, 1)
	c.buf = append(c.buf, b...)
}

// bytea is raw bytes; nil is NULL.
func (c *copyRows) bytea(b []byte) {
	if b == nil {
		c.null()
		return
	}
	c.buf = binary.BigEndian.AppendUint32(c.buf, uint32(len(b)))
	c.buf = append(c.buf, b...)
}

// copyIn runs pre (statements without parameters, each ending in ';', or
// empty) and COPY table (cols) FROM STDIN with rows, in one message and so
// one round trip. When a statement fails, PostgreSQL skips the rest of the
// message; the transaction is then aborted.
func copyIn(ctx context.Context, conn *pgx.Conn, pre, table string, cols []string, rows *copyRows) error {
	data := binary.BigEndian.AppendUint16(rows.buf, math.MaxUint16) // trailer: -1
	sql := pre + `COPY ` + table + ` (` + strings.Join(cols, ", ") + `) FROM STDIN (FORMAT binary)`
	_, err := conn.PgConn().CopyFrom(ctx, bytes.NewReader(data), sql)
	return err
}

// nullableInt8 is *p, or NULL when p is nil.
func (c *copyRows) nullableInt8(p *int64) {
	if p == nil {
		c.null()
		return
	}
	c.int8(*p)
}

// execution adds x as a row of execCopyColumns.
func (c *copyRows) execution(x *execution.Execution, now time.Time) {
	c.row()
	c.text(x.WorkspaceID)
	c.text(x.ExecutionID)
	c.text(x.AgentID)
	c.text(string(x.Status))
	c.nullableInt8(nanos(x.SeenAt))
	c.nullableInt8(nanos(x.QueuedAt))
	c.nullableInt8(nanos(x.StartedAt))
	c.nullableInt8(nanos(x.FinishedAt))
	c.text(x.WorkerID)
	c.text(x.Trigger)
	if x.Progress == nil {
		c.null()
	} else {
		c.float8(*x.Progress)
	}
	c.nullableInt8(nanos(x.ProgressAt))
	if x.Error == nil {
		c.null()
		c.null()
	} else {
		c.text(x.Error.Type)
		c.text(x.Error.Message)
	}
	c.float8(x.Credits)
	c.float8(x.Tokens)
	c.int8(x.SortAt().UnixNano())
	c.timestamptz(now)
}

// rollup adds r as a row of rollupCopyColumns.
func (c *copyRows) rollup(r *rollup.Row) error {
	errs, dur, qw, err := encodeRollup(r)
	if err != nil {
		return err
	}
	c.row()
	c.text(r.WorkspaceID)
	c.int8(r.Bucket)
	c.text(r.AgentID)
	c.int8(r.Started)
	c.int8(r.Completed)
	c.int8(r.Failed)
	c.int8(r.TimedOut)
	c.int8(r.Cancelled)
	c.int8(r.PeakMinute)
	c.float8(r.Credits)
	c.float8(r.Tokens)
	c.jsonb(errs)
	c.int8(r.Duration.Count)
	c.float8(r.Duration.Sum)
	c.float8(r.Duration.Min)
	c.float8(r.Duration.Max)
	c.bytea(dur)
	c.int8(r.QueueWait.Count)
	c.float8(r.QueueWait.Sum)
	c.float8(r.QueueWait.Min)
	c.float8(r.QueueWait.Max)
	c.bytea(qw)
	return nil
}
