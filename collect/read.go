package collect

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/mail"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	json "github.com/goccy/go-json"

	"github.com/aispend/aispend/report/api"
)

// The read API: GET /v1/stats, /v1/daily, /v1/top and /v1/alerts over a range of dates, with
// read (or admin) tokens; POST /v1/alerts/test with an admin token. The numbers come from a
// ReadSource (report/api, wired by cmd/aispend): this file owns the HTTP side only — query
// parameters, status codes.

// ReadSource answers the read API (report/api's Service): one method per endpoint, for a query
// parseReadQuery has checked; each returns its endpoint's body. An error means the numbers could
// not be read (the database): the client is told to retry.
type ReadSource interface {
	Stats(ctx context.Context, q api.Query) (api.Stats, error)
	Daily(ctx context.Context, q api.Query) (api.Daily, error)
	Top(ctx context.Context, q api.Query) (api.Top, error)
	Alerts(ctx context.Context, q api.Query) (api.Alerts, error)
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

// Limits of the HTTP side; the read API's own (range, top limit) are report/api's.
const (
	maxTestAlertTo   = 20
	readTimeout      = 50 * time.Second // under the server's 60 s write timeout
	minYear, maxYear = 1970, 9998
)

// readRoutes registers the read API.
func (s *Server) readRoutes() {
	const readRefused = "this token may not read statistics: use a read token (AISPEND_READ_TOKENS) or an admin token (AISPEND_ADMIN_TOKENS)"
	read := func(path string, h http.Handler) {
		s.mux.Handle("GET "+path, s.authedAs(readToken|adminToken, readRefused, h))
	}
	rangeParams := []string{"from", "to"}
	read("/v1/stats", handleRead(s, rangeParams, ReadSource.Stats))
	read("/v1/daily", handleRead(s, rangeParams, ReadSource.Daily))
	read("/v1/top", handleRead(s, []string{"from", "to", "dimension", "limit"}, ReadSource.Top))
	read("/v1/alerts", handleRead(s, rangeParams, ReadSource.Alerts))
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

// handleRead answers one read endpoint, taking params, with its ReadSource method call.
func handleRead[T any](s *Server, params []string, call func(ReadSource, context.Context, api.Query) (T, error)) http.Handler {
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
func (s *Server) parseReadQuery(raw string, params []string) (api.Query, []queryProblem) {
	vals, err := url.ParseQuery(raw)
	if err != nil {
		return api.Query{}, []queryProblem{{Field: "query", Message: fmt.Sprintf("malformed query string: %v", err)}}
	}
	qp := &queryParser{vals: vals, loc: s.cfg.Location, tagKeys: s.cfg.TagKeys}
	if qp.loc == nil {
		qp.loc = time.UTC
	}
	qp.checkNames(params)
	var q api.Query
	q.From, q.To = qp.dates(api.DateOf(s.cfg.ReadNow().In(qp.loc)))
	for _, p := range params {
		switch p {
		case "dimension":
			q.Dimension = qp.dimension()
		case "limit":
			q.Limit = qp.limit()
		}
	}
	return q, qp.problems
}

// queryParser reads the parameters of one read-API query and collects its problems.
type queryParser struct {
	vals     url.Values
	loc      *time.Location // the report time zone
	tagKeys  []string       // the configured tag keys: dimension tag:<key> is one of them
	problems []queryProblem
}

func (qp *queryParser) bad(field, format string, args ...any) {
	qp.problems = append(qp.problems, queryProblem{Field: field, Message: fmt.Sprintf(format, args...)})
}

// get is parameter k's value when it is given exactly once.
func (qp *queryParser) get(k string) (string, bool) {
	v, ok := qp.vals[k]
	if !ok || len(v) != 1 {
		return "", false
	}
	return v[0], true
}

// checkNames refuses, in name order, the parameters the endpoint does not take (params) and
// those given more than once.
func (qp *queryParser) checkNames(params []string) {
	names := make([]string, 0, len(qp.vals))
	for k := range qp.vals {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		switch {
		case !slices.Contains(params, k):
			qp.bad(k, "unknown parameter: this endpoint takes %s", strings.Join(params, ", "))
		case len(qp.vals[k]) > 1:
			qp.bad(k, "given %d times: give it once", len(qp.vals[k]))
		}
	}
}

// date is parameter k as a date, whether it was given, and whether it is valid.
func (qp *queryParser) date(k string) (d api.Date, given, ok bool) {
	v, given := qp.get(k)
	if !given {
		return api.Date{}, false, true
	}
	t, err := time.Parse(time.DateOnly, v)
	if err != nil {
		qp.bad(k, "%q is not a date: want YYYY-MM-DD (a day that exists), in the report time zone %s", v, qp.loc)
		return api.Date{}, true, false
	}
	// Beyond these years PostgreSQL's calendar and JSON's time format part ways with Go's.
	if y := t.Year(); y < minYear || y > maxYear {
		qp.bad(k, "%s: want a year from %d to %d", v, minYear, maxYear)
		return api.Date{}, true, false
	}
	return api.DateOf(t), true, true
}

// dates are from and to: to defaults to today, from to api.DefaultRangeDays days up to to; at
// most api.MaxRangeDays days.
func (qp *queryParser) dates(today api.Date) (from, to api.Date) {
	from, hasFrom, fromOK := qp.date("from")
	to, hasTo, toOK := qp.date("to")
	if !hasTo {
		to = today
	}
	if !hasFrom {
		from = api.DateOf(to.UTC().AddDate(0, 0, -(api.DefaultRangeDays - 1)))
	}
	if fromOK && toOK {
		days := int(to.UTC().Sub(from.UTC()).Hours()/24) + 1
		switch {
		case days < 1:
			qp.bad("from", "%s is after to (%s)", from, to)
		case days > api.MaxRangeDays:
			field := "to"
			if !hasTo {
				field = "from"
			}
			qp.bad(field, "%s to %s is %d days: at most %d at once", from, to, days, api.MaxRangeDays)
		}
	}
	return from, to
}

// dimension is the required dimension parameter as the API names it.
func (qp *queryParser) dimension() string {
	v, ok := qp.get("dimension")
	switch {
	case !ok && qp.vals["dimension"] == nil:
		qp.bad("dimension", "required: one of %s", strings.Join(api.DimensionNames(qp.tagKeys), ", "))
	case ok:
		// org_id and user_id are the event fields' names: accepted as well.
		dim, found := api.DimensionOf(v, qp.tagKeys)
		if !found {
			qp.bad("dimension", "%q: want one of %s", v, strings.Join(api.DimensionNames(qp.tagKeys), ", "))
		}
		return api.DimensionName(dim)
	}
	return ""
}

// limit is the limit parameter, api.DefaultLimit when not given.
func (qp *queryParser) limit() int {
	v, ok := qp.get("limit")
	if !ok {
		return api.DefaultLimit
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > api.MaxLimit {
		qp.bad("limit", "%q: want an integer from 1 to %d", v, api.MaxLimit)
	}
	return n
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
