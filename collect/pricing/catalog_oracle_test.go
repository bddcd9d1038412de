package pricing_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/aispend/aispend/collect"
	"github.com/aispend/aispend/collect/pricing"
)

// oracleDir holds the pinned @pydantic/genai-prices package (package-lock.json), installed by
// `make genai-prices`.
const oracleDir = "testdata/genai-prices"

// oracle writes the catalog bundled with the npm package @pydantic/genai-prices to a file and
// prices the requests with its calcPrice, in Node.
func oracle(t *testing.T, requests []oracleRequest) (catalogPath string, results []*oracleResult) {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatal("the catalog tests need Node.js 20 or later (apt-get install -y nodejs npm), then `make genai-prices`")
	}
	if _, err := os.Stat(filepath.Join(oracleDir, "node_modules", "@pydantic", "genai-prices", "package.json")); err != nil {
		t.Fatalf("@pydantic/genai-prices is not installed in %s: run `make genai-prices` (npm ci there): %v", oracleDir, err)
	}
	catalogPath = filepath.Join(t.TempDir(), "genai-prices.json")
	in, err := json.Marshal(requests)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(node, "calc.mjs", catalogPath)
	cmd.Dir = oracleDir
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node calc.mjs: %v\n%s", err, stderr.String())
	}
	if err := json.Unmarshal(out, &results); err != nil {
		t.Fatalf("decode calcPrice results: %v", err)
	}
	if len(results) != len(requests) {
		t.Fatalf("%d results for %d requests", len(results), len(requests))
	}
	return catalogPath, results
}

type oracleRequest struct {
	Model     string           `json:"model"`
	Provider  string           `json:"provider,omitempty"`
	Timestamp string           `json:"timestamp"`
	Usage     map[string]int64 `json:"usage"`
}

type oracleResult struct {
	Total    float64 `json:"total"`
	Model    string  `json:"model"`
	Provider string  `json:"provider"`
}

// The models of the comparison, with the provider an application would send (empty: the
// catalog finds the provider from the model name). Between them: long-context tiers (Claude
// Sonnet 4.5, Claude Opus 4.6, Gemini 2.5 Pro), 1-hour cache writes, prices that changed on a
// date, off-peak prices by time of day (DeepSeek), reasoning billed apart and a fee per request
// (Perplexity), a model name with a YYYYMMDD date, and names in another case.
var oracleModels = []struct{ model, provider string }{
	{"claude-sonnet-4-5", "anthropic"},
	{"claude-sonnet-4-5-20250929", ""},
	{"claude-opus-4-6", "anthropic"},
	{"claude-sonnet-4-20250514", "anthropic"},
	{"claude-haiku-4-5", "anthropic"},
	{"gemini-2.5-pro", "google"},
	{"gemini-2.5-flash", "google"},
	{"gpt-4o", "openai"},
	{"GPT-5", "openai"},
	{"o3", ""},
	{"deepseek-chat", "deepseek"},
	{"sonar-deep-research", "perplexity"},
	{"sonar-pro", "perplexity"},
	{"grok-4", "x-ai"},
	{"mistral-large-latest", "mistral"},
}

// Ensures every event priced from a genai-prices catalog costs what genai-prices' own calcPrice
// says for the same usage, model and time: tiers above 200,000 input tokens, cache reads and
// writes, 1-hour writes, reasoning, dated and time-of-day prices, across providers. The catalog
// is the data bundled with the pinned npm package, written out by findProvider.
func TestCatalogMatchesCalcPrice(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 2026))
	start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	span := time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC).Sub(start)
	type ev struct {
		e   collect.Event
		req oracleRequest
	}
	var evs []ev
	for i := 0; i < 450; i++ {
		m := oracleModels[i%len(oracleModels)]
		at := start.Add(time.Duration(rng.Int64N(int64(span)))).Truncate(time.Second)
		var in int64
		switch rng.IntN(4) {
		case 0:
			in = 200_001 + rng.Int64N(800_000) // long context
		case 1:
			in = 200_000 - rng.Int64N(3) // at the threshold
		default:
			in = rng.Int64N(50_000)
		}
		cr := rng.Int64N(in/2 + 1)
		cw := rng.Int64N(in - cr + 1)
		cw1h := rng.Int64N(cw + 1)
		out := rng.Int64N(20_000)
		rs := rng.Int64N(out + 1)
		e := collect.NewEvent()
		e.EventID, e.OccurredAt, e.Service, e.Model, e.Provider = fmt.Sprint("e", i), at.Format(time.RFC3339), "S", m.model, m.provider
		e.InputTokens, e.OutputTokens, e.CacheReadTokens, e.CacheWriteTokens, e.CacheWrite1hTokens, e.ReasoningTokens = collect.Count(in), collect.Count(out), collect.Count(cr), collect.Count(cw), collect.Count(cw1h), collect.Count(rs)
		evs = append(evs, ev{e, oracleRequest{Model: m.model, Provider: m.provider, Timestamp: e.OccurredAt, Usage: map[string]int64{
			"input_tokens": in, "output_tokens": out, "cache_read_tokens": cr, "cache_write_tokens": cw,
			"cache_write_1h_tokens": cw1h, "output_reasoning_tokens": rs}}})
	}
	reqs := make([]oracleRequest, len(evs))
	for i := range evs {
		reqs[i] = evs[i].req
	}
	path, want := oracle(t, reqs)
	cat, err := pricing.LoadCatalog(path)
	if err != nil {
		t.Fatal(err)
	}
	if cat.Models() < 1000 {
		t.Fatalf("catalog has %d models: want the whole bundled catalog", cat.Models())
	}
	table := pricing.New("USD", nil, nil, pricing.WithCatalog(cat))
	rules := collect.Rules{Now: time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC), FutureSkew: time.Minute, Prices: table}
	models, long := map[string]bool{}, 0
	for i, ev := range evs {
		w := want[i]
		if w == nil {
			t.Fatalf("calcPrice has no price for %s (%s): pick models the catalog prices", ev.req.Model, ev.req.Provider)
		}
		row, problems := ev.e.Validate(i, rules)
		if problems != nil {
			t.Fatalf("event %d: %v", i, problems)
		}
		if !row.Cost.Valid || row.CostSource != "local" {
			t.Fatalf("%s (%s) at %s: unpriced, calcPrice says %v", ev.req.Model, ev.req.Provider, ev.req.Timestamp, w.Total)
		}
		got, _ := row.Cost.Decimal.Float64()
		// calcPrice adds floats; ours is exact: they agree to float precision.
		if math.Abs(got-w.Total) > 1e-12*math.Max(1, math.Abs(w.Total)) {
			t.Errorf("%s (%s) at %s, usage %v: cost %s, calcPrice %v", ev.req.Model, ev.req.Provider, ev.req.Timestamp, ev.req.Usage, row.Cost.Decimal, w.Total)
		}
		prefix := "genai-prices:" + w.Provider + "/" + w.Model + "@"
		if !strings.HasPrefix(row.PriceVersion, prefix) {
			t.Errorf("%s: price version %q, want the catalog's model %s", ev.req.Model, row.PriceVersion, prefix)
		}
		models[w.Model] = true
		if ev.req.Usage["input_tokens"] > 200_000 {
			long++
		}
	}
	if len(models) < 6 || long < 50 {
		t.Fatalf("%d models, %d long-context requests: want at least 6 and 50", len(models), long)
	}
}

// Ensures the contract's example holds with the catalog's price of claude-sonnet-4-5 (USD 3 / 15
// per million): 500 input and 300 output tokens at 1,300 KRW/USD cost exactly ₩7.80, and the
// event records the catalog's model and the catalog's date.
func TestCatalogContractExample(t *testing.T) {
	path, _ := oracle(t, []oracleRequest{})
	date := time.Date(2026, 11, 30, 15, 0, 0, 0, time.UTC)
	if err := os.Chtimes(path, date, date); err != nil {
		t.Fatal(err)
	}
	cat, err := pricing.LoadCatalog(path)
	if err != nil {
		t.Fatal(err)
	}
	table := pricing.New("KRW", map[string]decimal.Decimal{"USD": decimal.NewFromInt(1300)}, nil, pricing.WithCatalog(cat))
	p, ok := table.Cost("claude-sonnet-4-5", "anthropic", time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC), pricing.Usage{InputTokens: 500, OutputTokens: 300})
	if !ok || p.Cost.String() != "7.8" {
		t.Fatalf("cost %s (priced %v), want exactly 7.80", p.Cost, ok)
	}
	if p.Version != "genai-prices:anthropic/claude-sonnet-4-5@2026-11-30" || p.Source != pricing.SourceCatalog {
		t.Fatalf("version %q source %q", p.Version, p.Source)
	}
}
