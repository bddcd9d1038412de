package collect_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/aispend/aispend/collect"
	"github.com/aispend/aispend/report"
	"github.com/aispend/aispend/report/api"
)

type fakeRead struct {
	StatsFunc func(context.Context, api.Query) (api.Stats, error)
	got       []api.Query
}

var _ collect.ReadSource = (*fakeRead)(nil)

func (f *fakeRead) Stats(ctx context.Context, q api.Query) (api.Stats, error) {
	f.got = append(f.got, q)
	if f.StatsFunc != nil {
		return f.StatsFunc(ctx, q)
	}
	return api.Stats{}, nil
}
func (f *fakeRead) Daily(ctx context.Context, q api.Query) (api.Daily, error) {
	f.got = append(f.got, q)
	return api.Daily{}, nil
}
func (f *fakeRead) Top(ctx context.Context, q api.Query) (api.Top, error) {
	f.got = append(f.got, q)
	return api.Top{Dimension: q.Dimension, Limit: q.Limit}, nil
}
func (f *fakeRead) Alerts(ctx context.Context, q api.Query) (api.Alerts, error) {
	f.got = append(f.got, q)
	return api.Alerts{}, nil
}

type fakeTester struct {
	SendFunc func(context.Context, []string) (collect.TestAlertSent, error)
	calls    [][]string
}

var _ collect.AlertTester = (*fakeTester)(nil)

func (f *fakeTester) SendTestAlert(ctx context.Context, to []string) (collect.TestAlertSent, error) {
	f.calls = append(f.calls, to)
	if f.SendFunc != nil {
		return f.SendFunc(ctx, to)
	}
	return collect.TestAlertSent{To: to, MessageID: "<x@example.com>"}, nil
}

// readServer is the collector with fake read and test-alert sources, in Asia/Seoul, at
// 2026-11-30 23:30 UTC (already 1 December in Seoul).
func readServer(t *testing.T, cfg collect.Config) (*collect.Server, *fakeRead, *fakeTester) {
	t.Helper()
	seoul, err := time.LoadLocation("Asia/Seoul")
	if err != nil {
		t.Fatal(err)
	}
	r, tst := &fakeRead{}, &fakeTester{}
	cfg.Location, cfg.Read, cfg.TestAlert = seoul, r, tst
	cfg.Now = func() time.Time { return time.Date(2026, 11, 30, 23, 30, 0, 0, time.UTC) }
	return collect.NewServer(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), nil, nil, nil, nil), r, tst
}

type readReply struct {
	Status   int
	Body     map[string]any
	Error    string `json:"error"`
	Problems []struct{ Field, Message string }
}

func call(t *testing.T, s *collect.Server, method, target, token, ctype, body string) readReply {
	t.Helper()
	r := httptest.NewRequest(method, target, strings.NewReader(body))
	if token != "" {
		r.Header.Set("Authorization", "Bearer "+token)
	}
	if ctype != "" {
		r.Header.Set("Content-Type", ctype)
	}
	w := httptest.NewRecorder()
	s.ServeHTTP(w, r)
	if ct := w.Header().Get("Content-Type"); ct != "application/json" {
		t.Fatalf("%s %s: Content-Type %q; body %s", method, target, ct, w.Body)
	}
	var rep readReply
	if err := json.Unmarshal(w.Body.Bytes(), &rep); err != nil {
		t.Fatalf("decode %q: %v", w.Body, err)
	}
	json.Unmarshal(w.Body.Bytes(), &rep.Body)
	rep.Status = w.Code
	return rep
}

var tokens = collect.Config{Tokens: []string{"ing"}, ReadTokens: []string{"rd"}, AdminTokens: []string{"adm"}}

// Ensures each endpoint takes only its token kinds: 401 without a known token, 403 for a valid
// token of another kind.
func TestReadAPITokenKinds(t *testing.T) {
	s, _, _ := readServer(t, tokens)
	for _, c := range []struct {
		method, path, token string
		want                int
	}{
		{"GET", "/v1/stats", "", 401},
		{"GET", "/v1/stats", "nope", 401},
		{"GET", "/v1/stats", "ing", 403},
		{"GET", "/v1/stats", "rd", 200},
		{"GET", "/v1/stats", "adm", 200},
		{"GET", "/v1/daily", "ing", 403},
		{"GET", "/v1/daily", "rd", 200},
		{"GET", "/v1/top?dimension=user", "ing", 403},
		{"GET", "/v1/top?dimension=user", "rd", 200},
		{"GET", "/v1/alerts", "ing", 403},
		{"GET", "/v1/alerts", "rd", 200},
		{"POST", "/v1/alerts/test", "", 401},
		{"POST", "/v1/alerts/test", "ing", 403},
		{"POST", "/v1/alerts/test", "rd", 403},
		{"POST", "/v1/alerts/test", "adm", 200},
		{"POST", "/v1/events", "rd", 403},
		{"POST", "/v1/events", "adm", 403},
		{"GET", "/v1/budgets", "", 401},
		{"GET", "/v1/budgets", "rd", 404}, // allowed; no budget source in this server
		{"GET", "/v1/budgets", "ing", 404},
	} {
		if got := call(t, s, c.method, c.path, c.token, "", ""); got.Status != c.want {
			t.Errorf("%s %s with %q = %d %q, want %d", c.method, c.path, c.token, got.Status, got.Error, c.want)
		}
	}
	// With no token of any kind (the loopback-only mode) every endpoint is open; with only
	// ingest tokens, reading needs a read token that is not there.
	open, _, _ := readServer(t, collect.Config{})
	if got := call(t, open, "GET", "/v1/stats", "", "", ""); got.Status != 200 {
		t.Errorf("no tokens configured: %d %q", got.Status, got.Error)
	}
	ingestOnly, _, _ := readServer(t, collect.Config{Tokens: []string{"ing"}})
	if got := call(t, ingestOnly, "GET", "/v1/stats", "ing", "", ""); got.Status != 403 {
		t.Errorf("ingest tokens only: %d %q", got.Status, got.Error)
	}
}

// Ensures dates default to the last 30 days up to today in the report time zone, and that the
// parameters reach the source as given.
func TestReadAPIQuery(t *testing.T) {
	cfg := tokens
	cfg.TagKeys = []string{"team", "project"}
	s, src, _ := readServer(t, cfg)
	for _, c := range []struct {
		target, from, to, dim string
		limit                 int
	}{
		{"/v1/stats", "2026-11-02", "2026-12-01", "", 0}, // 1 December in Seoul
		{"/v1/daily?to=2026-10-31", "2026-10-02", "2026-10-31", "", 0},
		{"/v1/alerts?from=2026-11-30", "2026-11-30", "2026-12-01", "", 0},
		{"/v1/stats?from=2025-12-01&to=2026-12-01", "2025-12-01", "2026-12-01", "", 0}, // 366 days
		{"/v1/top?dimension=user&from=2026-10-01&to=2026-10-01", "2026-10-01", "2026-10-01", "user", 10},
		{"/v1/top?dimension=org_id&limit=1000", "2026-11-02", "2026-12-01", "org", 1000},
		{"/v1/top?dimension=endpoint", "2026-11-02", "2026-12-01", "endpoint", 10},
		{"/v1/top?dimension=tag:project&limit=3", "2026-11-02", "2026-12-01", "tag:project", 3},
	} {
		src.got = nil
		rep := call(t, s, "GET", c.target, "rd", "", "")
		if rep.Status != 200 || len(src.got) != 1 {
			t.Errorf("%s: %d %v", c.target, rep.Status, rep.Body)
			continue
		}
		q := src.got[0]
		if q.From.String() != c.from || q.To.String() != c.to || q.Dimension != c.dim || q.Limit != c.limit {
			t.Errorf("%s: source got %+v, want %s..%s %q %d", c.target, q, c.from, c.to, c.dim, c.limit)
		}
	}
}

// Ensures every bad parameter is answered 400 with a problem naming it, never 500, and the
// source is not called.
func TestReadAPIBadQuery(t *testing.T) {
	cfg := tokens
	cfg.TagKeys = []string{"team"}
	s, src, _ := readServer(t, cfg)
	for target, fields := range map[string][]string{
		"/v1/stats?from=2026-02-30":                   {"from"},
		"/v1/stats?from=2026-1-5&to=yesterday":        {"from", "to"},
		"/v1/stats?from=2026-10-02&to=2026-10-01":     {"from"},
		"/v1/stats?from=2025-11-30&to=2026-12-01":     {"to"},
		"/v1/daily?from=2020-01-01":                   {"from"},
		"/v1/daily?form=2026-10-01":                   {"form"},
		"/v1/daily?from=9999-12-01&to=9999-12-31":     {"from", "to"},
		"/v1/daily?from=0000-01-01&to=0000-01-31":     {"from", "to"},
		"/v1/alerts?from=2026-10-01&from=2026-10-02":  {"from"},
		"/v1/stats?dimension=user":                    {"dimension"},
		"/v1/stats?%zz":                               {"query"},
		"/v1/top":                                     {"dimension"},
		"/v1/top?dimension=team":                      {"dimension"},
		"/v1/top?dimension=tag:project":               {"dimension"}, // not a configured key
		"/v1/top?dimension=tag:":                      {"dimension"},
		"/v1/top?dimension=tag:team%00":               {"dimension"},
		"/v1/top?dimension=user&limit=0":              {"limit"},
		"/v1/top?dimension=user&limit=1001":           {"limit"},
		"/v1/top?dimension=user&limit=ten":            {"limit"},
		"/v1/top?dimension=&limit=-1&to=2026-13-01":   {"dimension", "limit", "to"}, // sorted
		"/v1/top?dimension=user&dimension=org&limit=": {"dimension", "limit"},
	} {
		src.got = nil
		rep := call(t, s, "GET", target, "rd", "", "")
		var got []string
		for _, p := range rep.Problems {
			got = append(got, p.Field)
			if p.Message == "" {
				t.Errorf("%s: problem %q without a message", target, p.Field)
			}
		}
		sort.Strings(got)
		if rep.Status != 400 || fmt.Sprint(got) != fmt.Sprint(fields) || len(src.got) != 0 {
			t.Errorf("%s = %d, problems %v (%v); want 400 naming %v", target, rep.Status, got, rep.Problems, fields)
		}
	}
}

// Ensures a failing source is answered 503 with Retry-After, not 500.
func TestReadAPISourceDown(t *testing.T) {
	s, src, _ := readServer(t, tokens)
	src.StatsFunc = func(context.Context, api.Query) (api.Stats, error) {
		return api.Stats{}, errors.New("connection refused")
	}
	r := httptest.NewRequest("GET", "/v1/stats", nil)
	r.Header.Set("Authorization", "Bearer rd")
	w := httptest.NewRecorder()
	s.ServeHTTP(w, r)
	if w.Code != 503 || w.Header().Get("Retry-After") == "" || strings.Contains(w.Body.String(), "refused") {
		t.Fatalf("source down: %d %q Retry-After %q", w.Code, w.Body, w.Header().Get("Retry-After"))
	}
}

// Ensures POST /v1/alerts/test sends to the addresses given (or, without a body, to the
// configured ones), refuses bad bodies and addresses before sending, and tells recipient
// refusals (422) from transport failures (502).
func TestTestAlertEndpoint(t *testing.T) {
	s, _, tst := readServer(t, tokens)
	if rep := call(t, s, "POST", "/v1/alerts/test", "adm", "", ""); rep.Status != 200 || len(tst.calls) != 1 || tst.calls[0] != nil {
		t.Errorf("no body: %d %v, calls %v", rep.Status, rep.Body, tst.calls)
	}
	rep := call(t, s, "POST", "/v1/alerts/test", "adm", "application/json", `{"to":["a@example.com","b@example.com"]}`)
	if rep.Status != 200 || fmt.Sprint(tst.calls[1]) != "[a@example.com b@example.com]" || rep.Body["message_id"] != "<x@example.com>" {
		t.Errorf("with to: %d %v, calls %v", rep.Status, rep.Body, tst.calls)
	}
	tst.calls = nil
	for _, c := range []struct {
		ctype, body string
		want        int
		field       string
	}{
		{"application/json", `{"to":["ok@example.com","x\r\nBcc: evil@example.com"]}`, 422, "to[1]"},
		{"application/json", `{"to":["Ann <a@example.com>, b@example.com"]}`, 422, "to[0]"},
		{"application/json", `{"to":"a@example.com"}`, 422, "to"},
		{"application/json", `{"to":["a@example.com"],"cc":["b@example.com"]}`, 400, ""},
		{"application/json", `{"to":[`, 400, ""},
		{"text/plain", `{"to":["a@example.com"]}`, 415, ""},
		{"application/json", `{"to":["` + strings.Repeat("a", 70000) + `@example.com"]}`, 413, ""},
	} {
		rep := call(t, s, "POST", "/v1/alerts/test", "adm", c.ctype, c.body)
		if rep.Status != c.want || (c.field != "" && (len(rep.Problems) != 1 || rep.Problems[0].Field != c.field)) {
			t.Errorf("%.60s: %d %q %v, want %d naming %q", c.body, rep.Status, rep.Error, rep.Problems, c.want, c.field)
		}
	}
	if len(tst.calls) != 0 {
		t.Errorf("refused bodies were sent: %v", tst.calls)
	}
	tst.SendFunc = func(context.Context, []string) (collect.TestAlertSent, error) {
		return collect.TestAlertSent{}, fmt.Errorf("%w: x@other.org is outside the allowed domains", collect.ErrRecipients)
	}
	if rep := call(t, s, "POST", "/v1/alerts/test", "adm", "application/json", `{"to":["x@other.org"]}`); rep.Status != 422 ||
		len(rep.Problems) != 1 || !strings.Contains(rep.Problems[0].Message, "allowed domains") {
		t.Errorf("recipients refused: %d %v", rep.Status, rep.Body)
	}
	tst.SendFunc = func(context.Context, []string) (collect.TestAlertSent, error) {
		return collect.TestAlertSent{}, errors.New("smtp: 535 authentication failed")
	}
	if rep := call(t, s, "POST", "/v1/alerts/test", "adm", "", ""); rep.Status != 502 || !strings.Contains(rep.Error, "535") {
		t.Errorf("transport failure: %d %v", rep.Status, rep.Body)
	}
}

type fakeBudgets struct{ body api.Budgets }

func (f fakeBudgets) Budgets(context.Context) (api.Budgets, error) { return f.body, nil }

// Ensures GET /v1/budgets answers report/api's Budgets in exactly the bytes encoding/json gives
// them (the bytes report/api's TestBudgetsResponseJSON pins), scope and forecast included,
// though the collector encodes with goccy/go-json.
func TestBudgetsEndpointEncoding(t *testing.T) {
	seoul, err := time.LoadLocation("Asia/Seoul")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 10, 1, 12, 0, 0, 0, seoul)
	b := report.Budget{Name: "d", Period: report.Daily, Amount: decimal.RequireFromString("100"), Forecast: true,
		Scope: report.Scope{Service: "QA_CHAT", TagKey: "team", TagValue: "x"}}
	st := report.Evaluate(b, report.PeriodContaining(report.Daily, now, seoul), decimal.RequireFromString("60.125"), now)
	body := api.BudgetsOf(now, "KRW", []report.Status{st})
	want, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	s := collect.NewServer(collect.Config{}, slog.New(slog.NewTextHandler(io.Discard, nil)), nil, nil, fakeBudgets{body}, nil)
	w := httptest.NewRecorder()
	s.ServeHTTP(w, httptest.NewRequest("GET", "/v1/budgets", nil))
	if w.Code != 200 || w.Body.String() != string(want)+"\n" {
		t.Errorf("GET /v1/budgets = %d\n got %s\nwant %s", w.Code, w.Body, want)
	}
}
