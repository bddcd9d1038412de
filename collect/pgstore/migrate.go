package pgstore

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

//go:embed migrations/*.sql
var migrationsFS embed.FS

// Migrate applies every pending migration, then makes sure the event partitions for the
// accepted time window exist. It is safe to run from several processes at once: goose holds a
// PostgreSQL session advisory lock while it migrates. Use a direct connection, not PgBouncer.
func Migrate(ctx context.Context, pool *pgxpool.Pool, retentionDays int) error {
	if err := migrateTo(ctx, pool, 0); err != nil {
		return err
	}
	return ensureWindow(ctx, pool, retentionDays, time.Now())
}

// migrateTo applies the pending migrations up to version (0: all of them).
func migrateTo(ctx context.Context, pool *pgxpool.Pool, version int64) error {
	sub, err := fs.Sub(migrationsFS, "migrations")
	if err != nil {
		return fmt.Errorf("open migrations: %w", err)
	}
	locker, err := lock.NewPostgresSessionLocker(lock.WithLockTimeout(1, 300))
	if err != nil {
		return fmt.Errorf("create migration lock: %w", err)
	}
	db := stdlib.OpenDBFromPool(pool)
	defer db.Close()
	p, err := goose.NewProvider(goose.DialectPostgres, db, sub, goose.WithSessionLocker(locker))
	if err != nil {
		return fmt.Errorf("create migration provider: %w", err)
	}
	if version > 0 {
		_, err = p.UpTo(ctx, version)
	} else {
		_, err = p.Up(ctx)
	}
	if err != nil {
		return fmt.Errorf("apply migrations: %w", err)
	}
	return nil
}
