package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/aispend/aispend/collect"
	"github.com/aispend/aispend/collect/pgstore"
	"github.com/aispend/aispend/collect/pricing"
	"github.com/aispend/aispend/report/mail"
	"github.com/aispend/aispend/report/pgquery"
)

func cmdServe(ctx context.Context, env *environment, args []string) error {
	fs := env.flags("serve", "Runs the collector: POST /v1/events, POST /v1/traces (OTLP/HTTP), GET /v1/budgets, the read API (GET /v1/stats, /v1/daily, /v1/top,\n/v1/alerts; POST /v1/alerts/test), /healthz, /readyz, /metrics, /openapi.json.\nStops on SIGTERM after answering every request in flight.")
	unauth := fs.Bool("insecure-no-auth", false, "accept events without a bearer token (only on a loopback address)")
	if err := env.parse(fs, args); err != nil {
		return err
	}
	cfg, err := loadConfig(env.configPath, env.getenv)
	if err != nil {
		return err
	}
	if *unauth {
		cfg.Ingest.AllowUnauthenticated = true
	}
	if err := checkServeAuth(cfg, env); err != nil {
		return err
	}
	warnUnconfigured(cfg, env.log)
	prices, err := cfg.priceTable()
	if err != nil {
		return err
	}
	if cfg.catalog != nil {
		// The catalog is read once: a refreshed file takes effect at the next start.
		env.log.Info("price catalog loaded", "file", cfg.PriceCatalog, "models", cfg.catalog.Models(),
			"date", cfg.catalog.Date.Format(time.DateOnly))
	}
	pool, err := openMigrated(ctx, cfg)
	if err != nil {
		return err
	}
	defer pool.Close()
	handler, store, err := newCollector(ctx, cfg, env, pool, prices)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Ingest.Listen)
	if err != nil {
		store.Close()
		return fmt.Errorf("listen on %s: %w", cfg.Ingest.Listen, err)
	}
	ln = collect.Listen(ln, cfg.Ingest.MaxConnections, unauthIdle)
	go pgstore.KeepPartitions(ctx, pool, cfg.RetentionDays, env.log)
	go pgquery.New(pool).KeepSumsCompact(ctx, env.log)
	return serveUntilDone(ctx, env, ln, handler, store)
}

// checkServeAuth refuses a collector without ingest tokens, unless it is allowed to run
// without authentication on a loopback address.
func checkServeAuth(cfg *Config, env *environment) error {
	if len(cfg.Ingest.Tokens) == 0 {
		if !cfg.Ingest.AllowUnauthenticated {
			return errors.New("no ingest token: set AISPEND_INGEST_TOKENS, or pass --insecure-no-auth to run without authentication on loopback")
		}
		if !loopback(cfg.Ingest.Listen) {
			return fmt.Errorf("refusing to run without authentication on %s: only a loopback address is allowed", cfg.Ingest.Listen)
		}
		env.log.Warn("running without authentication (loopback only)")
	}
	if len(cfg.Ingest.ReadTokens) == 0 && len(cfg.Ingest.AdminTokens) == 0 && len(cfg.Ingest.Tokens) > 0 {
		env.log.Info("read API needs a token: set AISPEND_READ_TOKENS (or AISPEND_ADMIN_TOKENS) to use GET /v1/stats, /v1/daily, /v1/top, /v1/alerts")
	}
	return nil
}

// warnUnconfigured says at start-up what the collector runs without, and how to give it: a
// collector started without the configuration `aispend run` reads would otherwise store every
// event unpriced and answer the read API in UTC without a word.
func warnUnconfigured(cfg *Config, log *slog.Logger) {
	var missing []string
	if len(cfg.Prices) == 0 && cfg.catalog == nil {
		missing = append(missing, "no price table (prices, price_catalog): events sent without a cost are stored unpriced")
	}
	if !cfg.zoneSet {
		missing = append(missing, "no time zone (timezone, AISPEND_TIMEZONE): the read API counts UTC days")
	}
	if len(cfg.Budgets) == 0 {
		missing = append(missing, "no budgets: GET /v1/budgets answers an empty list")
	}
	if len(missing) == 0 {
		return
	}
	file := "none"
	if cfg.file != "" {
		file = cfg.file
	}
	log.Warn("the collector runs with "+strings.Join(missing, "; ")+
		". Give it the configuration file `aispend run` reads: --config FILE or AISPEND_CONFIG (else ./aispend.yaml)",
		"config_file", file)
}

// newCollector wires the collector's handler and its event store; close the store after the
// last request.
func newCollector(ctx context.Context, cfg *Config, env *environment, pool *pgxpool.Pool, prices *pricing.Table) (http.Handler, *pgstore.Store, error) {
	// Always answer GET /v1/budgets, with an empty list when no budget is configured, so that
	// applications can poll it before budgets exist.
	budgets, err := newBudgetsAPI(cfg, pool)
	if err != nil {
		return nil, nil, err
	}
	collect.TuneGC(env.getenv)
	metrics := collect.NewMetrics()
	store := pgstore.New(pool, pgstore.Options{OnCommit: metrics.ObserveCommit})
	decider, err := startDecider(ctx, cfg, env, pool, prices)
	if err != nil {
		return nil, nil, err
	}
	var events collect.EventStore = store
	if decider != nil {
		events = decider.Store(store) // what this collector commits counts at once
	}
	handler := collect.NewServer(collect.Config{
		Tokens:       cfg.Ingest.Tokens,
		ReadTokens:   cfg.Ingest.ReadTokens,
		AdminTokens:  cfg.Ingest.AdminTokens,
		Location:     cfg.Location,
		ReadNow:      cfg.now,
		TagKeys:      cfg.Reports.TagKeys,
		Read:         newReadAPI(cfg, pool),
		TestAlert:    testAlerter{cfg: cfg},
		MaxEvents:    cfg.Ingest.MaxEvents,
		MaxBodyBytes: cfg.Ingest.MaxBodyBytes,
		MaxInFlight:  cfg.Ingest.MaxInFlight,
		BodyTimeout:  cfg.Ingest.BodyTimeout,
		MaxAge:       time.Duration(cfg.RetentionDays) * 24 * time.Hour,
		Prices:       prices,
		Decide:       decider,
	}, env.log, events, pool, budgets, metrics)
	return handler, store, nil
}

// unauthIdle is how long a connection on which no request has authenticated is kept between
// reads (the header timeout): unauthenticated clients cannot hold connections for IdleTimeout.
const unauthIdle = 5 * time.Second

// serveUntilDone serves on ln until ctx is done, then stops accepting, lets every request in
// flight be committed and answered, and stops the store's committers: nothing acknowledged is
// lost.
func serveUntilDone(ctx context.Context, env *environment, ln net.Listener, handler http.Handler, store *pgstore.Store) error {
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ConnContext:       collect.ConnContext,
		// The server's own lines (accept errors such as "too many open files") in the
		// configured log format.
		ErrorLog: slog.NewLogLogger(env.log.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	env.log.Info("collector listening", "addr", ln.Addr().String(), "version", version)
	fmt.Fprintf(env.stdout, "listening on http://%s\n", ln.Addr())

	select {
	case err := <-errc:
		store.Close()
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	env.log.Info("shutting down")
	shutCtx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	err := srv.Shutdown(shutCtx)
	store.Close()
	if err != nil {
		return fmt.Errorf("shut down: %w", err)
	}
	env.log.Info("stopped")
	return nil
}

// loopback reports whether the listen address addr (host:port) is on loopback only.
func loopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	return err == nil && mail.IsLoopback(host)
}

// migratedDB parses a command's flags, loads the configuration and opens the migrated
// database: the start of every command that works on the database.
func (env *environment) migratedDB(ctx context.Context, fs *flag.FlagSet, args []string) (*Config, *pgxpool.Pool, error) {
	if err := env.parse(fs, args); err != nil {
		return nil, nil, err
	}
	cfg, err := loadConfig(env.configPath, env.getenv)
	if err != nil {
		return nil, nil, err
	}
	pool, err := openMigrated(ctx, cfg)
	if err != nil {
		return nil, nil, err
	}
	return cfg, pool, nil
}

// openMigrated opens the pool and applies the schema: what every command that writes does first.
func openMigrated(ctx context.Context, cfg *Config) (*pgxpool.Pool, error) {
	pool, err := openDB(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if err := pgstore.Migrate(ctx, pool, cfg.RetentionDays); err != nil {
		pool.Close()
		return nil, err
	}
	return pool, nil
}

// openDB opens the pool of DATABASE_URL and checks that PostgreSQL knows the configured time
// zone: every query that groups by day passes its name to PostgreSQL, so a zone Go knows but the
// server does not (a newer zone than the server's time zone database, say) would make every run
// fail later.
func openDB(ctx context.Context, cfg *Config) (*pgxpool.Pool, error) {
	pool, err := openPool(ctx, cfg.DatabaseURL)
	if err != nil {
		return nil, err
	}
	if err := checkDatabaseTimezone(ctx, pool, cfg.Timezone); err != nil {
		pool.Close()
		return nil, err
	}
	return pool, nil
}

// checkDatabaseTimezone refuses a zone name that PostgreSQL does not know (pgstore.KnowsTimezone).
func checkDatabaseTimezone(ctx context.Context, pool *pgxpool.Pool, zone string) error {
	known, err := pgstore.KnowsTimezone(ctx, pool, zone)
	if err != nil {
		return err
	}
	if !known {
		return &ConfigError{Problems: []string{fmt.Sprintf("timezone (AISPEND_TIMEZONE): PostgreSQL does not know the time zone %q "+
			"(not in pg_timezone_names: its time zone database is older or built differently); use a zone both know, or update the server's tzdata", zone)}}
	}
	return nil
}

func openPool(ctx context.Context, url string) (*pgxpool.Pool, error) {
	if url == "" {
		return nil, errors.New("DATABASE_URL is not set (e.g. postgres://user@localhost:5432/aispend)")
	}
	pcfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("parse DATABASE_URL: %s", parseErrorReason(err))
	}
	// A password pasted into a URL unescaped ("postgres://u:p@ss@host/db") parses with part of
	// the password in the host name, which every connection error would then print.
	for _, host := range append([]string{pcfg.ConnConfig.Host}, fallbackHosts(pcfg)...) {
		if !strings.HasPrefix(host, "/") && strings.ContainsAny(host, "@/?#") { // "/…": a socket directory
			return nil, errors.New("parse DATABASE_URL: the host name holds '@', '/', '?' or '#': percent-encode those characters in the user name and password (%40, %2F, %3F, %23)")
		}
	}
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := pool.Ping(pctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("connect to database: %w", err)
	}
	return pool, nil
}

// parseErrorReason is why pgx refused a connection string, without the string: pgx quotes it with
// the password masked on a best-effort basis, and a malformed one (a password with an unescaped
// '@') shows part of the password. Only pgx's own fixed message is kept.
func parseErrorReason(err error) string {
	var pe *pgconn.ParseConfigError
	if !errors.As(err, &pe) {
		return "invalid connection string (not shown: it may hold the password)"
	}
	msg := pe.Error()
	if i := strings.LastIndex(msg, "`: "); i >= 0 {
		msg = msg[i+3:]
	}
	if inner := errors.Unwrap(pe); inner != nil {
		msg = strings.TrimSuffix(msg, " ("+inner.Error()+")")
	}
	return msg + " (the connection string is not shown: it may hold the password)"
}

func fallbackHosts(c *pgxpool.Config) []string {
	var hosts []string
	for _, f := range c.ConnConfig.Fallbacks {
		hosts = append(hosts, f.Host)
	}
	return hosts
}

func cmdMigrate(ctx context.Context, env *environment, args []string) error {
	fs := env.flags("migrate", "Applies the database schema and creates the event partitions. Safe to run from several processes at once.")
	_, pool, err := env.migratedDB(ctx, fs, args)
	if err != nil {
		return err
	}
	defer pool.Close()
	env.log.Info("schema up to date")
	return nil
}
