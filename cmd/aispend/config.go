package main

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/mail"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/shopspring/decimal"
	"gopkg.in/yaml.v3"

	"github.com/aispend/aispend/collect/pricing"
	"github.com/aispend/aispend/report"
	"github.com/aispend/aispend/report/digest"
	"github.com/aispend/aispend/report/output"
	"github.com/aispend/aispend/report/schedule"
)

// Config is the whole configuration: the file, then environment variables on top.
// Secrets (database URL, SMTP password, S3 keys, ingest tokens) are read only from the
// environment and never logged.
type Config struct {
	DatabaseURL       string `yaml:"-"`
	ReportDatabaseURL string `yaml:"-"`

	Currency      string         `yaml:"currency"`
	Timezone      string         `yaml:"timezone"`
	FX            map[string]Dec `yaml:"fx"`
	FXDate        string         `yaml:"fx_date"`
	Prices        []PriceConfig  `yaml:"prices"`
	PriceCatalog  string         `yaml:"price_catalog"` // genai-prices data.json: models Prices does not name
	Budgets       []BudgetConfig `yaml:"budgets"`
	RetentionDays int            `yaml:"retention_days"`
	PublicURL     string         `yaml:"public_url"`
	Output        string         `yaml:"output"`

	Ingest IngestConfig `yaml:"ingest"`
	Mail   MailConfig   `yaml:"mail"`
	S3     S3Config     `yaml:"s3"`
	Digest DigestConfig `yaml:"digest"`
	// Reports configures the report outputs (page, workbook, events CSV).
	Reports ReportsConfig `yaml:"reports"`

	// Schedules are the cron expressions of `aispend schedule`'s jobs.
	Schedules SchedulesConfig `yaml:"schedules"`
	// RunLockWait bounds how long a run waits for another run of the same kind and period
	// before it fails naming the holder.
	RunLockWait time.Duration `yaml:"run_lock_wait"`

	Location *time.Location `yaml:"-"`
	// catalog is PriceCatalog, loaded by loadConfig.
	catalog *pricing.Catalog
	// Clock is the current time: time.Now, or the fixed instant of AISPEND_NOW (RFC 3339), with
	// which benchmarks and replays run every command as of a chosen moment.
	Clock func() time.Time `yaml:"-"`
}

// IngestConfig configures the collector.
type IngestConfig struct {
	Listen string   `yaml:"listen"`
	Tokens []string `yaml:"-"`
	// ReadTokens (AISPEND_READ_TOKENS) read the statistics; AdminTokens (AISPEND_ADMIN_TOKENS)
	// also send test alerts. Environment only, like the ingest tokens.
	ReadTokens           []string `yaml:"-"`
	AdminTokens          []string `yaml:"-"`
	AllowUnauthenticated bool     `yaml:"allow_unauthenticated"`
	MaxEvents            int      `yaml:"max_events"`
	MaxBodyBytes         int64    `yaml:"max_body_bytes"`
	MaxInFlight          int      `yaml:"max_in_flight"`
}

// MailConfig configures the mail transport. Host empty: messages go to out/outbox as .eml files.
type MailConfig struct {
	Host           string   `yaml:"host"`
	Port           int      `yaml:"port"`
	Username       string   `yaml:"username"`
	Password       string   `yaml:"-"`
	From           string   `yaml:"from"`
	TLS            string   `yaml:"tls"` // starttls | tls | none
	Recipients     []string `yaml:"recipients"`
	AllowedDomains []string `yaml:"allowed_domains"`
}

// S3Config configures S3-compatible publishing, used when Output is s3://bucket/prefix.
type S3Config struct {
	Endpoint      string        `yaml:"endpoint"`
	Region        string        `yaml:"region"`
	PathStyle     bool          `yaml:"path_style"`
	AccessKey     string        `yaml:"-"`
	SecretKey     string        `yaml:"-"`
	PresignExpiry time.Duration `yaml:"presign_expiry"`
	// PublicEndpoint: readers reach storage at another address than aispend does; presigned
	// links are signed for it. Empty: Endpoint.
	PublicEndpoint string `yaml:"public_endpoint"`
}

// DigestConfig configures the digest email sent after each scheduled run.
type DigestConfig struct {
	// Recipients of the digest; empty: mail.recipients.
	Recipients []string `yaml:"recipients"`
	// AttachWorkbook attaches the period's workbook (off by default: the email links to it).
	AttachWorkbook bool `yaml:"attach_workbook"`
	// AttachMaxBytes caps the attachment; a bigger workbook is linked, not attached.
	AttachMaxBytes int64 `yaml:"attach_max_bytes"`
}

// ReportsConfig configures the report outputs.
type ReportsConfig struct {
	// EventsSheetMaxRows: a workbook lists the period's events on its Events sheet while the
	// period has at most this many; a larger period's events are only in the events CSV beside
	// the workbook, which always holds every event. 0: no workbook lists events.
	EventsSheetMaxRows int `yaml:"events_sheet_max_rows"`
	// EventsExport publishes every period's raw events as a gzip-compressed CSV beside the
	// workbook (default true); false keeps raw events off the published site.
	EventsExport *bool `yaml:"events_export"`
}

// maxDigestAttachBytes bounds digest.attach_max_bytes: base64 makes an attachment a third
// larger, and 18 MiB becomes about 24 MiB, under the 25 MB that Gmail and most providers accept.
const maxDigestAttachBytes = 18 << 20

// PriceConfig is one row of the price table, USD per million tokens.
type PriceConfig struct {
	Model      string `yaml:"model"`
	Provider   string `yaml:"provider"`
	From       string `yaml:"from"`
	Input      Dec    `yaml:"input"`
	CacheRead  *Dec   `yaml:"cache_read"`
	CacheWrite *Dec   `yaml:"cache_write"`
	Output     Dec    `yaml:"output"`
	// CacheWrite1h prices 1-hour cache writes; unset, they cost cache_write.
	CacheWrite1h *Dec `yaml:"cache_write_1h"`
	// Tiers reprice the whole request once its input tokens exceed a threshold.
	Tiers []TierConfig `yaml:"tiers"`
}

// TierConfig is a price for requests above a number of input tokens, USD per million tokens.
// Unset cache prices follow the rules of a price row: the tier's input, and for 1-hour writes
// the tier's cache_write.
type TierConfig struct {
	AboveInputTokens int64 `yaml:"above_input_tokens"`
	Input            *Dec  `yaml:"input"`
	Output           *Dec  `yaml:"output"`
	CacheRead        *Dec  `yaml:"cache_read"`
	CacheWrite       *Dec  `yaml:"cache_write"`
	CacheWrite1h     *Dec  `yaml:"cache_write_1h"`
}

// BudgetConfig is one budget (PRODUCT.md section 4).
type BudgetConfig struct {
	Name       string            `yaml:"name"`
	Period     string            `yaml:"period"`
	Amount     Dec               `yaml:"amount"`
	Thresholds []int             `yaml:"thresholds"`
	Forecast   bool              `yaml:"forecast"`
	Scope      map[string]string `yaml:"scope"`
	Recipients []string          `yaml:"recipients"`
}

// Dec is an exact decimal read from YAML: the literal's digits, never a float.
type Dec struct{ decimal.Decimal }

// UnmarshalYAML parses the scalar's text, so 3.00 and "3.00" are both exact.
func (d *Dec) UnmarshalYAML(n *yaml.Node) error {
	// A *yaml.TypeError lets the decoder go on, so that every problem is listed at once.
	if n.Kind != yaml.ScalarNode {
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: want a number", n.Line)}}
	}
	v, err := decimal.NewFromString(strings.ReplaceAll(n.Value, "_", ""))
	if err != nil {
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: %q is not a decimal number", n.Line, n.Value)}}
	}
	d.Decimal = v
	return nil
}

// MarshalYAML writes the exact digits as a plain number, so that a written configuration reads
// back to the same value.
func (d Dec) MarshalYAML() (any, error) {
	return &yaml.Node{Kind: yaml.ScalarNode, Value: d.String()}, nil
}

func defaultConfig() Config {
	return Config{
		Currency:      "USD",
		Timezone:      "UTC",
		RetentionDays: 90,
		Output:        "out",
		Ingest:        IngestConfig{Listen: "127.0.0.1:8080", MaxEvents: 1000, MaxBodyBytes: 1 << 20, MaxInFlight: 32},
		Mail:          MailConfig{Port: 587, TLS: "starttls"},
		S3:            S3Config{Region: "us-east-1", PresignExpiry: 7 * 24 * time.Hour},
		Digest:        DigestConfig{AttachMaxBytes: digest.DefaultAttachMaxBytes},
		Reports:       ReportsConfig{EventsSheetMaxRows: output.DefaultEventsSheetMaxRows},
		Schedules:     defaultSchedules(),
		RunLockWait:   10 * time.Minute,
	}
}

// loadConfig reads the file (path, else AISPEND_CONFIG, else ./aispend.yaml when present), applies
// the environment, and validates. Every problem is reported at once, naming its key.
func loadConfig(path string, getenv func(string) string) (*Config, error) {
	cfg := defaultConfig()
	explicit := path != ""
	if path == "" {
		path = getenv("AISPEND_CONFIG")
		explicit = path != ""
	}
	if path == "" {
		path = "aispend.yaml"
	}
	b, err := os.ReadFile(path)
	switch {
	case err == nil:
		dec := yaml.NewDecoder(strings.NewReader(string(b)))
		dec.KnownFields(true)
		if err := dec.Decode(&cfg); err != nil && !errors.Is(err, io.EOF) {
			return nil, yamlError(path, b, err)
		}
	case explicit || !errors.Is(err, os.ErrNotExist):
		return nil, fmt.Errorf("read config: %w", err)
	}

	var problems []string
	bad := func(key, format string, args ...any) {
		problems = append(problems, key+": "+fmt.Sprintf(format, args...))
	}
	env := func(name string, set func(string)) {
		if v := strings.TrimSpace(getenv(name)); v != "" {
			set(v)
		}
	}
	envInt := func(name, key string, set func(int)) {
		env(name, func(v string) {
			n, err := strconv.Atoi(v)
			if err != nil {
				bad(key+" ("+name+")", "%q is not an integer", v)
				return
			}
			set(n)
		})
	}
	env("DATABASE_URL", func(v string) { cfg.DatabaseURL = v })
	env("REPORT_DATABASE_URL", func(v string) { cfg.ReportDatabaseURL = v })
	env("AISPEND_LISTEN", func(v string) { cfg.Ingest.Listen = v })
	env("AISPEND_INGEST_TOKENS", func(v string) { cfg.Ingest.Tokens = splitList(v) })
	env("AISPEND_READ_TOKENS", func(v string) { cfg.Ingest.ReadTokens = splitList(v) })
	env("AISPEND_ADMIN_TOKENS", func(v string) { cfg.Ingest.AdminTokens = splitList(v) })
	env("AISPEND_TIMEZONE", func(v string) { cfg.Timezone = v })
	env("AISPEND_CURRENCY", func(v string) { cfg.Currency = v })
	envInt("AISPEND_RETENTION_DAYS", "retention_days", func(n int) { cfg.RetentionDays = n })
	env("AISPEND_PUBLIC_URL", func(v string) { cfg.PublicURL = v })
	env("AISPEND_OUTPUT", func(v string) { cfg.Output = v })
	env("AISPEND_PRICE_CATALOG", func(v string) { cfg.PriceCatalog = v })
	env("AI_BUDGET_ALERT_EMAILS", func(v string) { cfg.Mail.Recipients = splitList(v) })
	env("AISPEND_ALERT_EMAILS", func(v string) { cfg.Mail.Recipients = splitList(v) })
	env("AISPEND_SMTP_HOST", func(v string) { cfg.Mail.Host = v })
	envInt("AISPEND_SMTP_PORT", "mail.port", func(n int) { cfg.Mail.Port = n })
	env("AISPEND_SMTP_USERNAME", func(v string) { cfg.Mail.Username = v })
	env("AISPEND_SMTP_PASSWORD", func(v string) { cfg.Mail.Password = v })
	env("AISPEND_SMTP_FROM", func(v string) { cfg.Mail.From = v })
	env("AISPEND_SMTP_TLS", func(v string) { cfg.Mail.TLS = v })
	env("AISPEND_DIGEST_EMAILS", func(v string) { cfg.Digest.Recipients = splitList(v) })
	env("AISPEND_DIGEST_ATTACH_WORKBOOK", func(v string) {
		b, err := strconv.ParseBool(v)
		if err != nil {
			bad("digest.attach_workbook (AISPEND_DIGEST_ATTACH_WORKBOOK)", "%q is not true or false", v)
		}
		cfg.Digest.AttachWorkbook = b
	})
	env("AISPEND_DIGEST_ATTACH_MAX_BYTES", func(v string) {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			bad("digest.attach_max_bytes (AISPEND_DIGEST_ATTACH_MAX_BYTES)", "%q is not an integer", v)
			return
		}
		cfg.Digest.AttachMaxBytes = n
	})
	cfg.Clock = time.Now
	env("AISPEND_NOW", func(v string) {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			bad("AISPEND_NOW", "%q is not an RFC 3339 time like 2026-11-30T22:00:00+09:00", v)
			return
		}
		cfg.Clock = func() time.Time { return t }
	})
	envInt("AISPEND_REPORTS_EVENTS_SHEET_MAX_ROWS", "reports.events_sheet_max_rows", func(n int) { cfg.Reports.EventsSheetMaxRows = n })
	env("AISPEND_REPORTS_EVENTS_EXPORT", func(v string) {
		b, err := strconv.ParseBool(v)
		if err != nil {
			bad("reports.events_export (AISPEND_REPORTS_EVENTS_EXPORT)", "%q is not true or false", v)
			return
		}
		cfg.Reports.EventsExport = &b
	})
	env("AISPEND_S3_ENDPOINT", func(v string) { cfg.S3.Endpoint = v })
	env("AISPEND_S3_REGION", func(v string) { cfg.S3.Region = v })
	env("AISPEND_S3_ACCESS_KEY", func(v string) { cfg.S3.AccessKey = v })
	env("AISPEND_S3_SECRET_KEY", func(v string) { cfg.S3.SecretKey = v })
	env("AISPEND_S3_PUBLIC_ENDPOINT", func(v string) { cfg.S3.PublicEndpoint = v })
	env("AISPEND_S3_PRESIGN_EXPIRY", func(v string) {
		d, err := time.ParseDuration(v)
		if err != nil {
			bad("s3.presign_expiry (AISPEND_S3_PRESIGN_EXPIRY)", "%q is not a duration like 24h", v)
		}
		cfg.S3.PresignExpiry = d
	})
	env("AISPEND_S3_PATH_STYLE", func(v string) {
		b, err := strconv.ParseBool(v)
		if err != nil {
			bad("s3.path_style (AISPEND_S3_PATH_STYLE)", "%q is not true or false", v)
		}
		cfg.S3.PathStyle = b
	})

	cfg.Currency = strings.ToUpper(cfg.Currency)
	if len(cfg.Currency) != 3 {
		bad("currency", "%q is not an ISO 4217 code", cfg.Currency)
	}
	cfg.Location = time.UTC
	switch cfg.Timezone {
	case "", "Local":
		// Go reads "" as UTC and "Local" as the machine's zone; PostgreSQL knows neither, and
		// every query of a run would fail.
		bad("timezone (AISPEND_TIMEZONE)", "%q is not a time zone name: want an IANA name such as Asia/Seoul, or UTC", cfg.Timezone)
	default:
		if loc, err := time.LoadLocation(cfg.Timezone); err != nil {
			bad("timezone (AISPEND_TIMEZONE)", "unknown time zone %q: want an IANA name such as Asia/Seoul, or UTC", cfg.Timezone)
		} else {
			cfg.Location = loc
		}
	}
	for k, v := range cfg.FX {
		if !v.IsPositive() {
			bad("fx."+k, "rate must be > 0")
		}
	}
	if cfg.FXDate != "" {
		if _, _, _, err := report.ParseDate(cfg.FXDate); err != nil {
			bad("fx_date", "%v", err)
		}
	}
	if _, ok := cfg.FX["USD"]; (len(cfg.Prices) > 0 || cfg.PriceCatalog != "") && cfg.Currency != "USD" && !ok {
		bad("fx.USD", "required: prices are in USD and the reporting currency is %s", cfg.Currency)
	}
	if cfg.PriceCatalog != "" {
		c, err := pricing.LoadCatalog(cfg.PriceCatalog)
		if err != nil {
			bad("price_catalog (AISPEND_PRICE_CATALOG)", "%v", err)
		}
		cfg.catalog = c
	}
	for i, p := range cfg.Prices {
		key := fmt.Sprintf("prices[%d]", i)
		if p.Model == "" {
			bad(key+".model", "required")
		}
		if _, _, _, err := report.ParseDate(p.From); err != nil {
			bad(key+".from", "%v", err)
		}
		for name, v := range map[string]*Dec{"input": &p.Input, "output": &p.Output, "cache_read": p.CacheRead, "cache_write": p.CacheWrite, "cache_write_1h": p.CacheWrite1h} {
			if v != nil && v.IsNegative() {
				bad(key+"."+name, "must be ≥ 0")
			}
		}
		checkTiers(key, p.Tiers, bad)
	}
	if cfg.RetentionDays < 1 {
		bad("retention_days", "must be at least 1")
	}
	if _, _, err := net.SplitHostPort(cfg.Ingest.Listen); err != nil {
		bad("ingest.listen (AISPEND_LISTEN)", "%q is not host:port", cfg.Ingest.Listen)
	}
	if cfg.Ingest.MaxEvents < 1 {
		bad("ingest.max_events", "must be at least 1")
	}
	if cfg.Ingest.MaxBodyBytes < 1024 {
		bad("ingest.max_body_bytes", "must be at least 1024")
	}
	if cfg.Ingest.MaxInFlight < 1 {
		bad("ingest.max_in_flight", "must be at least 1")
	}
	problems = append(problems, checkTokenKinds(cfg.Ingest)...)
	switch cfg.Mail.TLS {
	case "starttls", "tls", "none":
	default:
		bad("mail.tls (AISPEND_SMTP_TLS)", "%q: want starttls, tls or none", cfg.Mail.TLS)
	}
	if cfg.Mail.From != "" {
		if err := checkAddress(cfg.Mail.From, nil); err != nil {
			bad("mail.from (AISPEND_SMTP_FROM)", "%v", err)
		}
	}
	for _, a := range cfg.Mail.Recipients {
		if err := checkAddress(a, cfg.Mail.AllowedDomains); err != nil {
			bad("mail.recipients (AISPEND_ALERT_EMAILS)", "%v", err)
		}
	}
	for _, a := range cfg.Digest.Recipients {
		if err := checkAddress(a, cfg.Mail.AllowedDomains); err != nil {
			bad("digest.recipients (AISPEND_DIGEST_EMAILS)", "%v", err)
		}
	}
	if n := cfg.Digest.AttachMaxBytes; n < 1024 || n > maxDigestAttachBytes {
		bad("digest.attach_max_bytes (AISPEND_DIGEST_ATTACH_MAX_BYTES)", "%d: want 1024 to %d bytes (18 MiB; attachments grow by a third in transit)", n, maxDigestAttachBytes)
	}
	if cfg.Reports.EventsSheetMaxRows < 0 {
		bad("reports.events_sheet_max_rows (AISPEND_REPORTS_EVENTS_SHEET_MAX_ROWS)", "%d: must be ≥ 0 (0: workbooks list no events)", cfg.Reports.EventsSheetMaxRows)
	}
	for i, b := range cfg.Budgets {
		for _, a := range b.Recipients {
			if err := checkAddress(a, cfg.Mail.AllowedDomains); err != nil {
				bad(fmt.Sprintf("budgets[%d].recipients", i), "%v", err)
			}
		}
	}
	// Budgets are checked by the same mapping the batch job uses.
	var ce *ConfigError
	if _, err := cfg.reportBudgets(); errors.As(err, &ce) {
		problems = append(problems, ce.Problems...)
	}
	problems = append(problems, checkRetention(&cfg, time.Now())...)
	problems = append(problems, checkOutput(&cfg)...)
	checkSchedules(&cfg, env, bad)
	if len(problems) > 0 {
		return nil, &ConfigError{Problems: problems}
	}
	return &cfg, nil
}

// ConfigError lists every configuration problem.
type ConfigError struct{ Problems []string }

func (e *ConfigError) Error() string {
	return "invalid configuration:\n  " + strings.Join(e.Problems, "\n  ")
}

// checkAddress accepts one plain address; CR/LF and display-name tricks are refused.
func checkAddress(a string, allowed []string) error {
	if strings.ContainsAny(a, "\r\n") {
		return fmt.Errorf("%q contains a line break", a)
	}
	addr, err := mail.ParseAddress(a)
	if err != nil {
		return fmt.Errorf("%q is not an email address: %v", a, err)
	}
	if len(allowed) > 0 {
		domain := strings.ToLower(addr.Address[strings.LastIndexByte(addr.Address, '@')+1:])
		for _, d := range allowed {
			if strings.ToLower(d) == domain {
				return nil
			}
		}
		return fmt.Errorf("%q is outside the allowed domains %v", a, allowed)
	}
	return nil
}

func splitList(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// checkTiers checks the tiers of one price row: thresholds above 0 and distinct, input and
// output set, no negative price.
func checkTiers(key string, tiers []TierConfig, bad func(key, format string, args ...any)) {
	seen := map[int64]bool{}
	for j, t := range tiers {
		tk := fmt.Sprintf("%s.tiers[%d]", key, j)
		if t.AboveInputTokens <= 0 {
			bad(tk+".above_input_tokens", "required, > 0")
		} else if seen[t.AboveInputTokens] {
			bad(tk+".above_input_tokens", "%d: another tier has the same threshold", t.AboveInputTokens)
		}
		seen[t.AboveInputTokens] = true
		if t.Input == nil {
			bad(tk+".input", "required")
		}
		if t.Output == nil {
			bad(tk+".output", "required")
		}
		for name, v := range map[string]*Dec{"input": t.Input, "output": t.Output, "cache_read": t.CacheRead, "cache_write": t.CacheWrite, "cache_write_1h": t.CacheWrite1h} {
			if v != nil && v.IsNegative() {
				bad(tk+"."+name, "must be ≥ 0")
			}
		}
	}
}

// priceTable builds the collector's price table; the rule for cache prices a row leaves out is
// pricing.CachePrice.
func (c *Config) priceTable() (*pricing.Table, error) {
	fx := map[string]decimal.Decimal{}
	for k, v := range c.FX {
		fx[k] = v.Decimal
	}
	var prices []pricing.Price
	for _, p := range c.Prices {
		from, err := pricing.ParseDate(p.From, c.Location)
		if err != nil {
			return nil, err
		}
		pr := pricing.Price{Model: p.Model, Provider: p.Provider, From: from, Input: p.Input.Decimal, Output: p.Output.Decimal,
			CacheRead:    pricing.CachePrice(p.CacheRead.null(), p.Input.Decimal),
			CacheWrite:   pricing.CachePrice(p.CacheWrite.null(), p.Input.Decimal),
			CacheWrite1h: p.CacheWrite1h.null()}
		for _, t := range p.Tiers {
			if t.Input == nil || t.Output == nil {
				continue // refused by loadConfig
			}
			pr.Tiers = append(pr.Tiers, pricing.Tier{AboveInputTokens: t.AboveInputTokens, Input: t.Input.Decimal, Output: t.Output.Decimal,
				CacheRead:    pricing.CachePrice(t.CacheRead.null(), t.Input.Decimal),
				CacheWrite:   pricing.CachePrice(t.CacheWrite.null(), t.Input.Decimal),
				CacheWrite1h: t.CacheWrite1h.null()})
		}
		prices = append(prices, pr)
	}
	return pricing.New(c.Currency, fx, prices, pricing.WithCatalog(c.catalog)), nil
}

// null is the optional decimal d (nil: unset).
func (d *Dec) null() decimal.NullDecimal {
	if d == nil {
		return decimal.NullDecimal{}
	}
	return decimal.NewNullDecimal(d.Decimal)
}

// SchedulesConfig holds one 5-field cron expression per job of `aispend schedule`, in the
// configured time zone; "off" disables a job.
type SchedulesConfig struct {
	BudgetCheck string `yaml:"budget_check"`
	Daily       string `yaml:"daily"`
	Weekly      string `yaml:"weekly"`
	Monthly     string `yaml:"monthly"`
	Retention   string `yaml:"retention"`
}

// defaultSchedules are the scheduler's default cron expressions (schedule.BatchJobs).
func defaultSchedules() SchedulesConfig {
	var s SchedulesConfig
	for _, e := range s.entries() {
		*e.Cron = e.DefaultCron
	}
	return s
}

// scheduleEntry is one configured job of the scheduler, with its environment variable and
// its cron expression in the configuration.
type scheduleEntry struct {
	schedule.BatchJob
	Env  string
	Cron *string
}

// entries lists the scheduled jobs in the scheduler's order.
func (s *SchedulesConfig) entries() []scheduleEntry {
	fields := map[string]*string{
		schedule.BudgetCheck: &s.BudgetCheck, schedule.Daily: &s.Daily, schedule.Weekly: &s.Weekly,
		schedule.Monthly: &s.Monthly, schedule.Retention: &s.Retention,
	}
	var out []scheduleEntry
	for _, j := range schedule.BatchJobs {
		out = append(out, scheduleEntry{BatchJob: j, Env: "AISPEND_SCHEDULE_" + strings.ToUpper(j.Key), Cron: fields[j.Name]})
	}
	return out
}

// checkSchedules applies the schedule environment variables and validates every cron
// expression and the run lock wait.
func checkSchedules(cfg *Config, env func(string, func(string)), bad func(key, format string, args ...any)) {
	for _, e := range cfg.Schedules.entries() {
		env(e.Env, func(v string) { *e.Cron = v })
		*e.Cron = strings.TrimSpace(*e.Cron)
		if *e.Cron == schedule.Off {
			continue
		}
		if err := schedule.CheckCron(*e.Cron); err != nil {
			bad("schedules."+e.Key+" ("+e.Env+")", "%v (want 5 fields: minute hour day-of-month month day-of-week, or \"off\")", err)
		}
	}
	env("AISPEND_RUN_LOCK_WAIT", func(v string) {
		d, err := time.ParseDuration(v)
		if err != nil {
			bad("run_lock_wait (AISPEND_RUN_LOCK_WAIT)", "%q is not a duration such as 10m", v)
			return
		}
		cfg.RunLockWait = d
	})
	if cfg.RunLockWait < 0 {
		bad("run_lock_wait", "must not be negative")
	}
}

// now is the configured clock's current time (AISPEND_NOW, else the system clock).
func (c *Config) now() time.Time {
	if c.Clock != nil {
		return c.Clock()
	}
	return time.Now()
}

// checkRetention refuses a retention that drops raw events of a budget period while the batch
// job still needs them: a budget's spend comes from the aggregates only for days already
// aggregated, and late or re-priced events of the period are counted only while their day's
// events can be rebuilt, so the whole period must be stored while it is in progress and through
// the day after it ends, when that day's report checks it (report.RetentionNeeded). Shorter, and
// spend is silently lost.
func checkRetention(cfg *Config, now time.Time) []string {
	if cfg.RetentionDays < 1 {
		return nil // refused already
	}
	var problems []string
	for i, b := range cfg.Budgets {
		period := b.Period
		if period == "" {
			period = "daily"
		}
		kind, err := report.ParsePeriodKind(period)
		if err != nil {
			continue // refused already
		}
		need := report.RetentionNeeded(kind, cfg.Location, now)
		if cfg.RetentionDays < need {
			problems = append(problems, fmt.Sprintf("retention_days (AISPEND_RETENTION_DAYS): %d days is too short for budget %q (budgets[%d], %s): "+
				"its spend is read from the raw events for the whole %s and the day after it ends, up to %d days in %s; want at least %d",
				cfg.RetentionDays, b.Name, i, kind, periodNoun(kind), need, cfg.Location, need))
		}
	}
	return problems
}

func periodNoun(k report.PeriodKind) string {
	switch k {
	case report.Weekly:
		return "week"
	case report.Monthly:
		return "month"
	}
	return "day"
}

// yamlError explains a file that could not be decoded: a syntax error with its line, or the
// keys whose values have the wrong type (or are unknown), each named with its line.
func yamlError(path string, b []byte, err error) error {
	var lines []string
	var te *yaml.TypeError
	if errors.As(err, &te) {
		lines = te.Errors
	} else if lineMsg.MatchString(err.Error()) {
		lines = []string{err.Error()} // from an UnmarshalYAML, e.g. Dec's
	}
	if len(lines) == 0 {
		msg := err.Error()
		if !yamlLine.MatchString(msg) {
			// yaml.v3 leaves the line out of the YAML reader's errors (bad UTF-8, control
			// characters), and of every error on line 1 (its marks count from 0, and 0 reads
			// as "no position").
			n := badByteLine(b)
			if n == 0 {
				n = 1
			}
			msg = strings.Replace(msg, "yaml: ", fmt.Sprintf("yaml: line %d: ", n), 1)
		}
		return fmt.Errorf("read config %s: %s", path, msg)
	}
	var root yaml.Node
	_ = yaml.Unmarshal(b, &root)
	var problems []string
	for _, l := range lines {
		m := lineMsg.FindStringSubmatch(l)
		if m == nil {
			problems = append(problems, "(top level): "+l)
			continue
		}
		n, _ := strconv.Atoi(m[1])
		msg := m[2]
		key := ""
		f := unknownField.FindStringSubmatch(msg)
		if f != nil {
			msg = "unknown key"
		} else if f = duplicateKey.FindStringSubmatch(msg); f != nil {
			name, _ := strconv.Unquote(`"` + f[1] + `"`)
			f[1] = name
			msg = "defined twice (first at line " + f[2] + ")"
		}
		switch {
		case f != nil:
			name := f[1]
			parent := strings.TrimSuffix(keyNamedAtLine(&root, n, name, ""), name)
			if !plainKey.MatchString(name) {
				name = strconv.Quote(name) // "p.0000", "a b": one key, not a path
			}
			key = parent + name
		case strings.HasSuffix(msg, "into main.Config"):
			msg = "want a mapping of keys such as currency and timezone"
		default:
			key = keyAtLine(&root, n, "")
		}
		if key == "" {
			key = "(top level)"
		}
		problems = append(problems, fmt.Sprintf("%s (line %d): %s", key, n, msg))
	}
	return &ConfigError{Problems: problems}
}

var (
	lineMsg      = regexp.MustCompile(`(?s)^line (\d+): (.*)$`)
	unknownField = regexp.MustCompile(`^field (.*) not found in type `)
	duplicateKey = regexp.MustCompile(`^mapping key "((?:[^"\\]|\\.)*)" already defined at line (\d+)$`)
	plainKey     = regexp.MustCompile(`^[A-Za-z0-9_]+$`)
	yamlLine     = regexp.MustCompile(`^yaml: line \d+: `)
)

// keyAtLine is the path (budgets[0].amount) of the deepest key or list item on line n.
func keyAtLine(node *yaml.Node, n int, path string) string {
	found := ""
	switch node.Kind {
	case yaml.DocumentNode:
		for _, c := range node.Content {
			if k := keyAtLine(c, n, path); k != "" {
				found = k
			}
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(node.Content); i += 2 {
			k, v := node.Content[i], node.Content[i+1]
			p := k.Value
			if path != "" {
				p = path + "." + k.Value
			}
			if k.Line == n || v.Line == n {
				found = p
			}
			if sub := keyAtLine(v, n, p); sub != "" {
				found = sub
			}
		}
	case yaml.SequenceNode:
		for i, c := range node.Content {
			p := fmt.Sprintf("%s[%d]", path, i)
			if c.Line == n {
				found = p
			}
			if sub := keyAtLine(c, n, p); sub != "" {
				found = sub
			}
		}
	}
	return found
}

// keyNamedAtLine is the path of the key called name on line n.
func keyNamedAtLine(node *yaml.Node, n int, name, path string) string {
	for i, c := range node.Content {
		p := path
		switch node.Kind {
		case yaml.MappingNode:
			if i%2 == 0 {
				if c.Line == n && c.Value == name {
					if path != "" {
						return path + "." + name
					}
					return name
				}
				continue
			}
			if k := node.Content[i-1].Value; path != "" {
				p = path + "." + k
			} else {
				p = k
			}
		case yaml.SequenceNode:
			p = fmt.Sprintf("%s[%d]", path, i)
		}
		if k := keyNamedAtLine(c, n, name, p); k != "" {
			return k
		}
	}
	return ""
}

// badByteLine is the line of the first byte the YAML reader refuses (invalid UTF-8 or a control
// character), or 0.
func badByteLine(b []byte) int {
	line := 1
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size <= 1 {
			return line
		}
		switch {
		case r == '\n':
			line++
		case r == '\t' || r == '\r':
		case r < 0x20 || (r >= 0x7f && r <= 0x9f && r != 0x85) || r == 0xfffe || r == 0xffff || (r >= 0xd800 && r <= 0xdfff):
			return line
		}
		i += size
	}
	return 0
}
