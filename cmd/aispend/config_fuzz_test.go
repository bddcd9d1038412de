package main

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// topKeys are the configuration file's top-level keys.
var topKeys = map[string]bool{}

func init() {
	for _, k := range []string{"currency", "timezone", "fx", "fx_date", "prices", "budgets", "retention_days", "public_url",
		"output", "ingest", "mail", "s3", "digest", "schedules", "run_lock_wait", "price_catalog", "reports", "alerts"} {
		topKeys[k] = true
	}
	for _, k := range []string{"channels", "decide", "anomaly"} { // channels.go, configdecide.go, configanomaly.go
		topKeys[k] = true
	}
}

var (
	// A problem starts with its key: retention_days: …, timezone (AISPEND_TIMEZONE): …,
	// budgets[0] (name).period: …, curency: unknown key (line 1).
	problemKey = regexp.MustCompile(`^([A-Za-z0-9_]+)[.\[ :]`)
	syntaxLine = regexp.MustCompile(`^read config .*: yaml: line \d+: `)
	quoted     = regexp.MustCompile(`^([A-Za-z0-9_.\[\]]*\.)?"(?:[^"\\]|\\.)*": (unknown key|defined twice, first at line \d+) \(line \d+\)$`)
	// An unknown or repeated key, which need not be a configuration key, says so with its line.
	strayKey = regexp.MustCompile(`^[A-Za-z0-9_]+: (unknown key|defined twice, first at line \d+) \(line \d+\)$`)
)

// checkRefusal fails unless err names a key for each problem, or is a YAML syntax error with a
// line.
func checkRefusal(t *testing.T, data []byte, err error) {
	t.Helper()
	var ce *ConfigError
	if !errors.As(err, &ce) {
		if !syntaxLine.MatchString(err.Error()) {
			t.Fatalf("refusal is neither a list of keyed problems nor a YAML error with a line:\n%v\ninput: %q", err, data)
		}
		return
	}
	if len(ce.Problems) == 0 {
		t.Fatalf("refusal without a problem; input %q", data)
	}
	for _, p := range ce.Problems {
		if strings.HasPrefix(p, "(top level)") {
			continue // the document is not a mapping of keys
		}
		if quoted.MatchString(p) {
			continue // an unknown or repeated key that is not a plain word, quoted
		}
		m := problemKey.FindStringSubmatch(p)
		if m == nil {
			t.Fatalf("problem names no key: %q\ninput: %q", p, data)
		}
		if !topKeys[m[1]] && !strayKey.MatchString(p) {
			t.Fatalf("problem names %q, not a configuration key: %q\ninput: %q", m[1], p, data)
		}
	}
}

// FuzzLoadConfig feeds configuration files to the loader: it never panics, and every refusal
// names the key of each problem (or is a YAML syntax error with its line). Seeds are in
// testdata/fuzz/FuzzLoadConfig. Run: go test ./cmd/aispend/ -run '^$' -fuzz FuzzLoadConfig -fuzztime 5m
func FuzzLoadConfig(f *testing.F) {
	f.Add([]byte(batchConfig))
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(t.TempDir(), "aispend.yaml")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		cfg, err := loadConfig(path, envMap(nil))
		if err != nil {
			checkRefusal(t, data, err)
			return
		}
		if cfg == nil || cfg.Location == nil {
			t.Fatalf("accepted without a configuration or a zone: %q", data)
		}
		if cfg.Timezone == "" || cfg.Timezone == "Local" {
			t.Fatalf("accepted timezone %q", cfg.Timezone)
		}
	})
}

// Ensures the problems of a configuration file cost work in proportion to the file, not to the
// file times the number of problems: FuzzLoadConfig's time-boxed run in make test once ended
// inside one input because every problem (a wrong type, an unknown key) walked the whole file
// again to find its key from its line. Counted in allocations, which a walk per problem made
// grow with the number of list items (thousands per item at 2,000 items; a few dozen now).
func TestConfigProblemsLinear(t *testing.T) {
	const items = 2000
	for name, item := range map[string]string{"wrong type": "  - x\n", "unknown key": "  - {name: b, bogus: 1}\n"} {
		path := filepath.Join(t.TempDir(), "aispend.yaml")
		if err := os.WriteFile(path, []byte("budgets:\n"+strings.Repeat(item, items)), 0o600); err != nil {
			t.Fatal(err)
		}
		var err error
		allocs := testing.AllocsPerRun(1, func() { _, err = loadConfig(path, envMap(nil)) })
		var ce *ConfigError
		if !errors.As(err, &ce) || len(ce.Problems) < items {
			t.Fatalf("%s: %d items refused with %v; want a problem for each", name, items, err)
		}
		if perItem := allocs / items; perItem > 200 {
			t.Errorf("%s: %.0f allocations per list item (%d items); want the work per problem bounded", name, perItem, items)
		}
		t.Logf("%s: %.0f allocations per item; %s", name, allocs/items, ce.Problems[items-1])
	}
}
