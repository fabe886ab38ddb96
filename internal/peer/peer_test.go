package peer

import (
	"context"
	"fmt"
	"testing"

	"github.com/shadower/shadower/internal/execution"
)

func update(ws, id string, started, finished bool) execution.Update {
	return execution.Update{Execution: execution.Execution{WorkspaceID: ws, ExecutionID: id},
		Change: execution.Change{Started: started, Finished: finished}}
}

func TestEncodeDecode(t *testing.T) {
	var ups []execution.Update
	for i := 0; i < 1000; i++ {
		ups = append(ups, update("ws-1", fmt.Sprintf("execution-%04d", i), i%2 == 0, i%3 == 0))
	}
	ups = append(ups, update("ws-1", "execution-0001", false, true)) // a second change of one execution
	msgs := Encode("node-a", ups)
	if len(msgs) < 2 {
		t.Fatalf("1000 executions fit in %d message(s); want them split", len(msgs))
	}
	got := map[string]Change{}
	for _, m := range msgs {
		if len(m) > MaxMessage+64 {
			t.Fatalf("message of %d bytes", len(m))
		}
		node, cs, err := Decode(m)
		if err != nil || node != "node-a" {
			t.Fatalf("decode: %q %v", node, err)
		}
		for _, c := range cs {
			if _, dup := got[c.ExecutionID]; dup {
				t.Fatalf("%s listed twice", c.ExecutionID)
			}
			got[c.ExecutionID] = c
		}
	}
	if len(got) != 1000 {
		t.Fatalf("%d executions, want 1000", len(got))
	}
	if c := got["execution-0001"]; c.Started || !c.Finished {
		t.Fatalf("merged changes of execution-0001: %+v", c)
	}
	if c := got["execution-0006"]; !c.Started || !c.Finished {
		t.Fatalf("execution-0006: %+v", c)
	}
	for _, bad := range []string{"", "v2 x\n", "v1 n\nws\tid\n", "v1 n\nw s\tid\tS\n"} {
		if _, _, err := Decode(bad); err == nil {
			t.Fatalf("Decode(%q) accepted", bad)
		}
	}
}

type loader map[string]*execution.Execution

func (l loader) ExecutionsByID(_ context.Context, ws string, ids []string) (map[string]*execution.Execution, error) {
	out := map[string]*execution.Execution{}
	for _, id := range ids {
		if x, ok := l[ws+"/"+id]; ok {
			out[id] = x
		}
	}
	return out, nil
}

func TestReceiver(t *testing.T) {
	var got []execution.Update
	r := &Receiver{Node: "me", Store: loader{"w/x1": {WorkspaceID: "w", ExecutionID: "x1", Status: execution.StatusRunning}},
		Observe: func(u []execution.Update) { got = append(got, u...) }}
	msgs := Encode("other", []execution.Update{update("w", "x1", true, false), update("w", "gone", false, true)})
	if err := r.Receive(context.Background(), msgs[0]); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Execution.ExecutionID != "x1" || !got[0].Change.Started || got[0].Event != nil {
		t.Fatalf("applied %+v", got)
	}
	own := Encode("me", []execution.Update{update("w", "x1", true, false)})
	if err := r.Receive(context.Background(), own[0]); err != nil || len(got) != 1 {
		t.Fatalf("own message applied: %v %d", err, len(got))
	}
}
