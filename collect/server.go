package collect

import (
	"bytes"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"golang.org/x/sync/semaphore"

	"github.com/aispend/aispend/collect/pricing"
)

// openAPI documents the API; a test checks it against these handlers.
//
//go:embed openapi.json
var openAPI []byte

// ErrSaturated means the server has more work queued than it can take now; the client should
// retry shortly. ErrUnavailable means the database cannot be reached.
var (
	ErrSaturated   = errors.New("server saturated")
	ErrUnavailable = errors.New("database unavailable")
)

// EventStore stores the events of one request atomically: all or none, durable on return.
type EventStore interface {
	Insert(ctx context.Context, rows []Row) (accepted, duplicates int, err error)
}

// Pinger tells whether the database is reachable.
type Pinger interface {
	Ping(ctx context.Context) error
}

// Config is what the HTTP layer needs to know.
type Config struct {
	Tokens []string // accepted ingest bearer tokens; empty means no authentication
	// ReadTokens may read the statistics (GET /v1/stats, /v1/daily, /v1/top, /v1/alerts,
	// /v1/budgets) but not send events; AdminTokens may also send a test alert. With no token of
	// any kind configured, those endpoints are open too (the loopback-only mode).
	ReadTokens  []string
	AdminTokens []string
	// Location is the report time zone: read API dates are calendar days there. ReadNow is the
	// read API's clock, for its default dates (AISPEND_NOW); default Now, which ingest keeps.
	Location *time.Location
	ReadNow  func() time.Time
	// TagKeys are the configured tag keys (reports.tag_keys): GET /v1/top takes dimension
	// tag:<key> for these only, any other key is a 400.
	TagKeys []string
	// Read answers the read API and TestAlert POST /v1/alerts/test; nil: they answer 404.
	Read         ReadSource
	TestAlert    AlertTester
	MaxEvents    int   // per request; default 1,000
	MaxBodyBytes int64 // per request; default 1 MiB
	FutureSkew   time.Duration
	MaxAge       time.Duration // events older than this are refused (retention); 0 = no limit
	Prices       *pricing.Table
	Now          func() time.Time
	// MaxInFlight bounds the event requests being decoded, validated and committed at once
	// (default 32); AdmitWait is how long a request beyond it waits for a slot before it is
	// answered 503 (default 100 ms). Bodies are read before a slot is taken (body.go): the
	// bodies held at once, and the estimated decoded size of the requests in their slots, are
	// each bounded by 2 × MaxInFlight × MaxBodyBytes, so memory is about
	// 4 × MaxInFlight × MaxBodyBytes in all, whatever the number of connections.
	MaxInFlight int
	AdmitWait   time.Duration
	// BodyTimeout is how long a client has to send its body once its headers are read
	// (default 10 s); past it the request is answered 408.
	BodyTimeout time.Duration
	// Decide answers POST /v1/decide (decide.go); nil: no budget is enforced, every request
	// is allowed.
	Decide *Decider
}

// bodyBudget is the bytes of request bodies held at once, being received or waiting for a slot.
func (c *Config) bodyBudget() int64 { return 2 * int64(c.MaxInFlight) * c.MaxBodyBytes }

// maxDecoded is the most one request may be estimated to take once decoded: past it, 413.
func (c *Config) maxDecoded() int64 { return 16 * c.MaxBodyBytes }

// decodeBudget is the estimated decoded bytes of the requests in their slots at once.
func (c *Config) decodeBudget() int64 {
	return max(2*int64(c.MaxInFlight)*c.MaxBodyBytes, c.maxDecoded())
}

// Server is the collector's HTTP handler.
type Server struct {
	cfg     Config
	log     *slog.Logger
	store   EventStore
	db      Pinger
	budgets BudgetSource
	metrics *Metrics
	mux     *http.ServeMux
	tokens  [][]byte // ingest
	// readTokens and adminTokens: the other kinds (auth.go)
	readTokens, adminTokens [][]byte
	slots                   chan struct{} // one per event request in flight
	// bodyMem and decodeMem are the memory budgets of body.go.
	bodyMem, decodeMem *semaphore.Weighted
}

// NewServer builds the handler. budgets may be nil, in which case /v1/budgets answers 404.
func NewServer(cfg Config, log *slog.Logger, store EventStore, db Pinger, budgets BudgetSource, m *Metrics) *Server {
	if cfg.MaxEvents <= 0 {
		cfg.MaxEvents = 1000
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = 1 << 20
	}
	if cfg.FutureSkew <= 0 {
		cfg.FutureSkew = 5 * time.Minute
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.ReadNow == nil {
		cfg.ReadNow = cfg.Now
	}
	if cfg.MaxInFlight <= 0 {
		cfg.MaxInFlight = 32
	}
	if cfg.AdmitWait <= 0 {
		cfg.AdmitWait = 100 * time.Millisecond
	}
	if cfg.BodyTimeout <= 0 {
		cfg.BodyTimeout = 10 * time.Second
	}
	if m == nil {
		m = NewMetrics()
	}
	s := &Server{cfg: cfg, log: log, store: store, db: db, budgets: budgets, metrics: m, mux: http.NewServeMux(),
		slots:   make(chan struct{}, cfg.MaxInFlight),
		bodyMem: semaphore.NewWeighted(cfg.bodyBudget()), decodeMem: semaphore.NewWeighted(cfg.decodeBudget())}
	for _, t := range cfg.Tokens {
		s.tokens = append(s.tokens, []byte(t))
	}
	for _, t := range cfg.ReadTokens {
		s.readTokens = append(s.readTokens, []byte(t))
	}
	for _, t := range cfg.AdminTokens {
		s.adminTokens = append(s.adminTokens, []byte(t))
	}
	s.routes()
	return s
}

func (s *Server) routes() {
	s.mux.Handle("POST /v1/events", s.authed(s.handleEventsCreate()))
	s.mux.Handle("GET /v1/budgets", s.authedAs(ingestToken|readToken|adminToken, "", s.handleBudgets()))
	s.mux.Handle("GET /v1/budgets/{name}/entities", s.authedAs(readToken|adminToken,
		"this token may not read spend by entity: use a read token (AISPEND_READ_TOKENS) or an admin token (AISPEND_ADMIN_TOKENS)", s.handleEntities()))
	// OTLP/HTTP answers its own refusals (401 included) in the request's encoding.
	s.mux.Handle("POST /v1/traces", s.handleTracesCreate())
	s.mux.Handle("POST /v1/decide", s.authedAs(ingestToken|readToken|adminToken, "", s.handleDecide()))
	s.readRoutes()
	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, map[string]string{"status": "ok"}) })
	s.mux.Handle("GET /readyz", s.handleReady())
	s.mux.Handle("GET /metrics", s.metrics.Handler())
	s.mux.HandleFunc("GET /openapi.json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(openAPI)
	})
}

// ServeHTTP counts every answer by status and turns a panic into a logged 500.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	sw := &statusWriter{ResponseWriter: w, status: 200}
	defer func() {
		if p := recover(); p != nil {
			s.log.Error("panic in handler", "path", r.URL.Path, "panic", p)
			if !sw.wrote {
				writeError(sw, http.StatusInternalServerError, "internal error", nil)
			}
		}
		s.metrics.request(sw.status)
	}()
	if _, pattern := s.mux.Handler(r); pattern == "" {
		s.notRouted(sw, r)
		return
	}
	s.mux.ServeHTTP(sw, r)
}

// notRouted answers a request no route matches in the JSON error shape: ServeMux's own answers
// (404, 405 with Allow) are plain text. A redirect (a path to clean) is passed on as it is.
func (s *Server) notRouted(w http.ResponseWriter, r *http.Request) {
	h, _ := s.mux.Handler(r)
	rec := &recorder{header: http.Header{}, Code: http.StatusOK}
	h.ServeHTTP(rec, r)
	for k, v := range rec.header {
		if k != "Content-Type" && k != "X-Content-Type-Options" && k != "Content-Length" {
			w.Header()[k] = v
		}
	}
	switch rec.Code {
	case http.StatusNotFound:
		writeError(w, rec.Code, fmt.Sprintf("no endpoint %s: see GET /openapi.json", r.URL.Path), nil)
	case http.StatusMethodNotAllowed:
		writeError(w, rec.Code, fmt.Sprintf("method %s not allowed on %s (allowed: %s)", r.Method, r.URL.Path, rec.header.Get("Allow")), nil)
	default:
		w.WriteHeader(rec.Code)
		_, _ = w.Write(rec.body.Bytes())
	}
}

// refusedIngest answers a valid token of another kind on the ingest endpoints.
const refusedIngest = "this token may not send events: use an ingest token (AISPEND_INGEST_TOKENS)"

// authed requires an ingest token (AISPEND_INGEST_TOKENS), compared in constant time against
// every token; see authedAs.
func (s *Server) authed(next http.Handler) http.Handler {
	return s.authedAs(ingestToken, refusedIngest, next)
}

func bearer(h string) ([]byte, bool) {
	const prefix = "Bearer "
	// The scheme is case-insensitive (RFC 9110 section 11.1).
	if len(h) <= len(prefix) || !strings.EqualFold(h[:len(prefix)], prefix) {
		return nil, false
	}
	return []byte(h[len(prefix):]), true
}

func (s *Server) handleReady() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := s.db.Ping(ctx); err != nil {
			s.log.Warn("readiness check failed", "error", err)
			writeError(w, http.StatusServiceUnavailable, "database unreachable", nil)
			return
		}
		// A decider that has not read the spend yet answers every decision stale (on_stale):
		// not ready, so that a load balancer sends requests to replicas that know the spend.
		if s.cfg.Decide != nil && !s.cfg.Decide.Read() {
			w.Header().Set("Retry-After", "1")
			writeError(w, http.StatusServiceUnavailable, "the enforced budgets' spend is not read yet", nil)
			return
		}
		writeJSON(w, 200, map[string]string{"status": "ready"})
	})
}

func (s *Server) handleBudgets() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.budgets == nil {
			writeError(w, http.StatusNotFound, "no budgets configured", nil)
			return
		}
		st, err := s.budgets.Budgets(r.Context())
		if err != nil {
			s.log.Error("compute budget status", "error", err)
			w.Header().Set("Retry-After", "5")
			writeError(w, http.StatusServiceUnavailable, "budget status unavailable", nil)
			return
		}
		if !s.mayRead(r) {
			withoutNearest(st.Budgets) // an application's ingest token does not read spend by user
		}
		writeJSON(w, 200, st)
	})
}

type statusWriter struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wrote {
		w.status, w.wrote = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

// Unwrap lets http.ResponseController reach the connection (the body deadline).
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *statusWriter) Write(b []byte) (int, error) {
	w.wrote = true
	return w.ResponseWriter.Write(b)
}

// recorder keeps what ServeMux's own handlers (not found, redirects) answer.
type recorder struct {
	header http.Header
	Code   int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header         { return r.header }
func (r *recorder) WriteHeader(code int)        { r.Code = code }
func (r *recorder) Write(b []byte) (int, error) { return r.body.Write(b) }
