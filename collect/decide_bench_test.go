package collect_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/aispend/aispend/collect"
	"github.com/aispend/aispend/report"
)

// entitySource is a DecideSource of n users with spend, without a database.
type entitySource int

func (n entitySource) DecideSpend(_ context.Context, _ report.Scope, per report.Per, _, _ time.Time, _ string) ([]report.Driver, string, error) {
	if per.IsZero() {
		return nil, "", nil
	}
	ds := make([]report.Driver, n)
	for i := range ds {
		ds[i] = report.Driver{Key: fmt.Sprintf("user-%d", i), Cost: decimal.RequireFromString("12.5"), Requests: 1}
	}
	return ds, "", nil
}

// BenchmarkDecideHandler is the collector's CPU per POST /v1/decide above the HTTP transport:
// routing, the token, decoding, the decision over 100,000 users' envelopes, and the answer; the
// request of make bench-decide. Run with -cpuprofile to see where it goes.
func BenchmarkDecideHandler(b *testing.B) {
	const users = 100_000
	d := collect.NewDecider(collect.DecideConfig{
		Budgets: []report.Budget{{Name: "per-user", Period: report.Monthly, Amount: decimal.NewFromInt(1000),
			Per: report.Per{Field: report.PerUserID}, Enforce: &report.Enforce{DegradeAt: 80,
				DegradeTo: map[string]string{"big": "small"}, DenyAt: 100}}},
		Source: entitySource(users), Prices: decidePrices, Location: time.UTC,
		MaxStaleness: time.Hour, EstimateTTL: time.Minute,
	})
	if err := d.Refresh(context.Background()); err != nil {
		b.Fatal(err)
	}
	srv := collect.NewServer(collect.Config{Tokens: []string{"bench"}, Decide: d},
		slog.New(slog.DiscardHandler), nil, nil, nil, nil)
	r := rand.New(rand.NewPCG(1, 7))
	bodies := make([][]byte, 1024)
	for i := range bodies {
		bodies[i] = fmt.Appendf(nil, `{"user_id":"user-%d","service":"QA_CHAT","model":"big","input_tokens":800,"max_output_tokens":400}`, r.IntN(users))
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		req := httptest.NewRequest("POST", "/v1/decide", bytes.NewReader(bodies[i%len(bodies)]))
		req.Header.Set("Authorization", "Bearer bench")
		req.Header.Set("Content-Type", "application/json")
		w := &discardWriter{h: http.Header{}}
		srv.ServeHTTP(w, req)
		if w.code != 200 {
			b.Fatal(w.code)
		}
		i++
	}
}

// discardWriter is a ResponseWriter that keeps only the status.
type discardWriter struct {
	h    http.Header
	code int
}

func (w *discardWriter) Header() http.Header { return w.h }
func (w *discardWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
}
func (w *discardWriter) Write(p []byte) (int, error) {
	w.WriteHeader(200)
	return io.Discard.Write(p)
}
