package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/shopspring/decimal"

	"github.com/aispend/aispend/report/format"
)

// startServe runs `aispend serve` in the test's process on a free port until the test ends and
// returns its base URL.
func startServe(t *testing.T, env map[string]string) string {
	t.Helper()
	addr := freeAddr(t)
	env["AISPEND_LISTEN"] = addr
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	var logs bytes.Buffer
	go func() { done <- run(ctx, []string{"serve"}, envMap(env), io.Discard, &logs) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v\n%s", err, logs.String())
		}
	})
	waitHealthy(t, addr)
	return "http://" + addr
}

// apiCall does an API request and decodes the JSON answer into a generic value.
func apiCall(t *testing.T, method, url, token, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	b, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s %s: %d, not JSON: %q", method, url, resp.StatusCode, b)
	}
	return resp.StatusCode, m
}

// withoutAsOf drops the instant of computation, the one field by which the API and a
// report.json of the same numbers differ.
func withoutAsOf(v any) any {
	if m, ok := v.(map[string]any); ok {
		delete(m, "as_of")
	}
	return v
}

func rawSum(t *testing.T, dbURL string, from, to time.Time) decimal.Decimal {
	t.Helper()
	pool, err := pgxpool.New(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	var sum string
	if err := pool.QueryRow(context.Background(), "SELECT coalesce(sum(cost), 0)::text FROM events WHERE occurred_at >= $1 AND occurred_at < $2", from, to).Scan(&sum); err != nil {
		t.Fatal(err)
	}
	return decimal.RequireFromString(sum)
}

func decimalAt(t *testing.T, m map[string]any, path ...string) decimal.Decimal {
	t.Helper()
	var v any = m
	for _, p := range path {
		v = v.(map[string]any)[p]
	}
	s, ok := v.(string)
	if !ok {
		t.Fatalf("%v: %v is not a decimal string", path, v)
	}
	return decimal.RequireFromString(s)
}

// Ensures the read API answers, for a period a run published, exactly what the run's
// report.json holds (stats, daily, the top of every dimension, the alert history), that those
// are the page's numbers and the database's sum to the last unit, that a range no run built
// and a late event are counted (the API brings the aggregates up to date as a run does), and
// that only read and admin tokens read, only admin tokens send a test alert.
func TestReadAPIMatchesPublishedReport(t *testing.T) {
	env, dbURL := batchEnv(t, 1)
	delete(env, "AISPEND_SMTP_HOST") // alerts and test alerts go to the outbox
	insertDay(t, dbURL, "2026-10-01", 40)
	insertDay(t, dbURL, "2026-10-02", 13)
	insertCost(t, dbURL, time.Date(2026, 10, 1, 12, 0, 0, 0, seoulZone), "QA_CHAT", "600") // 60 % of daily-total: an INFO alert
	day1 := time.Date(2026, 10, 1, 0, 0, 0, 0, seoulZone)
	want1 := rawSum(t, dbURL, day1, day1.AddDate(0, 0, 1))

	var logs bytes.Buffer
	if err := run(context.Background(), []string{"run", "--date", "2026-10-01"}, envMap(env), io.Discard, &logs); err != nil {
		t.Fatalf("run: %v\n%s", err, logs.String())
	}
	dir := filepath.Join(env["AISPEND_OUTPUT"], "daily/2026-10-01")
	b, err := os.ReadFile(filepath.Join(dir, "report.json"))
	if err != nil {
		t.Fatalf("report.json beside the page: %v", err)
	}
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatalf("report.json: %v", err)
	}
	page, err := os.ReadFile(filepath.Join(dir, "index.html"))
	if err != nil {
		t.Fatal(err)
	}

	env["AISPEND_INGEST_TOKENS"] = "ingest-tok"
	env["AISPEND_READ_TOKENS"] = "read-tok"
	env["AISPEND_ADMIN_TOKENS"] = "admin-tok"
	base := startServe(t, env)
	q := "?from=2026-10-01&to=2026-10-01"

	status, stats := apiCall(t, "GET", base+"/v1/stats"+q, "read-tok", "")
	if status != 200 {
		t.Fatalf("GET /v1/stats = %d %v", status, stats)
	}
	schemas := openAPISchemas(t)
	checkSchema(t, schemas, schemas["Stats"].(map[string]any), stats, "stats")
	if got := decimalAt(t, stats, "totals", "cost"); !got.Equal(want1) {
		t.Errorf("stats cost %s, database %s", got, want1)
	}
	// The page shows the same amounts, in the currency's format.
	for _, amount := range []decimal.Decimal{decimalAt(t, stats, "totals", "cost")} {
		if f := format.Format(amount, "KRW"); !strings.Contains(string(page), f) {
			t.Errorf("the page does not show the API's total %s (%s)", amount, f)
		}
	}
	for _, r := range stats["services"].([]any) {
		row := r.(map[string]any)
		if f := format.Format(decimal.RequireFromString(row["cost"].(string)), "KRW"); !strings.Contains(string(page), f) {
			t.Errorf("the page does not show service %v's cost %s", row["key"], f)
		}
	}
	if !reflect.DeepEqual(withoutAsOf(stats), withoutAsOf(doc["stats"])) {
		t.Errorf("GET /v1/stats differs from report.json:\n api %v\njson %v", stats, doc["stats"])
	}
	_, daily := apiCall(t, "GET", base+"/v1/daily"+q, "read-tok", "")
	checkSchema(t, schemas, schemas["Daily"].(map[string]any), daily, "daily")
	if !reflect.DeepEqual(withoutAsOf(daily), withoutAsOf(doc["daily"])) {
		t.Errorf("GET /v1/daily differs from report.json:\n api %v\njson %v", daily, doc["daily"])
	}
	for _, dim := range []string{"service", "model", "provider", "org", "user"} {
		status, top := apiCall(t, "GET", base+"/v1/top"+q+"&dimension="+dim, "admin-tok", "")
		want := doc["top"].(map[string]any)[dim]
		checkSchema(t, schemas, schemas["Top"].(map[string]any), top, "top "+dim)
		if status != 200 || !reflect.DeepEqual(withoutAsOf(top), withoutAsOf(want)) {
			t.Errorf("GET /v1/top %s = %d, differs from report.json:\n api %v\njson %v", dim, status, top, want)
		}
	}
	_, alerts := apiCall(t, "GET", base+"/v1/alerts"+q, "read-tok", "")
	checkSchema(t, schemas, schemas["Alerts"].(map[string]any), alerts, "alerts")
	if list := alerts["alerts"].([]any); len(list) == 0 || !reflect.DeepEqual(withoutAsOf(alerts), withoutAsOf(doc["alerts"])) {
		t.Errorf("GET /v1/alerts (%d alerts) differs from report.json:\n api %v\njson %v", len(list), alerts, doc["alerts"])
	} else if a := list[0].(map[string]any); a["budget"] != "daily-total" || a["threshold"] != 50.0 || a["severity"] != "INFO" ||
		a["status"] != "sent" || a["period"].(map[string]any)["label"] != "2026-10-01" {
		t.Errorf("alert %v", a)
	}

	// Two days, the second never built by a run: the API builds it, and each day and the total
	// equal the database's sums.
	status, daily = apiCall(t, "GET", base+"/v1/daily?from=2026-10-01&to=2026-10-02", "read-tok", "")
	days := daily["days"].([]any)
	if status != 200 || len(days) != 2 {
		t.Fatalf("GET /v1/daily over two days = %d %v", status, daily)
	}
	for i, d := range days {
		start := day1.AddDate(0, 0, i)
		if got, want := decimalAt(t, d.(map[string]any), "cost"), rawSum(t, dbURL, start, start.AddDate(0, 0, 1)); !got.Equal(want) ||
			d.(map[string]any)["date"] != start.Format(time.DateOnly) {
			t.Errorf("day %v costs %s, database %s", d.(map[string]any)["date"], got, want)
		}
	}

	// A late event: the next computation counts it, and a re-run's report.json agrees.
	insertCost(t, dbURL, time.Date(2026, 10, 1, 18, 0, 0, 0, seoulZone), "SUMMARY", "0.000001")
	_, top := apiCall(t, "GET", base+"/v1/top"+q+"&dimension=service&limit=11", "read-tok", "") // a new cache key
	want1 = rawSum(t, dbURL, day1, day1.AddDate(0, 0, 1))
	if got := decimalAt(t, top, "total", "cost"); !got.Equal(want1) {
		t.Errorf("after a late event: total %s, database %s", got, want1)
	}
	if err := run(context.Background(), []string{"run", "--date", "2026-10-01"}, envMap(env), io.Discard, &logs); err != nil {
		t.Fatalf("run: %v\n%s", err, logs.String())
	}
	b, _ = os.ReadFile(filepath.Join(dir, "report.json"))
	doc = nil
	json.Unmarshal(b, &doc)
	if got := decimalAt(t, doc, "stats", "totals", "cost"); !got.Equal(want1) {
		t.Errorf("re-run report.json total %s, database %s", got, want1)
	}

	// Token kinds.
	for _, c := range []struct {
		method, path, token, body string
		want                      int
	}{
		{"GET", "/v1/stats" + q, "", "", 401},
		{"GET", "/v1/stats" + q, "wrong", "", 401},
		{"GET", "/v1/stats" + q, "ingest-tok", "", 403},
		{"GET", "/v1/alerts" + q, "ingest-tok", "", 403},
		{"POST", "/v1/events", "read-tok", `{}`, 403},
		{"POST", "/v1/events", "admin-tok", `{}`, 403},
		{"GET", "/v1/budgets", "read-tok", "", 200},
		{"GET", "/v1/budgets", "ingest-tok", "", 200},
		{"POST", "/v1/alerts/test", "read-tok", "", 403},
		{"POST", "/v1/alerts/test", "ingest-tok", "", 403},
		{"GET", "/v1/stats?from=2026-02-30", "read-tok", "", 400},
		{"GET", "/v1/top?dimension=team", "read-tok", "", 400},
		{"POST", "/v1/alerts/test", "admin-tok", `{"to":["not an address"]}`, 422},
	} {
		if got, body := apiCall(t, c.method, base+c.path, c.token, c.body); got != c.want {
			t.Errorf("%s %s with %q = %d %v, want %d", c.method, c.path, c.token, got, body, c.want)
		}
	}

	// The admin token sends a test alert (to the outbox here: no SMTP host).
	outbox := filepath.Join(env["AISPEND_OUTPUT"], "outbox")
	before, _ := os.ReadDir(outbox)
	status, sent := apiCall(t, "POST", base+"/v1/alerts/test", "admin-tok", `{"to":["ops@example.com"]}`)
	after, _ := os.ReadDir(outbox)
	checkSchema(t, schemas, schemas["TestAlertSent"].(map[string]any), sent, "test alert")
	if status != 200 || len(after) != len(before)+1 || sent["message_id"] == "" {
		t.Fatalf("POST /v1/alerts/test = %d %v; outbox %d → %d files", status, sent, len(before), len(after))
	}
}

// Ensures a token listed as two kinds is refused at start-up, naming the variables and never
// the token.
func TestTokenKindsMustDiffer(t *testing.T) {
	_, err := loadConfig(writeTestConfig(t, ""), envMap(map[string]string{
		"AISPEND_INGEST_TOKENS": "app-token-1,shared-secret", "AISPEND_ADMIN_TOKENS": "shared-secret",
	}))
	if err == nil || !strings.Contains(err.Error(), "AISPEND_ADMIN_TOKENS: token 2 of AISPEND_INGEST_TOKENS is also listed") ||
		strings.Contains(err.Error(), "shared-secret") {
		t.Fatalf("err = %v", err)
	}
	cfg, err := loadConfig(writeTestConfig(t, ""), envMap(map[string]string{
		"AISPEND_INGEST_TOKENS": "a", "AISPEND_READ_TOKENS": "r1, r2", "AISPEND_ADMIN_TOKENS": "x",
	}))
	if err != nil || !reflect.DeepEqual(cfg.Ingest.ReadTokens, []string{"r1", "r2"}) || !reflect.DeepEqual(cfg.Ingest.AdminTokens, []string{"x"}) {
		t.Fatalf("cfg %+v, %v", cfg.Ingest, err)
	}
}

// openAPISchemas are the component schemas of collect/openapi.json.
func openAPISchemas(t *testing.T) map[string]any {
	t.Helper()
	b, err := os.ReadFile("../../collect/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Components struct{ Schemas map[string]any }
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	return doc.Components.Schemas
}

// checkSchema reports where v lacks a property the schema requires, holds one the schema does
// not list, or has the wrong JSON type: the documented answers are the real ones.
func checkSchema(t *testing.T, schemas map[string]any, schema map[string]any, v any, at string) {
	t.Helper()
	if ref, ok := schema["$ref"].(string); ok {
		checkSchema(t, schemas, schemas[strings.TrimPrefix(ref, "#/components/schemas/")].(map[string]any), v, at)
		return
	}
	if _, ok := schema["allOf"]; ok {
		// An allOf of objects is one object with the union of their properties.
		merged := map[string]any{"type": "object", "properties": map[string]any{}, "required": []any{}}
		var flatten func(s map[string]any)
		flatten = func(s map[string]any) {
			if ref, ok := s["$ref"].(string); ok {
				flatten(schemas[strings.TrimPrefix(ref, "#/components/schemas/")].(map[string]any))
				return
			}
			if parts, ok := s["allOf"].([]any); ok {
				for _, p := range parts {
					flatten(p.(map[string]any))
				}
				return
			}
			for k, pv := range s["properties"].(map[string]any) {
				merged["properties"].(map[string]any)[k] = pv
			}
			req, _ := s["required"].([]any)
			merged["required"] = append(merged["required"].([]any), req...)
		}
		flatten(schema)
		checkSchema(t, schemas, merged, v, at)
		return
	}
	if v == nil {
		if schema["nullable"] != true {
			t.Errorf("%s: null, not nullable", at)
		}
		return
	}
	switch schema["type"] {
	case "object":
		m, ok := v.(map[string]any)
		if !ok {
			t.Errorf("%s: %T, want an object", at, v)
			return
		}
		props, _ := schema["properties"].(map[string]any)
		req, _ := schema["required"].([]any)
		for _, r := range req {
			if _, ok := m[r.(string)]; !ok {
				t.Errorf("%s: required %q missing", at, r)
			}
		}
		for k, fv := range m {
			ps, ok := props[k].(map[string]any)
			if !ok {
				if len(props) > 0 {
					t.Errorf("%s: %q is not documented", at, k)
				}
				continue
			}
			checkSchema(t, schemas, ps, fv, at+"."+k)
		}
	case "array":
		list, ok := v.([]any)
		if !ok {
			t.Errorf("%s: %T, want an array", at, v)
			return
		}
		for i, e := range list {
			checkSchema(t, schemas, schema["items"].(map[string]any), e, fmt.Sprintf("%s[%d]", at, i))
		}
	case "string":
		if _, ok := v.(string); !ok {
			t.Errorf("%s: %T, want a string", at, v)
		}
	case "integer", "number":
		if _, ok := v.(float64); !ok {
			t.Errorf("%s: %T, want a number", at, v)
		}
	case "boolean":
		if _, ok := v.(bool); !ok {
			t.Errorf("%s: %T, want a boolean", at, v)
		}
	}
}
