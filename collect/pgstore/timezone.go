package pgstore

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

//go:embed sql/timezone_known.sql
var qTimezoneKnown string

// KnowsTimezone reports whether PostgreSQL knows the time zone name: every query that groups by
// day passes the configured zone's name to the server, so a zone Go knows but the server does
// not (a newer zone than the server's time zone database, say) would make every run fail later.
// AT TIME ZONE accepts exactly the zones of pg_timezone_names
// (TestDatabaseTimezoneCheckMatchesPostgreSQL in cmd/aispend).
func KnowsTimezone(ctx context.Context, pool *pgxpool.Pool, zone string) (bool, error) {
	var ts time.Time
	err := pool.QueryRow(ctx, qTimezoneKnown, zone).Scan(&ts)
	if pe := (*pgconn.PgError)(nil); errors.As(err, &pe) && pe.Code == "22023" {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("check time zone %q with the database: %w", zone, err)
	}
	return true, nil
}
