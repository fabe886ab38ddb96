package app

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/shadower/shadower/internal/auth"
)

type wsMessage struct {
	Type string
	Data json.RawMessage
}

func dial(t *testing.T, s *Server, ws string, key auth.Secret) (*websocket.Conn, *http.Response, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return websocket.Dial(ctx, "ws://"+s.Addr()+"/api/v1/ws?workspace_id="+ws, &websocket.DialOptions{
		Subprotocols: []string{"shadower.v1", "bearer." + string(key)},
	})
}

func read(t *testing.T, c *websocket.Conn, within time.Duration) (wsMessage, error) {
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	_, b, err := c.Read(ctx)
	var m wsMessage
	if err == nil {
		err = json.Unmarshal(b, &m)
	}
	return m, err
}

// TestLiveStream subscribes two workspaces' dashboards, ingests into one,
// and checks the stream: a snapshot on connect, the start, a realtime update
// within a second, nothing for the other workspace, and 1001 at shutdown.
func TestLiveStream(t *testing.T) {
	s := start(t, t.TempDir())
	c := client{t: t, base: "http://" + s.Addr()}
	alpha := auth.Secret(createKey(t, c, operator, "alpha", "read").Key)
	beta := auth.Secret(createKey(t, c, operator, "beta", "read").Key)

	if _, resp, err := dial(t, s, "alpha", "shk_wrong"); err == nil || resp == nil || resp.StatusCode != 401 {
		t.Fatalf("bad key: %v %v", resp, err)
	}
	if _, resp, err := dial(t, s, "alpha", beta); err == nil || resp == nil || resp.StatusCode != 403 {
		t.Fatalf("other workspace's key: %v %v", resp, err)
	}
	ca, resp, err := dial(t, s, "alpha", alpha)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Header.Get("Sec-WebSocket-Protocol") != "shadower.v1" {
		t.Fatalf("subprotocol %q", resp.Header.Get("Sec-WebSocket-Protocol"))
	}
	cb, _, err := dial(t, s, "beta", beta)
	if err != nil {
		t.Fatal(err)
	}
	for _, conn := range []*websocket.Conn{ca, cb} {
		if m, err := read(t, conn, 2*time.Second); err != nil || m.Type != "execution_update" {
			t.Fatalf("first message: %+v %v", m, err)
		}
	}

	posted := time.Now()
	if code := c.do("POST", "/api/v1/events", operator, event("alpha", "live-1"), nil); code != 200 {
		t.Fatal(code)
	}
	var gotStart, gotUpdate bool
	for !(gotStart && gotUpdate) {
		m, err := read(t, ca, 2*time.Second)
		if err != nil {
			t.Fatalf("alpha stream after %v: %v", time.Since(posted), err)
		}
		switch m.Type {
		case "execution_started":
			gotStart = strings.Contains(string(m.Data), `"execution_id":"live-1"`)
		case "execution_update":
			var rt struct{ Running int }
			json.Unmarshal(m.Data, &rt)
			gotUpdate = rt.Running == 1
		}
	}
	if d := time.Since(posted); d > time.Second {
		t.Fatalf("the update took %v", d)
	}
	// Beta's dashboard sees nothing of alpha's execution.
	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	for {
		_, b, err := cb.Read(ctx)
		if err != nil {
			break
		}
		if strings.Contains(string(b), "live-1") || strings.Contains(string(b), `"running":1`) {
			t.Fatalf("beta received alpha's data: %s", b)
		}
	}
	cancel()

	done := make(chan error, 1)
	go func() { done <- s.Shutdown(context.Background()) }()
	for {
		_, err := read(t, ca, 5*time.Second)
		if err != nil {
			var ce websocket.CloseError
			if !errors.As(err, &ce) || ce.Code != websocket.StatusGoingAway {
				t.Fatalf("close: %v, want 1001", err)
			}
			break
		}
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
