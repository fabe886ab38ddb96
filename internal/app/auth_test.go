package app

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/shadower/shadower/internal/auth"
)

type keyResp struct {
	ID          string `json:"id"`
	Key         string `json:"key"`
	Scope       string `json:"scope"`
	WorkspaceID string `json:"workspace_id"`
}

func createKey(t *testing.T, c client, by auth.Secret, ws, scope string) keyResp {
	t.Helper()
	var k keyResp
	if code := c.do("POST", "/api/v1/workspaces/"+ws+"/keys", by, []byte(`{"scope":"`+scope+`"}`), &k); code != 201 {
		t.Fatalf("create %s key for %s: %d", scope, ws, code)
	}
	return k
}

func event(ws, id string) []byte {
	return []byte(fmt.Sprintf(`[{"event_id":"%s","type":"started","execution_id":"%s","workspace_id":"%s","agent_id":"a","timestamp":"2026-03-04T12:00:00Z"}]`, id, id, ws))
}

// TestAccessMatrix tries every route with no key, an unknown key, a revoked
// key, another workspace's key and a key of the wrong scope.
func TestAccessMatrix(t *testing.T) {
	s := start(t, t.TempDir())
	defer stop(t, s)
	c := client{t: t, base: "http://" + s.Addr()}

	read := auth.Secret(createKey(t, c, operator, "alpha", "read").Key)
	ingest := auth.Secret(createKey(t, c, operator, "alpha", "ingest").Key)
	admin := auth.Secret(createKey(t, c, operator, "alpha", "admin").Key)
	betaRead := auth.Secret(createKey(t, c, operator, "beta", "read").Key)
	revoked := createKey(t, c, operator, "alpha", "read")
	if code := c.do("DELETE", "/api/v1/workspaces/alpha/keys/"+revoked.ID, admin, nil, nil); code != 204 {
		t.Fatalf("revoke: %d", code)
	}
	if code := c.do("POST", "/api/v1/events", operator, event("alpha", "seed"), nil); code != 200 {
		t.Fatalf("seed: %d", code)
	}

	routes := []struct {
		method, path string
		body         []byte
		scope        string // the key of alpha that may call it
	}{
		{"POST", "/api/v1/events", event("alpha", "e1"), "ingest"},
		{"GET", "/api/v1/metrics/execution?workspace_id=alpha", nil, "read"},
		{"GET", "/api/v1/metrics/execution/realtime?workspace_id=alpha", nil, "read"},
		{"GET", "/api/v1/metrics/execution/throughput?workspace_id=alpha", nil, "read"},
		{"GET", "/api/v1/metrics/execution/latency?workspace_id=alpha", nil, "read"},
		{"GET", "/api/v1/metrics/execution/performance?workspace_id=alpha", nil, "read"},
		{"GET", "/api/v1/metrics/execution/comparison?workspace_id=alpha", nil, "read"},
		{"GET", "/api/v1/metrics/execution/queue?workspace_id=alpha", nil, "read"},
		{"GET", "/api/v1/metrics/execution/resources?workspace_id=alpha", nil, "read"},
		{"GET", "/api/v1/metrics/execution/patterns?workspace_id=alpha", nil, "read"},
		{"GET", "/api/v1/metrics/execution/forecast?workspace_id=alpha", nil, "read"},
		{"GET", "/api/v1/patterns?workspace_id=alpha", nil, "read"},
		{"POST", "/api/v1/workers/heartbeat", []byte(`{"workspace_id":"alpha","worker_id":"w-1","capacity_slots":2,"busy_slots":1}`), "ingest"},
		{"GET", "/api/v1/executions?workspace_id=alpha", nil, "read"},
		{"GET", "/api/v1/executions/seed?workspace_id=alpha", nil, "read"},
		{"GET", "/api/v1/workspaces/alpha/keys", nil, "admin"},
		{"POST", "/api/v1/workspaces/alpha/keys", []byte(`{"scope":"read"}`), "admin"},
	}
	keys := map[string]auth.Secret{"read": read, "ingest": ingest, "admin": admin}
	for _, r := range routes {
		t.Run(r.method+" "+r.path, func(t *testing.T) {
			check := func(name string, key auth.Secret, want int) {
				t.Helper()
				var body struct {
					Error struct{ Code, Message string }
				}
				got := c.do(r.method, r.path, key, r.body, &body)
				if got != want {
					t.Fatalf("%s: %d, want %d (%s)", name, got, want, body.Error.Message)
				}
				if want >= 400 && (body.Error.Code == "" || body.Error.Message == "") {
					t.Fatalf("%s: error without code or message", name)
				}
			}
			check("no key", "", 401)
			check("unknown key", "shk_notakey", 401)
			check("revoked key", auth.Secret(revoked.Key), 401)
			check("other workspace", betaRead, 403)
			for scope, key := range keys {
				want := 403
				if scope == r.scope || scope == "admin" {
					want = 200
					if r.method == "POST" && strings.HasSuffix(r.path, "/keys") {
						want = 201
					}
				}
				check(scope+" key", key, want)
			}
			check("operator", operator, map[bool]int{true: 201, false: 200}[r.method == "POST" && strings.HasSuffix(r.path, "/keys")])
		})
	}
}

// TestIsolation checks that a workspace's key cannot write into, or read,
// another workspace, and that a refused batch stores nothing.
func TestIsolation(t *testing.T) {
	s := start(t, t.TempDir())
	defer stop(t, s)
	c := client{t: t, base: "http://" + s.Addr()}
	alphaIngest := auth.Secret(createKey(t, c, operator, "alpha", "ingest").Key)

	// A batch mixing workspaces is refused whole.
	mixed := append(bytes.TrimSuffix(event("alpha", "a1"), []byte("]")), ',')
	mixed = append(mixed, bytes.TrimPrefix(event("beta", "b1"), []byte("["))...)
	var e struct {
		Error struct {
			Code    string
			Details []struct {
				Index int
				Field string
			}
		}
	}
	if code := c.do("POST", "/api/v1/events", alphaIngest, mixed, &e); code != 403 || e.Error.Details[0].Index != 1 {
		t.Fatalf("mixed batch: %d %+v", code, e)
	}
	// An invalid batch is refused whole too.
	bad := append(bytes.TrimSuffix(event("alpha", "a2"), []byte("]")), []byte(`,{"event_id":"a3"}]`)...)
	if code := c.do("POST", "/api/v1/events", alphaIngest, bad, nil); code != 400 {
		t.Fatalf("invalid batch: %d", code)
	}
	for _, ws := range []string{"alpha", "beta"} {
		var list struct{ Items []json.RawMessage }
		c.do("GET", "/api/v1/executions?workspace_id="+ws, operator, nil, &list)
		if len(list.Items) != 0 {
			t.Fatalf("%s holds %d executions after refused batches", ws, len(list.Items))
		}
	}
	// Beta's execution is invisible to alpha, even by id.
	if code := c.do("POST", "/api/v1/events", operator, event("beta", "secret"), nil); code != 200 {
		t.Fatal(code)
	}
	alphaRead := auth.Secret(createKey(t, c, operator, "alpha", "read").Key)
	if code := c.do("GET", "/api/v1/executions/secret?workspace_id=alpha", alphaRead, nil, nil); code != 404 {
		t.Fatalf("beta's execution through alpha: %d", code)
	}
	var rt struct{ Running int }
	c.do("GET", "/api/v1/metrics/execution/realtime?workspace_id=alpha", alphaRead, nil, &rt)
	if rt.Running != 0 {
		t.Fatalf("alpha sees %d running", rt.Running)
	}
	var keys struct {
		Keys []map[string]any
	}
	c.do("GET", "/api/v1/workspaces/alpha/keys", operator, nil, &keys)
	for _, k := range keys.Keys {
		if _, ok := k["key"]; ok {
			t.Fatalf("key listing shows a secret: %v", k)
		}
	}
}

// TestKeysNeverLogged creates, uses, lists and revokes keys, makes the
// server log an internal error, and checks no secret reaches the log.
func TestKeysNeverLogged(t *testing.T) {
	var logs bytes.Buffer
	s := startLogging(t, t.TempDir(), &logs)
	c := client{t: t, base: "http://" + s.Addr()}
	k := createKey(t, c, operator, "alpha", "admin")
	c.do("GET", "/api/v1/metrics/execution?workspace_id=alpha", auth.Secret(k.Key), nil, nil)
	c.do("GET", "/api/v1/workspaces/alpha/keys", auth.Secret(k.Key), nil, nil)
	c.do("GET", "/api/v1/metrics/execution?workspace_id=alpha", "shk_"+auth.Secret(k.Key[4:8]), nil, nil)
	c.do("DELETE", "/api/v1/workspaces/alpha/keys/"+k.ID, operator, nil, nil)
	stop(t, s)
	if !strings.Contains(logs.String(), k.ID) {
		t.Fatalf("the log does not mention the key's id; is it logging at all?\n%s", logs.String())
	}
	for _, secret := range []string{k.Key, string(operator), k.Key[4:]} {
		if strings.Contains(logs.String(), secret) {
			t.Fatalf("a secret reached the log:\n%s", logs.String())
		}
	}
	var buf bytes.Buffer
	slogged := auth.Secret("shk_supersecret")
	fmt.Fprintf(&buf, "%v %s", slogged, slogged)
	if strings.Contains(buf.String(), "supersecret") {
		t.Fatalf("a Secret formats as %q", buf.String())
	}
}
