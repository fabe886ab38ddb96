package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Backoff bounds of ListenUpdates' reconnections.
const (
	listenMinBackoff = 100 * time.Millisecond
	listenMaxBackoff = 10 * time.Second
)

// ListenUpdates listens on Channel with a dedicated connection (not from
// any pool) and calls fn with the payload of each notification, one at a
// time in the order they arrive, until ctx ends; it then returns nil. When
// the connection fails it reconnects with exponential backoff (100 ms up to
// 10 s, reset once a connection has lasted a minute); notifications sent
// while it was disconnected are lost, so a caller that must not miss any
// should resynchronise after a gap. It returns an error only when dsn
// cannot be parsed.
func ListenUpdates(ctx context.Context, dsn string, fn func(payload string)) error {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return fmt.Errorf("listen: %s: %w", redact(dsn), err)
	}
	if _, ok := cfg.RuntimeParams["application_name"]; !ok {
		cfg.RuntimeParams["application_name"] = "shadower-listen"
	}
	backoff := listenMinBackoff
	for {
		began := time.Now()
		listenOnce(ctx, cfg, fn)
		if ctx.Err() != nil {
			return nil
		}
		if time.Since(began) > time.Minute {
			backoff = listenMinBackoff
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, listenMaxBackoff)
	}
}

// listenOnce connects, listens and delivers until the connection fails or
// ctx ends.
func listenOnce(ctx context.Context, cfg *pgx.ConnConfig, fn func(string)) error {
	conn, err := pgx.ConnectConfig(ctx, cfg.Copy())
	if err != nil {
		return err
	}
	defer func() {
		c, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		conn.Close(c)
	}()
	if _, err := conn.Exec(ctx, `LISTEN `+pgx.Identifier{Channel}.Sanitize()); err != nil {
		return err
	}
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		fn(n.Payload)
	}
}
