// Package pgtest gives tests a real PostgreSQL: TEST_DATABASE_URL when set, otherwise a private
// throwaway cluster started once per test package (see pglocal). Each test gets a fresh,
// migrated database cloned from a template, so tests never see each other's rows.
//
// With TEST_CITUS=1 the same tests run on Citus instead: a private coordinator and two workers
// (pglocal.StartCitus), or the cluster whose coordinator CITUS_DATABASE_URL names (the superuser
// URL of its maintenance database; the workers are reached with the same credentials). Each test
// database then exists on every node, its events distributed by the migrations.
package pgtest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/aispend/aispend/collect/pglocal"
	"github.com/aispend/aispend/collect/pgstore"
)

var (
	once     sync.Once
	cluster  *pglocal.Cluster
	citus    *pglocal.Citus
	adminURL string
	tplName  string
	setupErr error
	counter  atomic.Int64
)

// Main runs the package's tests and stops the private cluster afterwards. Call it from TestMain.
func Main(m *testing.M) {
	code := m.Run()
	if citus != nil {
		if err := errors.Join(citus.DropDatabase(context.Background(), tplName), citus.Stop()); err != nil {
			fmt.Fprintln(os.Stderr, "pgtest:", err)
		}
	}
	if cluster != nil {
		if err := cluster.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "pgtest:", err)
		}
	}
	os.Exit(code)
}

// RetentionDays is the retention used to create partitions in test databases.
const RetentionDays = 400

// CitusWorkers is how many workers the private Citus cluster has, and citusShards the shards
// of each distributed table there: few, so that the many partitions of a test database stay
// cheap to create, and more than one per worker, so that rows of one statement span shards.
const (
	CitusWorkers = 2
	citusShards  = 4
)

// Citus reports whether the tests run on Citus (TEST_CITUS=1).
func Citus() bool { return os.Getenv("TEST_CITUS") == "1" }

func setup() {
	ctx := context.Background()
	tplName = fmt.Sprintf("aispend_tpl_%d_%d", os.Getpid(), time.Now().UnixNano()%1e6)
	if Citus() {
		setupErr = setupCitus(ctx)
		return
	}
	adminURL = os.Getenv("TEST_DATABASE_URL")
	if adminURL == "" {
		cluster, setupErr = pglocal.Start(ctx, pglocal.Options{Fast: true})
		if setupErr != nil {
			return
		}
		adminURL = cluster.URL
	}
	if setupErr = exec(ctx, adminURL, "CREATE DATABASE "+tplName); setupErr != nil {
		return
	}
	setupErr = migrate(ctx, pglocal.WithDatabase(adminURL, tplName))
}

// setupCitus starts (or finds) the Citus cluster and makes the template database on every node:
// created from scratch, migrated through the coordinator, then frozen for cloning.
func setupCitus(ctx context.Context) error {
	var err error
	if u := os.Getenv("CITUS_DATABASE_URL"); u != "" {
		citus, err = pglocal.ExistingCitus(ctx, u)
	} else {
		citus, err = pglocal.StartCitus(ctx, pglocal.Options{Fast: true,
			Settings: []string{fmt.Sprintf("citus.shard_count = %d", citusShards)}}, CitusWorkers)
	}
	if err != nil {
		return err
	}
	adminURL = citus.Nodes[0]
	tpl, err := citus.CreateDatabase(ctx, tplName, "")
	if err != nil {
		return err
	}
	if err := migrate(ctx, tpl); err != nil {
		return err
	}
	return citus.Freeze(ctx, tplName)
}

func migrate(ctx context.Context, url string) error {
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		return err
	}
	defer pool.Close()
	return pgstore.Migrate(ctx, pool, RetentionDays)
}

// createDatabase creates database name from the template: on every node of a Citus cluster.
func createDatabase(ctx context.Context, name string) error {
	if citus != nil {
		_, err := citus.CreateDatabase(ctx, name, tplName)
		return err
	}
	return exec(ctx, adminURL, fmt.Sprintf("CREATE DATABASE %s TEMPLATE %s", name, tplName))
}

func dropDatabase(ctx context.Context, name string) error {
	if citus != nil {
		return citus.DropDatabase(ctx, name)
	}
	return exec(ctx, adminURL, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
}

// URL creates a fresh migrated database for the test and returns its URL. The database is
// dropped when the test ends. It fails the test (never skips) when PostgreSQL cannot be started.
func URL(t testing.TB) string {
	t.Helper()
	once.Do(setup)
	if setupErr != nil {
		t.Fatalf("start PostgreSQL for tests (install the PostgreSQL 15 server binaries, or set TEST_DATABASE_URL): %v", setupErr)
	}
	name := fmt.Sprintf("%s_%d", tplName, counter.Add(1))
	ctx := context.Background()
	if err := createDatabase(ctx, name); err != nil {
		t.Fatalf("create test database: %v", err)
	}
	t.Cleanup(func() { _ = dropDatabase(context.Background(), name) })
	// A clone copies the template's installation id; each test database is an installation of
	// its own, as a database migrated from scratch is (its Message-IDs differ from the others').
	if err := exec(ctx, pglocal.WithDatabase(adminURL, name), "UPDATE installation SET id = gen_random_uuid()"); err != nil {
		t.Fatalf("give the test database its own installation id: %v", err)
	}
	return pglocal.WithDatabase(adminURL, name)
}

// Pool opens a pool on a fresh database (see URL), closed when the test ends.
func Pool(t testing.TB) *pgxpool.Pool {
	t.Helper()
	return Connect(t, URL(t))
}

// Connect opens a pool on the database at url (one a test already has, say the one its binary
// runs against), closed when the test ends.
func Connect(t testing.TB, url string) *pgxpool.Pool {
	t.Helper()
	pool, err := pgxpool.New(context.Background(), url)
	if err != nil {
		t.Fatalf("open pool: %v", err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// AdminURL is the URL of the server's maintenance database, for tests that need a cluster-level
// view (creating databases of their own).
func AdminURL(t testing.TB) string {
	t.Helper()
	once.Do(setup)
	if setupErr != nil {
		t.Fatalf("start PostgreSQL for tests: %v", setupErr)
	}
	return adminURL
}

func exec(ctx context.Context, url, sql string) error {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, sql)
	return err
}

// ChangeEvents runs an UPDATE or DELETE of events written by hand (stmt, without RETURNING), as
// an operator would: on Citus, where no trigger marks the changed hours, it marks them in the
// same transaction, as the README asks of such writers (pgstore.MarkHours).
func ChangeEvents(t testing.TB, pool *pgxpool.Pool, stmt string, args ...any) {
	t.Helper()
	ctx := context.Background()
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		distributed, err := pgstore.Distributed(ctx, tx)
		if err != nil {
			return err
		}
		if !distributed {
			_, err := tx.Exec(ctx, stmt, args...)
			return err
		}
		rows, err := tx.Query(ctx, stmt+" RETURNING occurred_at", args...)
		if err != nil {
			return err
		}
		at, err := pgx.CollectRows(rows, pgx.RowTo[time.Time])
		if err != nil {
			return err
		}
		return pgstore.MarkHours(ctx, tx, at)
	})
	if err != nil {
		t.Fatalf("change events (%s): %v", stmt, err)
	}
}
