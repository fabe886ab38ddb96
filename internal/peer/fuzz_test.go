package peer_test

import (
	"slices"
	"testing"

	"github.com/shadower/shadower/internal/execution"
	"github.com/shadower/shadower/internal/peer"
)

// FuzzPeerDecode feeds arbitrary messages to Decode. It must never panic, and
// what it accepts must survive a round trip: the decoded changes, encoded
// again as updates and decoded, are the same changes from the same node.
// Encode lists an execution once, with every change of it, so a message that
// names an execution twice comes back merged. The seed corpus is in
// testdata/fuzz/FuzzPeerDecode.
func FuzzPeerDecode(f *testing.F) {
	f.Fuzz(func(t *testing.T, msg string) {
		node, changes, err := peer.Decode(msg)
		if err != nil {
			if node != "" || changes != nil {
				t.Fatalf("Decode returned node %q and %d changes with an error: %v", node, len(changes), err)
			}
			return
		}
		if node == "" {
			t.Fatal("Decode accepted a message without a node")
		}
		for _, c := range changes {
			if !execution.ValidID(c.WorkspaceID) || !execution.ValidID(c.ExecutionID) {
				t.Fatalf("Decode accepted invalid ids: %+v", c)
			}
		}

		updates := make([]execution.Update, len(changes))
		for i, c := range changes {
			updates[i] = execution.Update{
				Execution: execution.Execution{WorkspaceID: c.WorkspaceID, ExecutionID: c.ExecutionID},
				Change:    execution.Change{Started: c.Started, Finished: c.Finished},
			}
		}
		msgs := peer.Encode(node, updates)
		if len(changes) == 0 && len(msgs) != 0 {
			t.Fatalf("no changes encode to %d messages", len(msgs))
		}
		// Every message holds at least one execution and, unless the node's
		// name alone is too long for it, fits MaxMessage.
		header := len("v1 " + node + "\n")
		const maxLine = 2*execution.MaxIDLen + len("\t\tSF\n")
		var again []peer.Change
		for _, m := range msgs {
			if header+maxLine <= peer.MaxMessage && len(m) > peer.MaxMessage {
				t.Fatalf("message of %d bytes, more than MaxMessage (%d)", len(m), peer.MaxMessage)
			}
			n, cs, err := peer.Decode(m)
			if err != nil {
				t.Fatalf("re-encoded message does not decode: %v\n%q", err, m)
			}
			if n != node {
				t.Fatalf("node %q came back as %q", node, n)
			}
			if len(cs) == 0 {
				t.Fatalf("re-encoded message without changes: %q", m)
			}
			again = append(again, cs...)
		}
		if want := merged(changes); !slices.Equal(again, want) {
			t.Fatalf("round trip changed the changes:\n got %+v\nwant %+v", again, want)
		}
	})
}

// merged lists each execution of cs once, in order of first appearance, with
// every change of it.
func merged(cs []peer.Change) []peer.Change {
	type key struct{ ws, id string }
	at := map[key]int{}
	var out []peer.Change
	for _, c := range cs {
		k := key{c.WorkspaceID, c.ExecutionID}
		i, ok := at[k]
		if !ok {
			at[k] = len(out)
			out = append(out, c)
			continue
		}
		out[i].Started = out[i].Started || c.Started
		out[i].Finished = out[i].Finished || c.Finished
	}
	return out
}
