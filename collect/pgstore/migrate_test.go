package pgstore_test

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/aispend/aispend/collect/pgstore"
	"github.com/aispend/aispend/collect/testkit/pgtest"
)

// Ensures migration 6 gives the daily aggregates of an existing deployment (days whose events
// retention may already have dropped) their rollups: for every day, dimension and value, the sums
// and the merged latency histogram of the aggregates.
func TestMigrationRollsUpExistingAggregates(t *testing.T) {
	ctx := context.Background()
	pool := emptyDB(t, "migrate_rollups")
	if err := pgstore.MigrateTo(ctx, pool, 5); err != nil {
		t.Fatal(err)
	}
	// Aggregates as version 5 stored them, histograms included.
	if _, err := pool.Exec(ctx, `INSERT INTO daily_aggregates (tz, day, service, model, provider, org_id, user_id,
		requests, failures, cache_hits, unpriced, input_tokens, output_tokens, cache_read_tokens, cache_write_tokens,
		reasoning_tokens, cost, latency_count, latency_sum_ms, latency_buckets, latency_counts) VALUES
		('Asia/Seoul', '2025-01-10', 'A', 'm1', 'p', 'o1', 'u1', 3, 1, 0, 1, 30, 3, 0, 0, 0, 1.25, 3, 90, '{2,5}', '{1,2}'),
		('Asia/Seoul', '2025-01-10', 'A', 'm2', 'p', 'o1', 'u2', 2, 0, 1, 0, 20, 2, 1, 1, 0, 0.0000001, 1, 7, '{5}', '{1}'),
		('Asia/Seoul', '2025-01-10', 'B', 'm1', 'p', '', 'u1', 4, 0, 0, 0, 40, 4, 0, 0, 2, 10, 0, 0, '{}', '{}'),
		('Asia/Seoul', '2025-01-11', 'A', 'm1', 'p', 'o1', 'u1', 1, 0, 0, 0, 10, 1, 0, 0, 0, 2, 1, 3, '{7}', '{1}')`); err != nil {
		t.Fatal(err)
	}
	if err := pgstore.MigrateTo(ctx, pool, 6); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		day, dim, key, cost string
		requests, unpriced  int64
		buckets, counts     string
	}{
		{"2025-01-10", "total", "", "11.2500001", 9, 1, "{2,5}", "{1,3}"},
		{"2025-01-10", "service", "A", "1.2500001", 5, 1, "{2,5}", "{1,3}"},
		{"2025-01-10", "service", "B", "10", 4, 0, "{}", "{}"},
		{"2025-01-10", "model", "m1", "11.25", 7, 1, "{2,5}", "{1,2}"},
		{"2025-01-10", "org_id", "", "10", 4, 0, "{}", "{}"},
		{"2025-01-10", "user_id", "u1", "11.25", 7, 1, "{2,5}", "{1,2}"},
		{"2025-01-11", "total", "", "2", 1, 0, "{7}", "{1}"},
	} {
		var cost, buckets, counts string
		var requests, unpriced int64
		err := pool.QueryRow(ctx, `SELECT cost::text, requests, unpriced, latency_buckets::text, latency_counts::text
			FROM daily_rollups WHERE tz = 'Asia/Seoul' AND day = $1 AND dim = $2 AND key = $3`, c.day, c.dim, c.key).
			Scan(&cost, &requests, &unpriced, &buckets, &counts)
		if err != nil {
			t.Fatalf("%s %s %q: %v", c.day, c.dim, c.key, err)
		}
		if cost != c.cost || requests != c.requests || unpriced != c.unpriced || buckets != c.buckets || counts != c.counts {
			t.Errorf("%s %s %q: cost %s requests %d unpriced %d histogram %s %s; want %s %d %d %s %s", c.day, c.dim, c.key,
				cost, requests, unpriced, buckets, counts, c.cost, c.requests, c.unpriced, c.buckets, c.counts)
		}
	}
	var n int
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM daily_rollups").Scan(&n); err != nil {
		t.Fatal(err)
	}
	// Day 10: total, services A B, models m1 m2, provider p, orgs o1 '', users u1 u2; day 11: 6.
	if n != 10+6 {
		t.Errorf("%d rollup rows; want 16", n)
	}
}

// Ensures the BRIN index of every partition summarizes its ranges as they fill: migration 9 sets
// autosummarize on the partitions that exist, EnsurePartitions on the ones it creates.
func TestPartitionsBRINAutosummarize(t *testing.T) {
	ctx := context.Background()
	pool := emptyDB(t, "migrate_brin")
	if err := pgstore.MigrateTo(ctx, pool, 8); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `CREATE TABLE events_2025_01 PARTITION OF events FOR VALUES FROM ('2025-01-01Z') TO ('2025-02-01Z')`); err != nil {
		t.Fatal(err)
	}
	if err := pgstore.MigrateTo(ctx, pool, 0); err != nil {
		t.Fatal(err)
	}
	if err := pgstore.EnsurePartitions(ctx, pool, time.Date(2025, 3, 5, 0, 0, 0, 0, time.UTC), time.Date(2025, 3, 5, 0, 0, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	// Twice: a partition that has it already is left alone.
	if err := pgstore.EnsurePartitions(ctx, pool, time.Date(2025, 3, 5, 0, 0, 0, 0, time.UTC), time.Date(2025, 3, 5, 0, 0, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	for _, part := range []string{"events_2025_01", "events_2025_03"} {
		var on bool
		if err := pool.QueryRow(ctx, `SELECT coalesce(c.reloptions @> '{autosummarize=on}', false) FROM pg_index i
			JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am a ON a.oid = c.relam AND a.amname = 'brin'
			WHERE i.indrelid = $1::regclass`, part).Scan(&on); err != nil {
			t.Fatal(err)
		}
		if !on {
			t.Errorf("the BRIN index of %s does not autosummarize", part)
		}
	}
}

// Ensures migration 8 (64 latency buckets per octave) marks every aggregated day for a rebuild
// from its events and maps the quarter-octave buckets of days that cannot be rebuilt onto the fine
// scale at their old reported value: bucket b becomes 16b − 8, and 0 stays 0.
func TestMigrationFinerLatencyBuckets(t *testing.T) {
	ctx := context.Background()
	pool := emptyDB(t, "migrate_latency")
	if err := pgstore.MigrateTo(ctx, pool, 7); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `INSERT INTO daily_rollups (tz, day, dim, key, requests, failures, cache_hits, unpriced,
		input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, reasoning_tokens, cost, latency_count,
		latency_sum_ms, latency_buckets, latency_counts) VALUES
		('UTC', '2025-01-10', 'total', '', 4, 0, 0, 0, 0, 0, 0, 0, 0, 1, 4, 90, '{0,2,40}', '{1,2,1}'),
		('UTC', '2025-01-10', 'service', 'A', 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, '{}', '{}');
		INSERT INTO aggregate_days (tz, day) VALUES ('UTC', '2025-01-10'), ('UTC', '2025-01-11')`); err != nil {
		t.Fatal(err)
	}
	if err := pgstore.MigrateTo(ctx, pool, 8); err != nil {
		t.Fatal(err)
	}
	var total, empty string
	if err := pool.QueryRow(ctx, `SELECT latency_buckets::text FROM daily_rollups WHERE dim = 'total'`).Scan(&total); err != nil {
		t.Fatal(err)
	}
	if err := pool.QueryRow(ctx, `SELECT latency_buckets::text FROM daily_rollups WHERE dim = 'service'`).Scan(&empty); err != nil {
		t.Fatal(err)
	}
	if total != "{0,24,632}" || empty != "{}" {
		t.Errorf("buckets %s and %s; want {0,24,632} and {}", total, empty)
	}
	var days int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM aggregate_days`).Scan(&days); err != nil {
		t.Fatal(err)
	}
	if days != 0 {
		t.Errorf("%d days still marked current; want every day rebuilt", days)
	}
}

// emptyDB is a pool on a new, empty database named after prefix (no migration applied), dropped
// when the test ends: the migration tests start from a chosen schema version.
func emptyDB(t *testing.T, prefix string) *pgxpool.Pool {
	t.Helper()
	ctx := context.Background()
	admin, err := pgxpool.New(ctx, pgtest.AdminURL(t))
	if err != nil {
		t.Fatal(err)
	}
	name := fmt.Sprintf("%s_%d", prefix, time.Now().UnixNano())
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		admin.Close()
		t.Fatal(err)
	}
	pc := admin.Config().Copy()
	pc.ConnConfig.Database = name
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { // in this order: the pool, then the database, then the admin pool
		pool.Close()
		admin.Exec(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
		admin.Close()
	})
	return pool
}

// queryCounter counts the queries run through a pool.
type queryCounter struct{ n atomic.Int64 }

func (c *queryCounter) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	c.n.Add(1)
	return ctx
}
func (c *queryCounter) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// Ensures Migrate on a schema that needs nothing costs one query (every command starts with it,
// a cron budget check every few minutes included), and still creates a missing partition of the
// window and sets autosummarize on a BRIN index that lacks it.
func TestMigrateCurrentSchemaInOneQuery(t *testing.T) {
	ctx := context.Background()
	base := emptyDB(t, "migrate_current")
	if err := pgstore.Migrate(ctx, base, 90); err != nil {
		t.Fatal(err)
	}
	cfg := base.Config().Copy()
	counter := &queryCounter{}
	cfg.ConnConfig.Tracer = counter
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if err := pgstore.Migrate(ctx, pool, 90); err != nil {
		t.Fatal(err)
	}
	if n := counter.n.Load(); n != 1 {
		t.Errorf("Migrate on a current schema ran %d queries, want 1", n)
	}

	ahead := pgstore.PartitionName(time.Now().UTC().AddDate(0, 2, 0))
	if _, err := pool.Exec(ctx, "DROP TABLE "+ahead); err != nil {
		t.Fatal(err)
	}
	var brin string
	if err := pool.QueryRow(ctx, `SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
		JOIN pg_am a ON a.oid = c.relam AND a.amname = 'brin'
		WHERE i.indrelid = $1::regclass AND c.relname LIKE '%occurred_at%'`, pgstore.PartitionName(time.Now().UTC())).Scan(&brin); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, "ALTER INDEX "+brin+" SET (autosummarize = off)"); err != nil {
		t.Fatal(err)
	}
	if err := pgstore.Migrate(ctx, pool, 90); err != nil {
		t.Fatal(err)
	}
	var exists, on bool
	if err := pool.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL, (SELECT reloptions @> '{autosummarize=on}' FROM pg_class WHERE relname = $2)`,
		ahead, brin).Scan(&exists, &on); err != nil {
		t.Fatal(err)
	}
	if !exists || !on {
		t.Errorf("after Migrate: partition %s exists %v, %s autosummarizes %v", ahead, exists, brin, on)
	}
}

// Ensures migration 12's trigger sums each insert's rows that carry the inserting transaction
// by hour and dimension, beside marks that say so, and that marks written before it, and those
// of a bulk load of more than 5,000 rows, say they have no sums (their rows are read from the
// events).
func TestMigrationPendingSums(t *testing.T) {
	ctx := context.Background()
	pool := emptyDB(t, "migrate_sums")
	if err := pgstore.MigrateTo(ctx, pool, 11); err != nil {
		t.Fatal(err)
	}
	insert := func(id, at, service, user string, cost any, xact any) {
		t.Helper()
		if _, err := pool.Exec(ctx, `INSERT INTO events (event_id, occurred_at, service, model, input_tokens, output_tokens, cost, cost_source, user_id, ingest_xact)
			VALUES ($1, $2, $3, 'm', 1, 1, $4, 'local', $5, coalesce($6, txid_current()))`, id, at, service, cost, user, xact); err != nil {
			t.Fatal(err)
		}
	}
	if err := pgstore.EnsurePartitions(ctx, pool, time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	insert("before", "2026-10-05T10:20:00Z", "A", "u1", "1.5", nil)
	if err := pgstore.MigrateTo(ctx, pool, 0); err != nil {
		t.Fatal(err)
	}
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`INSERT INTO events (event_id, occurred_at, service, model, input_tokens, output_tokens, cost, cost_source, user_id) VALUES
			('a1', '2026-10-05T11:05:00Z', 'A', 'm', 1, 1, 2.25, 'local', 'u1'),
			('a2', '2026-10-05T11:40:00Z', 'A', 'm', 1, 1, 0.75, 'local', 'u1'),
			('a3', '2026-10-05T11:50:00Z', 'A', 'm', 1, 1, NULL, 'none', NULL),
			('b1', '2026-10-05T12:10:00Z', 'B', 'm', 1, 1, 4, 'local', 'u2')`,
	} {
		if _, err := tx.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	insert("forged", "2026-10-05T13:00:00Z", "C", "u3", "9", int64(3)) // wrote ingest_xact itself
	if _, err := pool.Exec(ctx, `INSERT INTO events (event_id, occurred_at, service, model, input_tokens, output_tokens, cost, cost_source)
		SELECT 'bulk-' || g, '2026-10-05T14:00:00Z'::timestamptz + g * interval '100 ms', 'D', 'm', 1, 1, 1, 'local'
		FROM generate_series(1, 5001) g`); err != nil { // a bulk load: not summed
		t.Fatal(err)
	}

	rows, err := pool.Query(ctx, `SELECT to_char(hour AT TIME ZONE 'UTC', 'HH24'), coalesce(xact IS NOT NULL, false), summed
		FROM event_changes ORDER BY hour`)
	if err != nil {
		t.Fatal(err)
	}
	var marks []string
	var hour string
	var named, summed bool
	if _, err := pgx.ForEachRow(rows, []any{&hour, &named, &summed}, func() error {
		marks = append(marks, fmt.Sprintf("%s named=%v summed=%v", hour, named, summed))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if got, want := fmt.Sprint(marks), "[10 named=true summed=false 11 named=true summed=true 12 named=true summed=true 13 named=false summed=false 14 named=true summed=false]"; got != want {
		t.Errorf("marks %s; want %s", got, want)
	}
	rows, err = pool.Query(ctx, `SELECT to_char(s.hour AT TIME ZONE 'UTC', 'HH24'), s.service, s.user_id, s.cost::text, s.requests, s.unpriced,
			s.xact = (SELECT xact FROM event_changes WHERE hour = s.hour)
		FROM event_change_sums s ORDER BY 1, 2, 3`)
	if err != nil {
		t.Fatal(err)
	}
	var sums []string
	var service, user, cost string
	var requests, unpriced int64
	var sameXact bool
	if _, err := pgx.ForEachRow(rows, []any{&hour, &service, &user, &cost, &requests, &unpriced, &sameXact}, func() error {
		sums = append(sums, fmt.Sprintf("%s %s %q %s %d %d %v", hour, service, user, cost, requests, unpriced, sameXact))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if got, want := fmt.Sprint(sums), `[11 A "" 0 1 1 true 11 A "u1" 3.00 2 0 true 12 B "u2" 4 1 0 true]`; got != want {
		t.Errorf("sums %s; want %s", got, want)
	}
}

// Ensures each new database draws its own installation id (what keeps two installations'
// Message-IDs apart), that re-running the migrations keeps it, and that a schema older than
// migration 13 gets an error naming `aispend migrate`.
func TestInstallationID(t *testing.T) {
	ctx := context.Background()
	ids := map[string]bool{}
	for _, prefix := range []string{"installation_a", "installation_b"} {
		pool := emptyDB(t, prefix)
		if err := pgstore.MigrateTo(ctx, pool, 12); err != nil {
			t.Fatal(err)
		}
		if _, err := pgstore.InstallationID(ctx, pool); err == nil || !strings.Contains(err.Error(), "aispend migrate") {
			t.Fatalf("InstallationID before migration 13: %v; want an error naming `aispend migrate`", err)
		}
		if err := pgstore.Migrate(ctx, pool, 90); err != nil {
			t.Fatal(err)
		}
		id, err := pgstore.InstallationID(ctx, pool)
		if err != nil || len(id) != 36 {
			t.Fatalf("InstallationID = %q, %v; want a UUID", id, err)
		}
		if err := pgstore.Migrate(ctx, pool, 90); err != nil {
			t.Fatal(err)
		}
		if err := pgstore.MigrateTo(ctx, pool, 0); err != nil {
			t.Fatal(err)
		}
		if again, err := pgstore.InstallationID(ctx, pool); err != nil || again != id {
			t.Errorf("after re-running the migrations: %q, %v; want %q", again, err, id)
		}
		ids[id] = true
	}
	if len(ids) != 2 {
		t.Errorf("two new databases share the installation id %v", ids)
	}
}
