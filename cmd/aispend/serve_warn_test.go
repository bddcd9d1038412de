package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aispend/aispend/collect/testkit/pgtest"
)

// serveLog starts `aispend serve` in the test's process with env, waits until it answers,
// stops it and returns what it logged.
func serveLog(t *testing.T, env map[string]string) string {
	t.Helper()
	env["AISPEND_LISTEN"] = freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	var logs bytes.Buffer
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"serve"}, envMap(env), &bytes.Buffer{}, &logs) }()
	waitHealthy(t, env["AISPEND_LISTEN"])
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("serve: %v\n%s", err, logs.String())
	}
	return logs.String()
}

// Ensures `aispend serve` without a configuration says at start-up, in one warning, what it runs
// without — no price table (events stored unpriced), no time zone (UTC), no budgets — and how
// to give it the configuration `aispend run` reads; and says nothing of the kind when the file
// gives all three.
func TestServeWarnsWhatItRunsWithout(t *testing.T) {
	db := pgtest.URL(t)
	log := serveLog(t, map[string]string{"DATABASE_URL": db, "AISPEND_INGEST_TOKENS": "tok"})
	var warning string
	for _, l := range strings.Split(log, "\n") {
		var rec struct {
			Level, Msg string
			ConfigFile string `json:"config_file"`
		}
		if json.Unmarshal([]byte(l), &rec) == nil && rec.Level == "WARN" && strings.HasPrefix(rec.Msg, "the collector runs with") {
			warning = rec.Msg + " config_file=" + rec.ConfigFile
		}
	}
	if warning == "" {
		t.Fatalf("no start-up warning in:\n%s", log)
	}
	for _, want := range []string{
		"no price table (prices, price_catalog): events sent without a cost are stored unpriced",
		"no time zone (timezone, AISPEND_TIMEZONE): the read API counts UTC days",
		"no budgets",
		"--config FILE or AISPEND_CONFIG",
		"config_file=none",
	} {
		if !strings.Contains(warning, want) {
			t.Errorf("warning lacks %q:\n%s", want, warning)
		}
	}

	file := filepath.Join(t.TempDir(), "aispend.yaml")
	if err := os.WriteFile(file, []byte(`timezone: Asia/Seoul
currency: USD
prices:
  - {model: m, from: 2025-01-01, input: 1, output: 2}
budgets:
  - {name: daily-total, period: daily, amount: 10}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	log = serveLog(t, map[string]string{"DATABASE_URL": db, "AISPEND_INGEST_TOKENS": "tok", "AISPEND_CONFIG": file})
	if strings.Contains(log, "the collector runs with") {
		t.Errorf("configured collector still warns:\n%s", log)
	}
}
