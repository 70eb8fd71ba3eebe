package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"

	"github.com/jackc/pgx/v5/stdlib"

	"github.com/example/orders/infrastructure/postgres"
	"github.com/example/orders/migrations"
)

// runMigrate applies (up), reverts the last (down) or lists (status) migrations, as
// the schema's owner (MIGRATE_DATABASE_URL, or DATABASE_URL). up then grants the
// application role its privileges (migrations.GrantAppRole).
// goose holds a PostgreSQL session lock meanwhile, so replicas running it at once are
// safe: one applies, the others wait and find nothing left to do.
func runMigrate(ctx context.Context, cfg Config, action string, out io.Writer, log *slog.Logger) error {
	pool, err := postgres.Connect(ctx, cfg.migrateURL(), 2)
	if err != nil {
		return err
	}
	defer pool.Close()
	db := stdlib.OpenDBFromPool(pool)
	defer func() { _ = db.Close() }()
	p, err := migrations.NewProvider(db)
	if err != nil {
		return err
	}
	switch action {
	case "up":
		results, err := p.Up(ctx)
		for _, r := range results {
			log.InfoContext(ctx, "migration applied", "version", r.Source.Version, "file", r.Source.Path, "duration", r.Duration.String())
		}
		if err != nil {
			return fmt.Errorf("migrate up: %w", err)
		}
		if err := migrations.GrantAppRole(ctx, db, cfg.AppDBRole, log); err != nil {
			return fmt.Errorf("migrate up: %w", err)
		}
		v, _ := p.GetDBVersion(ctx)
		_, _ = fmt.Fprintf(out, "database at version %d (%d applied now)\n", v, len(results))
	case "down":
		r, err := p.Down(ctx)
		if err != nil {
			return fmt.Errorf("migrate down: %w", err)
		}
		_, _ = fmt.Fprintf(out, "reverted %s\n", r.Source.Path)
	case "status":
		statuses, err := p.Status(ctx)
		if err != nil {
			return fmt.Errorf("migrate status: %w", err)
		}
		for _, s := range statuses {
			applied := "pending"
			if !s.AppliedAt.IsZero() {
				applied = "applied " + s.AppliedAt.UTC().Format("2006-01-02 15:04:05Z")
			}
			_, _ = fmt.Fprintf(out, "%5d  %-40s %s\n", s.Source.Version, s.Source.Path, applied)
		}
	default:
		return fmt.Errorf("migrate: unknown action %q; use up, down or status", action)
	}
	return nil
}
