// Package auth owns API keys: their generation, hashing, scopes and the
// check of a request's key against the workspace and scope it asks for.
package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/shadower/shadower/internal/execution"
)

// Scope is what a key may do.
type Scope string

// Scopes. Admin includes read and ingest: it manages its workspace's keys.
const (
	ScopeIngest Scope = "ingest"
	ScopeRead   Scope = "read"
	ScopeAdmin  Scope = "admin"
)

// ParseScope returns the scope named s.
func ParseScope(s string) (Scope, bool) {
	switch sc := Scope(s); sc {
	case ScopeIngest, ScopeRead, ScopeAdmin:
		return sc, true
	}
	return "", false
}

// Key is a stored key: never the secret, only its hash.
type Key struct {
	ID          string
	WorkspaceID string
	Scope       Scope
	Hash        []byte
	CreatedAt   time.Time
	RevokedAt   *time.Time
}

// Secret is a key as its holder sends it. It never prints.
type Secret string

// LogValue keeps secrets out of logs.
func (Secret) LogValue() slog.Value { return slog.StringValue("[redacted]") }

// String keeps secrets out of formatted output.
func (Secret) String() string { return "[redacted]" }

// secretPrefix marks a string as a Shadower key, so leaked keys are easy to scan for.
const secretPrefix = "shk_"

// NewKey makes a key for a workspace: 256 random bits, of which only the
// SHA-256 hash is kept. High-entropy keys need no slow hash.
func NewKey(workspaceID string, scope Scope, now time.Time) (Key, Secret, error) {
	var raw [32]byte
	var id [8]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return Key{}, "", err
	}
	if _, err := rand.Read(id[:]); err != nil {
		return Key{}, "", err
	}
	secret := Secret(secretPrefix + base64.RawURLEncoding.EncodeToString(raw[:]))
	return Key{
		ID: "key_" + hex.EncodeToString(id[:]), WorkspaceID: workspaceID, Scope: scope,
		Hash: Hash(secret), CreatedAt: now.UTC(),
	}, secret, nil
}

// Hash is the stored form of a secret.
func Hash(s Secret) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

// Principal is who a request acts as.
type Principal struct {
	Operator    bool // the operator key: every workspace, every scope
	KeyID       string
	WorkspaceID string
	Scope       Scope
}

// Allow says whether p may act on workspace ws with scope need.
func (p Principal) Allow(ws string, need Scope) error {
	if p.Operator {
		return nil
	}
	if ws != p.WorkspaceID {
		return execution.Errorf(execution.EForbidden, "this key belongs to another workspace")
	}
	if p.Scope != need && p.Scope != ScopeAdmin {
		return execution.Errorf(execution.EForbidden, "this key has scope %q; %q is needed", p.Scope, need)
	}
	return nil
}

// KeyStore finds keys by hash.
type KeyStore interface {
	// KeyByHash returns the key with this hash, or an error with code
	// not_found.
	KeyByHash(ctx context.Context, hash []byte) (*Key, error)
}

// Authenticator turns a presented secret into a principal.
type Authenticator struct {
	store    KeyStore
	operator []byte // hash of the operator key; nil when none is set

	mu    sync.Mutex
	cache map[string]cached // by hex hash
	ttl   time.Duration
	now   func() time.Time
}

type cached struct {
	key *Key
	at  time.Time
}

// NewAuthenticator checks keys against store; operator is the operator
// key's secret ("" for none). Lookups are cached for under a second, so a
// revoked key stops working within one second on every node.
func NewAuthenticator(store KeyStore, operator Secret) *Authenticator {
	a := &Authenticator{store: store, cache: map[string]cached{}, ttl: 900 * time.Millisecond, now: time.Now}
	if operator != "" {
		a.operator = Hash(operator)
	}
	return a
}

// Authenticate resolves a secret. Errors are *execution.Error with code
// unauthorized.
func (a *Authenticator) Authenticate(ctx context.Context, secret Secret) (Principal, error) {
	if secret == "" {
		return Principal{}, execution.Errorf(execution.EUnauthorized, "an API key is required: Authorization: Bearer <key>")
	}
	h := Hash(secret)
	if a.operator != nil && subtle.ConstantTimeCompare(h, a.operator) == 1 {
		return Principal{Operator: true}, nil
	}
	unknown := execution.Errorf(execution.EUnauthorized, "unknown or revoked API key")
	if !strings.HasPrefix(string(secret), secretPrefix) {
		return Principal{}, unknown
	}
	k, err := a.lookup(ctx, h)
	if err != nil {
		return Principal{}, err
	}
	if k == nil || k.RevokedAt != nil {
		return Principal{}, unknown
	}
	return Principal{KeyID: k.ID, WorkspaceID: k.WorkspaceID, Scope: k.Scope}, nil
}

func (a *Authenticator) lookup(ctx context.Context, h []byte) (*Key, error) {
	id := hex.EncodeToString(h)
	now := a.now()
	a.mu.Lock()
	c, ok := a.cache[id]
	a.mu.Unlock()
	if ok && now.Sub(c.at) < a.ttl {
		return c.key, nil
	}
	k, err := a.store.KeyByHash(ctx, h)
	if err != nil && execution.ErrorCode(err) != execution.ENotFound {
		return nil, err
	}
	if err != nil {
		k = nil
	}
	a.mu.Lock()
	if len(a.cache) > 10_000 {
		a.cache = map[string]cached{}
	}
	a.cache[id] = cached{key: k, at: now}
	a.mu.Unlock()
	return k, nil
}

// Forget drops cached lookups so a revocation takes effect at once on this node.
func (a *Authenticator) Forget() {
	a.mu.Lock()
	a.cache = map[string]cached{}
	a.mu.Unlock()
}
