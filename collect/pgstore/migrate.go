package pgstore

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
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
	now := time.Now()
	if current, err := schemaCurrent(ctx, pool, retentionDays, now); err != nil || current {
		return err
	}
	if err := migrateTo(ctx, pool, 0); err != nil {
		return err
	}
	return ensureWindow(ctx, pool, retentionDays, now)
}

//go:embed sql/schema_current.sql
var qSchemaCurrent string

// newestMigration is the version of the newest embedded migration (its file name's number).
var newestMigration = func() int64 {
	files, err := fs.Glob(migrationsFS, "migrations/*.sql")
	if err != nil {
		panic(err)
	}
	var newest int64
	for _, f := range files {
		v, err := goose.NumericComponent(path.Base(f))
		if err != nil {
			panic(fmt.Sprintf("pgstore: migration %s: %v", f, err))
		}
		newest = max(newest, v)
	}
	return newest
}()

// schemaCurrent tells whether Migrate would change nothing (schema_current.sql): one query
// instead of goose's lock and version queries and a transaction of partition DDL.
func schemaCurrent(ctx context.Context, pool *pgxpool.Pool, retentionDays int, now time.Time) (bool, error) {
	var names []string
	for _, m := range windowMonths(now, retentionDays) {
		names = append(names, PartitionName(m))
	}
	var current bool
	err := pool.QueryRow(ctx, qSchemaCurrent, newestMigration, names).Scan(&current)
	if pe := (*pgconn.PgError)(nil); errors.As(err, &pe) && pe.Code == "42P01" {
		return false, nil // a new database: goose's table or events does not exist yet
	}
	if err != nil {
		return false, fmt.Errorf("check the schema: %w", err)
	}
	return current, nil
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
