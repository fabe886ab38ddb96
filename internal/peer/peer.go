// Package peer carries what one node commits to the other nodes sharing its
// database, so every node's realtime view and WebSocket streams include
// events ingested anywhere. A commit publishes compact messages (which
// executions changed, and whether they started or finished); a receiving
// node reads those executions back and applies them as if it had ingested
// them.
package peer

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/shadower/shadower/internal/execution"
)

// MaxMessage keeps a message under PostgreSQL's 8000-byte NOTIFY payload.
const MaxMessage = 7800

const version = "v1"

// Change is what a message says of one execution.
type Change struct {
	WorkspaceID, ExecutionID string
	Started, Finished        bool
}

// Encode turns a commit's updates into messages from node. An execution
// touched several times in the commit appears once, with every change.
func Encode(node string, updates []execution.Update) []string {
	type key struct{ ws, id string }
	merged := map[key]*Change{}
	var order []key
	for _, u := range updates {
		k := key{u.Execution.WorkspaceID, u.Execution.ExecutionID}
		c := merged[k]
		if c == nil {
			c = &Change{WorkspaceID: k.ws, ExecutionID: k.id}
			merged[k] = c
			order = append(order, k)
		}
		c.Started = c.Started || u.Change.Started
		c.Finished = c.Finished || u.Change.Finished
	}
	header := version + " " + node + "\n"
	var msgs []string
	var b strings.Builder
	for _, k := range order {
		c := merged[k]
		flags := "-"
		switch {
		case c.Started && c.Finished:
			flags = "SF"
		case c.Started:
			flags = "S"
		case c.Finished:
			flags = "F"
		}
		line := c.WorkspaceID + "\t" + c.ExecutionID + "\t" + flags + "\n"
		if b.Len() > 0 && b.Len()+len(line) > MaxMessage {
			msgs = append(msgs, b.String())
			b.Reset()
		}
		if b.Len() == 0 {
			b.WriteString(header)
		}
		b.WriteString(line)
	}
	if b.Len() > 0 {
		msgs = append(msgs, b.String())
	}
	return msgs
}

// Decode reads a message.
func Decode(msg string) (node string, changes []Change, err error) {
	lines := strings.Split(strings.TrimSuffix(msg, "\n"), "\n")
	v, node, ok := strings.Cut(lines[0], " ")
	if !ok || v != version || !execution.ValidID(node) {
		return "", nil, fmt.Errorf("peer message: bad header %q", lines[0])
	}
	for _, l := range lines[1:] {
		f := strings.Split(l, "\t")
		if len(f) != 3 || !execution.ValidID(f[0]) || !execution.ValidID(f[1]) ||
			(f[2] != "-" && f[2] != "S" && f[2] != "F" && f[2] != "SF") {
			return "", nil, fmt.Errorf("peer message: bad line %q", l)
		}
		changes = append(changes, Change{WorkspaceID: f[0], ExecutionID: f[1],
			Started: strings.Contains(f[2], "S"), Finished: strings.Contains(f[2], "F")})
	}
	return node, changes, nil
}

// Loader reads executions by id.
type Loader interface {
	ExecutionsByID(ctx context.Context, ws string, ids []string) (map[string]*execution.Execution, error)
}

// Receiver applies other nodes' messages to this node's live views.
type Receiver struct {
	Node    string // this node: its own messages are skipped
	Store   Loader
	Observe func([]execution.Update)
}

// Receive applies one message. The executions are read as they are now,
// which may include later changes: the live views only need the latest.
func (r *Receiver) Receive(ctx context.Context, msg string) error {
	node, changes, err := Decode(msg)
	if err != nil || node == r.Node {
		return err
	}
	byWS := map[string][]string{}
	for _, c := range changes {
		byWS[c.WorkspaceID] = append(byWS[c.WorkspaceID], c.ExecutionID)
	}
	wss := make([]string, 0, len(byWS))
	for ws := range byWS {
		wss = append(wss, ws)
	}
	sort.Strings(wss)
	loaded := map[[2]string]*execution.Execution{}
	for _, ws := range wss {
		xs, err := r.Store.ExecutionsByID(ctx, ws, byWS[ws])
		if err != nil {
			return err
		}
		for id, x := range xs {
			loaded[[2]string{ws, id}] = x
		}
	}
	var updates []execution.Update
	for _, c := range changes {
		x := loaded[[2]string{c.WorkspaceID, c.ExecutionID}]
		if x == nil {
			continue // expired since
		}
		updates = append(updates, execution.Update{Execution: *x,
			Change: execution.Change{Started: c.Started, Finished: c.Finished}})
	}
	if len(updates) > 0 {
		r.Observe(updates)
	}
	return nil
}
