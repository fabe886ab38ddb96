package postgres

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/shadower/shadower/internal/execution"
)

// claimAndLog claims the events' ids and logs the new events in one
// statement: the ids that were not taken come back, and only those events
// go into the log. For small batches: one round trip.
const claimAndLog = `WITH input AS (
	SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::timestamptz[], $6::jsonb[])
		AS t(workspace_id, event_id, execution_id, type, ts, body)
), claimed AS (
	INSERT INTO execution_event_ids (workspace_id, event_id, received_at)
	SELECT workspace_id, event_id, $7 FROM input
	ON CONFLICT DO NOTHING
	RETURNING workspace_id, event_id
), logged AS (
	INSERT INTO execution_logs (workspace_id, event_id, execution_id, type, ts, received_at, body)
	SELECT i.workspace_id, i.event_id, i.execution_id, i.type, i.ts, $7, i.body
	FROM input i JOIN claimed c ON c.workspace_id = i.workspace_id AND c.event_id = i.event_id
)
SELECT workspace_id, event_id FROM claimed`

// claim claims ids alone and returns those that were not taken.
const claim = `INSERT INTO execution_event_ids (workspace_id, event_id, received_at)
SELECT workspace_id, event_id, $3 FROM unnest($1::text[], $2::text[]) AS t(workspace_id, event_id)
ON CONFLICT DO NOTHING
RETURNING workspace_id, event_id`

// copyFrom is the batch size from which the events go in by COPY.
//
// Their ids are then first copied into execution_event_ids as if all were
// new, inside a savepoint: a plain insert, about a third cheaper for
// PostgreSQL than the INSERT ... ON CONFLICT DO NOTHING of claim (which
// inserts each row speculatively, then confirms it). Should an id be taken (a repeat, or the same event
// committed meanwhile by another node: the COPY waits for that node's
// transaction, then fails), the COPY fails, the savepoint is rolled back
// and claim sorts new from duplicate. After such a failure the next
// claimFallbacks batches go to claim directly, so a client that often
// repeats events does not pay twice each time.
const (
	copyFrom       = 500
	claimFallbacks = 32
)

var (
	idColumns  = []string{"workspace_id", "event_id", "received_at"}
	logColumns = []string{"workspace_id", "event_id", "execution_id", "type", "ts", "received_at", "body"}
)

func (t *tx) InsertEvents(evs []*execution.Event, receivedAt time.Time) ([]bool, error) {
	out := make([]bool, len(evs))
	if len(evs) == 0 {
		return out, nil
	}
	if err := t.ensurePart(receivedAt); err != nil {
		return nil, err
	}
	// A repeat inside the batch is a duplicate of its first occurrence,
	// which alone is sent. Ids are claimed in one sorted order, so two
	// nodes claiming overlapping batches wait for each other instead of
	// deadlocking.
	first := make(map[eventKey]int, len(evs))
	idx := make([]int, 0, len(evs))
	for i, ev := range evs {
		k := eventKey{ev.WorkspaceID, ev.EventID}
		if _, dup := first[k]; dup {
			continue
		}
		first[k] = i
		idx = append(idx, i)
	}
	slices.SortFunc(idx, func(a, b int) int {
		x, y := evs[a], evs[b]
		return cmp.Or(strings.Compare(x.WorkspaceID, y.WorkspaceID), strings.Compare(x.EventID, y.EventID))
	})
	var err error
	switch {
	case len(idx) < copyFrom:
		err = t.claimAndLog(evs, idx, receivedAt, out, first)
	case t.db.claimFallbacks.Load() > 0:
		t.db.claimFallbacks.Add(-1)
		err = t.claimThenCopy(evs, idx, receivedAt, out, first)
	default:
		err = t.copyNew(evs, idx, receivedAt, out, first)
	}
	if err != nil {
		return nil, fmt.Errorf("insert events: %w", err)
	}
	for i, ev := range evs {
		if out[i] {
			t.addFresh(eventKey{ev.WorkspaceID, ev.ExecutionID})
		}
	}
	return out, nil
}

func (t *tx) addFresh(k eventKey) {
	if t.freshSeen == nil {
		t.freshSeen = map[eventKey]bool{}
	}
	if !t.freshSeen[k] {
		t.freshSeen[k] = true
		t.fresh = append(t.fresh, k)
	}
}

func (t *tx) claimAndLog(evs []*execution.Event, idx []int, recv time.Time, out []bool, first map[eventKey]int) error {
	n := len(idx)
	ws, ids, xids, types := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	ts := make([]time.Time, n)
	bodies := make([][]byte, n)
	for j, i := range idx {
		ev := evs[i]
		body := ev.AppendJSON(nil)
		ws[j], ids[j], xids[j], types[j], ts[j], bodies[j] = ev.WorkspaceID, ev.EventID, ev.ExecutionID, string(ev.Type), ev.Timestamp, body
	}
	b := &pgx.Batch{}
	b.Queue(claimAndLog, ws, ids, xids, types, ts, bodies, recv)
	return t.readClaimed(b, out, first)
}

// readClaimed sends b, whose last statement returns the claimed ids, and
// marks their events new.
func (t *tx) readClaimed(b *pgx.Batch, out []bool, first map[eventKey]int) error {
	br, err := t.send(b)
	if err != nil {
		return err
	}
	defer br.Close()
	for range b.Len() - 1 {
		if _, err := br.Exec(); err != nil {
			return err
		}
	}
	rows, err := br.Query()
	if err != nil {
		return err
	}
	var k eventKey
	if _, err = pgx.ForEachRow(rows, []any{&k.ws, &k.id}, func() error {
		out[first[k]] = true
		return nil
	}); err != nil {
		return err
	}
	return br.Close()
}

// copyNew copies the ids as new (see copyFrom), then queues the events
// for the log: one round trip, BEGIN and the savepoint riding with it, the
// release with the next message. The log's rows are made meanwhile, on
// another core.
func (t *tx) copyNew(evs []*execution.Event, idx []int, recv time.Time, out []bool, first map[eventKey]int) error {
	type result struct {
		rows *copyRows
		err  error
	}
	logged := make(chan result, 1)
	go func() {
		rows, err := logRows(evs, idx, recv)
		logged <- result{rows, err}
	}()
	ids := newCopyRows(len(idColumns), len(idx)*48)
	for _, i := range idx {
		ev := evs[i]
		ids.row()
		ids.text(ev.WorkspaceID)
		ids.text(ev.EventID)
		ids.timestamptz(recv)
	}
	t.queued = append(t.queued, queued{what: "claim events", table: "execution_event_ids",
		sql: `SAVEPOINT shadower_claim; `, cols: idColumns, rows: ids})
	err := t.flush()
	made := <-logged
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "23505" { // unique_violation: some were taken
		t.db.claimFallbacks.Store(claimFallbacks)
		// At once, unprepared: in the failed transaction, PostgreSQL
		// would refuse to prepare the next statements.
		if _, err := t.conn.Exec(t.ctx, `ROLLBACK TO SAVEPOINT shadower_claim; RELEASE SAVEPOINT shadower_claim`, simple); err != nil {
			return err
		}
		return t.claimThenCopy(evs, idx, recv, out, first)
	}
	if err != nil {
		return err
	}
	if made.err != nil {
		return made.err
	}
	for _, i := range idx {
		out[i] = true
	}
	t.queue("claim events", "", `RELEASE SAVEPOINT shadower_claim`) // goes with the next message
	t.copyLater("log events", "execution_logs", logColumns, made.rows)
	return nil
}

// claimThenCopy claims the ids with claim, then copies the new events into
// the log.
func (t *tx) claimThenCopy(evs []*execution.Event, idx []int, recv time.Time, out []bool, first map[eventKey]int) error {
	n := len(idx)
	ws, ids := make([]string, n), make([]string, n)
	for j, i := range idx {
		ws[j], ids[j] = evs[i].WorkspaceID, evs[i].EventID
	}
	b := &pgx.Batch{}
	b.Queue(claim, ws, ids, recv)
	if err := t.readClaimed(b, out, first); err != nil {
		return err
	}
	var fresh []int
	for _, i := range idx {
		if out[i] {
			fresh = append(fresh, i)
		}
	}
	if len(fresh) == 0 {
		return nil
	}
	return t.copyLog(evs, fresh, recv)
}

// copyLog copies the events evs[idx] into the log later (see tx): nothing
// in the transaction reads the log.
func (t *tx) copyLog(evs []*execution.Event, idx []int, recv time.Time) error {
	rows, err := logRows(evs, idx, recv)
	if err != nil {
		return err
	}
	t.copyLater("log events", "execution_logs", logColumns, rows)
	return nil
}

// logRows are the log's rows of the events evs[idx], in arrival order.
func logRows(evs []*execution.Event, idx []int, recv time.Time) (*copyRows, error) {
	idx = slices.Clone(idx)
	slices.Sort(idx)
	rows := newCopyRows(len(logColumns), len(idx)*320)
	var body []byte
	for _, i := range idx {
		ev := evs[i]
		body = ev.AppendJSON(body[:0])
		rows.row()
		rows.text(ev.WorkspaceID)
		rows.text(ev.EventID)
		rows.text(ev.ExecutionID)
		rows.text(string(ev.Type))
		rows.timestamptz(ev.Timestamp)
		rows.timestamptz(recv)
		rows.jsonb(body)
	}
	return rows, nil
}
