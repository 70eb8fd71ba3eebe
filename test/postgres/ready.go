package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// waitReady connects until the server answers a query. A container whose port is
// already mapped, or a restarted server still replaying WAL, refuses connections for a
// moment; callers should get a server that works, not one that is about to.
func waitReady(ctx context.Context, url string) error {
	var last error
	for {
		if last = ping(ctx, url); last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("server not ready: %w (last error: %w)", ctx.Err(), last)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func ping(ctx context.Context, url string) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return err
	}
	defer func() { _ = conn.Close(context.WithoutCancel(ctx)) }() // also after the timeout
	var one int
	return conn.QueryRow(ctx, "SELECT 1").Scan(&one)
}

// ensureDatabase creates the database name if it does not exist, connecting through
// adminURL (a database that always exists, such as postgres).
func ensureDatabase(ctx context.Context, adminURL, name string) error {
	if name == "" || name == "postgres" {
		return nil
	}
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return fmt.Errorf("connect to create database %s: %w", name, err)
	}
	defer func() { _ = conn.Close(context.WithoutCancel(ctx)) }()
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		return fmt.Errorf("look for database %s: %w", name, err)
	}
	if exists {
		return nil
	}
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		// Another process may have created it in the meantime.
		var again bool
		if qerr := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&again); qerr == nil && again {
			return nil
		}
		return fmt.Errorf("create database %s: %w", name, err)
	}
	return nil
}
