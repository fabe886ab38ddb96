// Package pgtest gives tests a fresh PostgreSQL database each.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// DefaultAdminDSN is the server tests use when SHADOWER_TEST_PG is not set.
const DefaultAdminDSN = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// AdminDSN is the database the tests create their databases from.
func AdminDSN() string {
	if s := os.Getenv("SHADOWER_TEST_PG"); s != "" {
		return s
	}
	return DefaultAdminDSN
}

// FreshDSN creates an empty database, dropped when tb ends, and returns its
// URL. Without a reachable server the test fails when CI is set and is
// skipped otherwise.
func FreshDSN(tb testing.TB) string {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	admin := AdminDSN()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		if os.Getenv("CI") != "" {
			tb.Fatalf("PostgreSQL is unreachable (set SHADOWER_TEST_PG): %v", err)
		}
		tb.Skipf("PostgreSQL is unreachable (set SHADOWER_TEST_PG; with CI set this fails): %v", err)
	}
	defer conn.Close(ctx)
	var b [6]byte
	rand.Read(b[:])
	name := "shadower_test_" + hex.EncodeToString(b[:])
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		tb.Fatalf("create database: %v", err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, admin)
		if err != nil {
			tb.Errorf("drop database %s: %v", name, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			tb.Errorf("drop database %s: %v", name, err)
		}
	})
	u, err := url.Parse(admin)
	if err != nil {
		tb.Fatalf("SHADOWER_TEST_PG must be a postgres:// URL: %v", err)
	}
	u.Path = "/" + name
	return u.String()
}
