package collect

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/mail"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	json "github.com/goccy/go-json"
)

// The read API: GET /v1/stats, /v1/daily, /v1/top and /v1/alerts over a range of dates, with
// read (or admin) tokens; POST /v1/alerts/test with an admin token. The numbers come from a
// ReadSource (report/readapi, wired by cmd/aispend): this file owns the HTTP side only —
// tokens, query parameters, status codes.

// Date is a calendar date in the report time zone.
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

func (d Date) String() string { return fmt.Sprintf("%04d-%02d-%02d", d.Year, int(d.Month), d.Day) }

func (d Date) time() time.Time { return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, time.UTC) }

func dateOf(t time.Time) Date {
	y, m, d := t.Date()
	return Date{y, m, d}
}

// ReadQuery is a valid query of the read API: From ≤ To, at most MaxRangeDays days.
type ReadQuery struct {
	From, To  Date
	Dimension string // GET /v1/top: service, model, provider, org or user
	Limit     int    // GET /v1/top: 1 to MaxTopLimit
}

// ReadSource answers the read API; each method returns the JSON body of its endpoint. An error
// means the numbers could not be read (the database): the client is told to retry.
type ReadSource interface {
	Stats(ctx context.Context, q ReadQuery) (any, error)
	Daily(ctx context.Context, q ReadQuery) (any, error)
	Top(ctx context.Context, q ReadQuery) (any, error)
	Alerts(ctx context.Context, q ReadQuery) (any, error)
}

// AlertTester sends a sample alert through the configured mail transport (POST
// /v1/alerts/test) to the addresses given, or to the configured recipients when none is. An
// error wrapping ErrRecipients means the recipients are refused (none configured, or outside
// the allowed domains); any other, that sending failed.
type AlertTester interface {
	SendTestAlert(ctx context.Context, to []string) (TestAlertSent, error)
}

// TestAlertSent is the answer of POST /v1/alerts/test.
type TestAlertSent struct {
	To        []string `json:"to"`
	MessageID string   `json:"message_id"`
}

// ErrRecipients marks an AlertTester error about the recipients rather than the transport.
var ErrRecipients = errors.New("recipients refused")

// Read API limits.
const (
	MaxRangeDays     = 366 // days from..to, inclusive
	DefaultRangeDays = 30  // from defaults to 29 days before to
	DefaultTopLimit  = 10
	MaxTopLimit      = 1000
	maxTestAlertTo   = 20
	readTimeout      = 50 * time.Second // under the server's 60 s write timeout
	minYear, maxYear = 1970, 9998
)

// TopDimensions are the values of GET /v1/top's dimension parameter.
var TopDimensions = []string{"service", "model", "provider", "org", "user"}

// tokenKind is a set of token kinds.
type tokenKind uint8

const (
	ingestToken tokenKind = 1 << iota
	readToken
	adminToken
)

// kindOf is the kinds of token got is, compared in constant time with every configured token.
func (s *Server) kindOf(got []byte) tokenKind {
	var k tokenKind
	for _, set := range []struct {
		kind   tokenKind
		tokens [][]byte
	}{{ingestToken, s.tokens}, {readToken, s.readTokens}, {adminToken, s.adminTokens}} {
		match := 0
		for _, t := range set.tokens {
			match |= subtle.ConstantTimeCompare(got, t)
		}
		if match == 1 {
			k |= set.kind
		}
	}
	return k
}

// open tells whether endpoints for kinds need no token: ingest endpoints when no ingest token is
// configured (a loopback-only mode that cmd/aispend allows explicitly), the others only when no
// token of any kind is.
func (s *Server) open(allowed tokenKind) bool {
	if allowed&ingestToken != 0 {
		return len(s.tokens) == 0
	}
	return len(s.tokens) == 0 && len(s.readTokens) == 0 && len(s.adminTokens) == 0
}

// authedAs requires a bearer token of one of the allowed kinds: 401 for a missing or unknown
// token, 403 for a valid token of another kind (so that an application's ingest token cannot
// read the organisation's spend, nor a dashboard's read token send alerts). refused says what
// the endpoint needs.
func (s *Server) authedAs(allowed tokenKind, refused string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if status, msg := s.authorize(r, allowed, refused); status != 0 {
			if status == http.StatusUnauthorized {
				w.Header().Set("WWW-Authenticate", `Bearer realm="aispend"`)
			}
			writeError(w, status, msg, nil)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// authorize checks r's bearer token against the allowed kinds: 0, or 401 (missing or unknown)
// or 403 (another kind: refused says what the endpoint needs) with the message to answer. A
// known token of any kind marks the connection authenticated (conn.go).
func (s *Server) authorize(r *http.Request, allowed tokenKind, refused string) (int, string) {
	if s.open(allowed) {
		markAuthenticated(r)
		return 0, ""
	}
	got, ok := bearer(r.Header.Get("Authorization"))
	kind := tokenKind(0)
	if ok {
		kind = s.kindOf(got)
	}
	if kind == 0 {
		return http.StatusUnauthorized, "missing or invalid bearer token"
	}
	markAuthenticated(r)
	if kind&allowed == 0 {
		return http.StatusForbidden, refused
	}
	return 0, ""
}

// readRoutes registers the read API.
func (s *Server) readRoutes() {
	const readRefused = "this token may not read statistics: use a read token (AISPEND_READ_TOKENS) or an admin token (AISPEND_ADMIN_TOKENS)"
	read := func(path string, params []string, call func(ReadSource, context.Context, ReadQuery) (any, error)) {
		s.mux.Handle("GET "+path, s.authedAs(readToken|adminToken, readRefused, s.handleRead(params, call)))
	}
	rangeParams := []string{"from", "to"}
	read("/v1/stats", rangeParams, ReadSource.Stats)
	read("/v1/daily", rangeParams, ReadSource.Daily)
	read("/v1/top", []string{"from", "to", "dimension", "limit"}, ReadSource.Top)
	read("/v1/alerts", rangeParams, ReadSource.Alerts)
	s.mux.Handle("POST /v1/alerts/test", s.authedAs(adminToken,
		"sending a test alert needs an admin token (AISPEND_ADMIN_TOKENS)", s.handleTestAlert()))
}

// queryProblem is one reason a query or a request body was refused.
type queryProblem struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

type queryErrorBody struct {
	Error    string         `json:"error"`
	Problems []queryProblem `json:"problems"`
}

func writeProblems(w http.ResponseWriter, status int, msg string, ps []queryProblem) {
	writeJSON(w, status, queryErrorBody{Error: msg, Problems: ps})
}

func (s *Server) handleRead(params []string, call func(ReadSource, context.Context, ReadQuery) (any, error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.cfg.Read == nil {
			writeError(w, http.StatusNotFound, "the read API is not configured", nil)
			return
		}
		q, problems := s.parseReadQuery(r.URL.RawQuery, params)
		if len(problems) > 0 {
			writeProblems(w, http.StatusBadRequest, fmt.Sprintf("%d invalid query parameter(s)", len(problems)), problems)
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), readTimeout)
		defer cancel()
		body, err := call(s.cfg.Read, ctx, q)
		if err != nil {
			if errors.Is(err, context.Canceled) && r.Context().Err() != nil {
				return // the client went away
			}
			s.log.Error("read api", "path", r.URL.Path, "from", q.From.String(), "to", q.To.String(), "error", err)
			w.Header().Set("Retry-After", "5")
			writeError(w, http.StatusServiceUnavailable, "statistics unavailable; retry later", nil)
			return
		}
		// Spend by user and organisation is not for shared caches.
		w.Header().Set("Cache-Control", "private, no-store")
		writeJSON(w, http.StatusOK, body)
	})
}

// parseReadQuery reads and checks the query parameters; params are the ones the endpoint takes.
// Every problem is listed at once.
func (s *Server) parseReadQuery(raw string, params []string) (ReadQuery, []queryProblem) {
	var ps []queryProblem
	bad := func(field, format string, args ...any) {
		ps = append(ps, queryProblem{Field: field, Message: fmt.Sprintf(format, args...)})
	}
	vals, err := url.ParseQuery(raw)
	if err != nil {
		bad("query", "malformed query string: %v", err)
		return ReadQuery{}, ps
	}
	names := make([]string, 0, len(vals))
	for k := range vals {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		known := false
		for _, p := range params {
			known = known || p == k
		}
		switch {
		case !known:
			bad(k, "unknown parameter: this endpoint takes %s", strings.Join(params, ", "))
		case len(vals[k]) > 1:
			bad(k, "given %d times: give it once", len(vals[k]))
		}
	}
	get := func(k string) (string, bool) {
		v, ok := vals[k]
		if !ok || len(v) != 1 {
			return "", false
		}
		return v[0], true
	}
	loc := s.cfg.Location
	if loc == nil {
		loc = time.UTC
	}
	today := dateOf(s.cfg.ReadNow().In(loc))
	date := func(k string) (Date, bool, bool) {
		v, ok := get(k)
		if !ok {
			return Date{}, false, true
		}
		t, err := time.Parse(time.DateOnly, v)
		if err != nil {
			bad(k, "%q is not a date: want YYYY-MM-DD (a day that exists), in the report time zone %s", v, loc)
			return Date{}, true, false
		}
		// Beyond these years PostgreSQL's calendar and JSON's time format part ways with Go's.
		if y := t.Year(); y < minYear || y > maxYear {
			bad(k, "%s: want a year from %d to %d", v, minYear, maxYear)
			return Date{}, true, false
		}
		return dateOf(t), true, true
	}
	var q ReadQuery
	from, hasFrom, fromOK := date("from")
	to, hasTo, toOK := date("to")
	if !hasTo {
		to = today
	}
	if !hasFrom {
		from = dateOf(to.time().AddDate(0, 0, -(DefaultRangeDays - 1)))
	}
	if fromOK && toOK {
		days := int(to.time().Sub(from.time()).Hours()/24) + 1
		switch {
		case days < 1:
			bad("from", "%s is after to (%s)", from, to)
		case days > MaxRangeDays:
			field := "to"
			if !hasTo {
				field = "from"
			}
			bad(field, "%s to %s is %d days: at most %d at once", from, to, days, MaxRangeDays)
		}
	}
	q.From, q.To = from, to
	for _, p := range params {
		switch p {
		case "dimension":
			v, ok := get("dimension")
			switch {
			case !ok && vals["dimension"] == nil:
				bad("dimension", "required: one of %s", strings.Join(TopDimensions, ", "))
			case ok:
				found := false
				for _, d := range TopDimensions {
					found = found || v == d
				}
				// org_id and user_id are the event fields' names: accepted as well.
				if v == "org_id" || v == "user_id" {
					v, found = strings.TrimSuffix(v, "_id"), true
				}
				if !found {
					bad("dimension", "%q: want one of %s", v, strings.Join(TopDimensions, ", "))
				}
				q.Dimension = v
			}
		case "limit":
			q.Limit = DefaultTopLimit
			if v, ok := get("limit"); ok {
				n, err := strconv.Atoi(v)
				if err != nil || n < 1 || n > MaxTopLimit {
					bad("limit", "%q: want an integer from 1 to %d", v, MaxTopLimit)
				}
				q.Limit = n
			}
		}
	}
	return q, ps
}

// handleTestAlert is POST /v1/alerts/test: an optional JSON body {"to": ["addr", …]}; without
// it the configured recipients get the test alert.
func (s *Server) handleTestAlert() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.cfg.TestAlert == nil {
			writeError(w, http.StatusNotFound, "no mail transport configured for test alerts", nil)
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 64<<10))
		if err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				writeError(w, http.StatusRequestEntityTooLarge, "body larger than 64 KiB", nil)
				return
			}
			writeError(w, http.StatusBadRequest, "read body: "+err.Error(), nil)
			return
		}
		var req struct {
			To []string `json:"to"`
		}
		if len(strings.TrimSpace(string(body))) > 0 {
			if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
				writeError(w, http.StatusUnsupportedMediaType, "Content-Type must be application/json", nil)
				return
			}
			dec := json.NewDecoder(strings.NewReader(string(body)))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&req); err != nil {
				var te *json.UnmarshalTypeError
				if errors.As(err, &te) {
					writeProblems(w, http.StatusUnprocessableEntity, "invalid body", []queryProblem{{Field: "to", Message: "must be an array of email addresses"}})
					return
				}
				writeError(w, http.StatusBadRequest, "malformed JSON: "+syntaxMessage(err)+` (want {"to": ["you@example.com"]} or no body)`, nil)
				return
			}
		}
		var ps []queryProblem
		if len(req.To) > maxTestAlertTo {
			ps = append(ps, queryProblem{Field: "to", Message: fmt.Sprintf("%d addresses: at most %d", len(req.To), maxTestAlertTo)})
		}
		for i, a := range req.To {
			// One address per entry, no display-name tricks or header line breaks.
			if addr, err := mail.ParseAddress(a); err != nil || strings.ContainsAny(a, "\r\n") || addr.Address == "" {
				ps = append(ps, queryProblem{Field: fmt.Sprintf("to[%d]", i), Message: fmt.Sprintf("%q is not an email address", a)})
			}
		}
		if len(ps) > 0 {
			writeProblems(w, http.StatusUnprocessableEntity, "invalid recipients; nothing was sent", ps)
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), readTimeout)
		defer cancel()
		sent, err := s.cfg.TestAlert.SendTestAlert(ctx, req.To)
		switch {
		case errors.Is(err, ErrRecipients):
			writeProblems(w, http.StatusUnprocessableEntity, "invalid recipients; nothing was sent", []queryProblem{{Field: "to", Message: err.Error()}})
		case err != nil:
			s.log.Warn("send test alert", "error", err)
			// The operator asked for exactly this diagnosis, as `aispend alert test` prints it.
			writeError(w, http.StatusBadGateway, "send test alert: "+err.Error(), nil)
		default:
			s.log.Info("test alert sent", "recipients", len(sent.To), "message_id", sent.MessageID)
			writeJSON(w, http.StatusOK, sent)
		}
	})
}
