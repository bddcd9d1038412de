package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/shopspring/decimal"

	"github.com/aispend/aispend/collect"
	"github.com/aispend/aispend/collect/pgstore"
	"github.com/aispend/aispend/report/mailtest"
)

// Ensures an event stored unpriced is priced once its model gets a price: by `aispend reprice`,
// and by the run that reports its day, which then counts it.
func TestRepriceCommandAndRun(t *testing.T) {
	srv := mailtest.Start(t)
	env, dbURL := batchEnv(t, srv.SMTPPort)
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	s := pgstore.New(pool, pgstore.Options{})
	defer s.Close()
	at := time.Date(2026, 10, 1, 3, 0, 0, 0, time.UTC) // 12:00 in Seoul
	var rows []collect.Row
	for _, id := range []string{"late-priced-1", "late-priced-2"} {
		rows = append(rows, collect.Row{EventID: id, OccurredAt: at, Service: "QA_CHAT", Model: "claude-sonnet-4-5", Provider: "anthropic",
			InputTokens: 500, OutputTokens: 300, CostSource: "none", Success: true, DurationMS: -1})
	}
	if _, _, err := s.Insert(ctx, rows[:1]); err != nil {
		t.Fatal(err)
	}

	// The configuration now knows the model.
	priced := batchConfig + "fx: {USD: 1300}\nprices:\n  - model: claude-sonnet-4-5\n    from: 2025-09-29\n    input: 3\n    output: 15\n"
	path := filepath.Join(t.TempDir(), "aispend.yaml")
	if err := os.WriteFile(path, []byte(priced), 0o600); err != nil {
		t.Fatal(err)
	}
	env["AISPEND_CONFIG"] = path
	var out, logs bytes.Buffer
	if err := run(ctx, []string{"reprice"}, envMap(env), &out, &logs); err != nil {
		t.Fatalf("reprice: %v\n%s", err, logs.String())
	}
	if !strings.Contains(out.String(), "1 events priced") {
		t.Fatalf("reprice printed %q", out.String())
	}
	var cost, src string
	if err := pool.QueryRow(ctx, "SELECT cost::text, cost_source FROM events WHERE event_id = 'late-priced-1'").Scan(&cost, &src); err != nil {
		t.Fatal(err)
	}
	if !decimal.RequireFromString(cost).Equal(decimal.RequireFromString("7.80")) || src != "local" {
		t.Fatalf("repriced cost %s (%s), want 7.80 local", cost, src)
	}

	// A second unpriced event of the same day is priced by the run that reports the day.
	if _, _, err := s.Insert(ctx, rows[1:]); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if err := run(ctx, []string{"run", "--date", "2026-10-01"}, envMap(env), &out, &logs); err != nil {
		t.Fatalf("run: %v\n%s", err, logs.String())
	}
	if !strings.Contains(out.String(), "₩16 over 2 requests") || strings.Contains(out.String(), "unpriced") {
		t.Fatalf("run summary %q: want both events priced (₩15.60)", out.String())
	}
}
