package main

import (
	"errors"
	"fmt"
	"net"
	netmail "net/mail"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/shopspring/decimal"
	"gopkg.in/yaml.v3"

	"github.com/aispend/aispend/collect/pricing"
	"github.com/aispend/aispend/report"
	"github.com/aispend/aispend/report/artifact"
	"github.com/aispend/aispend/report/email"
	"github.com/aispend/aispend/report/mail"
	"github.com/aispend/aispend/report/schedule"
)

// Config is the whole configuration: the file, then environment variables on top.
// Secrets (database URL, SMTP password, S3 keys, ingest tokens) are read only from the
// environment and never logged.
type Config struct {
	DatabaseURL       string `yaml:"-"`
	ReportDatabaseURL string `yaml:"-"`

	Currency     string         `yaml:"currency"`
	Timezone     string         `yaml:"timezone"`
	FX           map[string]Dec `yaml:"fx"`
	FXDate       string         `yaml:"fx_date"`
	Prices       []PriceConfig  `yaml:"prices"`
	PriceCatalog string         `yaml:"price_catalog"` // genai-prices data.json: models Prices does not name
	Budgets      []BudgetConfig `yaml:"budgets"`
	// Channels are the alert channels besides email (channels.go).
	Channels []ChannelConfig `yaml:"channels"`
	// Anomaly configures anomaly alerts (configanomaly.go); nil: none.
	Anomaly       *AnomalyConfigFile `yaml:"anomaly"`
	RetentionDays int                `yaml:"retention_days"`
	PublicURL     string             `yaml:"public_url"`
	Output        string             `yaml:"output"`

	Ingest IngestConfig `yaml:"ingest"`
	Mail   MailConfig   `yaml:"mail"`
	S3     S3Config     `yaml:"s3"`
	Digest DigestConfig `yaml:"digest"`
	Alerts AlertsConfig `yaml:"alerts"`
	// Decide configures POST /v1/decide (configdecide.go).
	Decide DecideConfig `yaml:"decide"`
	// Reports configures the report outputs (page, workbook, events CSV).
	Reports ReportsConfig `yaml:"reports"`
	// Chargeback configures the monthly chargeback statements (report/artifact/chargeback.go).
	Chargeback ChargebackConfig `yaml:"chargeback"`

	// Schedules are the cron expressions of `aispend schedule`'s jobs.
	Schedules SchedulesConfig `yaml:"schedules"`
	// RunLockWait bounds how long a run waits for another run of the same kind and period
	// before it fails naming the holder.
	RunLockWait time.Duration `yaml:"run_lock_wait"`

	Location *time.Location `yaml:"-"`
	// file is the configuration file read, "" when none was; zoneSet says whether the file or
	// AISPEND_TIMEZONE named the time zone (else it is the default, UTC). serve warns about
	// what it runs without (warnUnconfigured).
	file    string
	zoneSet bool
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
	// MaxConnections bounds the collector's open connections; BodyTimeout is how long a client
	// has to send a request body.
	MaxConnections int           `yaml:"max_connections"`
	BodyTimeout    time.Duration `yaml:"body_timeout"`
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

// AlertsConfig configures budget alerts.
type AlertsConfig struct {
	// Grace is how long after its budget period ended an alert is still sent; a later one (a
	// backfill) is recorded and listed, never sent (report.Job.AlertGrace).
	Grace time.Duration `yaml:"grace"`
}

// ReportsConfig configures the report outputs.
type ReportsConfig struct {
	// EventsSheetMaxRows: a workbook lists the period's events on its Events sheet while the
	// period has at most this many; a larger period's events are only in the events CSV beside
	// the workbook, which always holds every event. 0: no workbook lists events.
	EventsSheetMaxRows int `yaml:"events_sheet_max_rows"`
	// EventsExport publishes every period's raw events as a gzip-compressed CSV, and its FOCUS
	// export, beside the workbook (default true); false keeps raw events off the published site.
	EventsExport *bool `yaml:"events_export"`
	// FocusExport publishes the FOCUS CSV beside the events CSV (default true); false leaves it
	// out when FinOps tools are not fed from here (an export of the events is not read for it).
	FocusExport *bool `yaml:"focus_export"`
	// TagKeys are the tag keys reports break spend down by, beside the endpoint: a breakdown
	// of each on the pages, in the workbook, report.json and GET /v1/top?dimension=tag:<key>.
	TagKeys []string `yaml:"tag_keys"`
}

// maxTagKeys bounds reports.tag_keys: each key is a workbook sheet and a table on every page.
const maxTagKeys = 10

// tagKeyPattern is what a key of reports.tag_keys may be: it names a sheet ("By tag <key>",
// within a sheet name's 31 characters), a URL parameter and a dimension (tag:<key>).
var tagKeyPattern = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,24}$`)

// checkTagKeys checks reports.tag_keys: at most maxTagKeys, each matching tagKeyPattern, none
// twice.
func (cfg *Config) checkTagKeys(p *problems) {
	const field = "reports.tag_keys (AISPEND_REPORTS_TAG_KEYS)"
	if len(cfg.Reports.TagKeys) > maxTagKeys {
		p.add(field, "%d keys: at most %d", len(cfg.Reports.TagKeys), maxTagKeys)
	}
	seen := map[string]bool{}
	for _, k := range cfg.Reports.TagKeys {
		switch {
		case !tagKeyPattern.MatchString(k):
			p.add(field, "%q: a key is 1 to 24 letters, digits, '_', '.' or '-'", k)
		case seen[k]:
			p.add(field, "%q: listed twice", k)
		}
		seen[k] = true
	}
}

// ChargebackConfig configures the chargeback statements: each owner (a value of By) with a
// recipient gets a monthly email with their own figures and workbook.
type ChargebackConfig struct {
	// By is org_id or tag:<key>; empty: no statements.
	By string `yaml:"by"`
	// Recipients maps each owner's value to the address of their statement.
	Recipients map[string]string `yaml:"recipients"`
}

// checkChargeback checks chargeback: a field statements can be by, at least one recipient,
// and each a plain address in the allowed domains, every problem listed.
func (cfg *Config) checkChargeback(p *problems) {
	c := cfg.Chargeback
	if c.By == "" && len(c.Recipients) == 0 {
		return
	}
	if _, err := report.ParseChargebackBy(c.By); err != nil {
		p.add("chargeback.by", "%v", err)
	}
	if len(c.Recipients) == 0 {
		p.add("chargeback.recipients", "empty: name each owner's address (value: address)")
	}
	owners := make([]string, 0, len(c.Recipients))
	for v := range c.Recipients {
		owners = append(owners, v)
	}
	slices.Sort(owners)
	for _, v := range owners {
		if strings.TrimSpace(v) == "" {
			p.add("chargeback.recipients", "an owner value is empty")
			continue
		}
		if err := checkAddress(c.Recipients[v], cfg.Mail.AllowedDomains); err != nil {
			p.add("chargeback.recipients."+v, "%v", err)
		}
	}
}

// chargeback is the outputs' chargeback configuration; nil when none is configured.
func (cfg *Config) chargeback() *artifact.Chargeback {
	by, err := report.ParseChargebackBy(cfg.Chargeback.By)
	if err != nil || len(cfg.Chargeback.Recipients) == 0 {
		return nil // checked at start-up (checkChargeback)
	}
	return &artifact.Chargeback{By: by, Recipients: cfg.Chargeback.Recipients}
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

// BudgetConfig is one budget: an amount in the reporting currency for each calendar period
// (daily, weekly or monthly, aligned in the time zone), alert thresholds in percent (default 50,
// 80, 95), an optional forecast alert, scope filters and the recipients of its alerts.
type BudgetConfig struct {
	Name       string            `yaml:"name"`
	Period     string            `yaml:"period"`
	Amount     Dec               `yaml:"amount"`
	Thresholds []int             `yaml:"thresholds"`
	Forecast   bool              `yaml:"forecast"`
	BurnRate   bool              `yaml:"burn_rate"` // alert when the pace of the last hours runs out before the period ends
	Scope      map[string]string `yaml:"scope"`
	Recipients []string          `yaml:"recipients"`
	// Channels routes the budget's alerts: {default: [email, ops], 95: [email, ops, oncall]}.
	Channels map[string][]string `yaml:"channels"`
	// Per, Overrides and Enforce: envelopes per value and the decide policy (configdecide.go).
	Per       string         `yaml:"per"`
	Overrides map[string]Dec `yaml:"overrides"`
	Enforce   *EnforceConfig `yaml:"enforce"`
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
		Ingest: IngestConfig{Listen: "127.0.0.1:8080", MaxEvents: 1000, MaxBodyBytes: 1 << 20, MaxInFlight: 32,
			MaxConnections: 512, BodyTimeout: 10 * time.Second},
		Mail:        MailConfig{Port: 587, TLS: "starttls"},
		S3:          S3Config{Region: "us-east-1", PresignExpiry: 7 * 24 * time.Hour},
		Digest:      DigestConfig{AttachMaxBytes: email.DefaultAttachMaxBytes},
		Alerts:      AlertsConfig{Grace: report.DefaultAlertGrace},
		Decide:      defaultDecide(),
		Reports:     ReportsConfig{EventsSheetMaxRows: artifact.DefaultEventsSheetMaxRows},
		Schedules:   defaultSchedules(),
		RunLockWait: 10 * time.Minute,
	}
}

// loadConfig reads the file (path, else AISPEND_CONFIG, else ./aispend.yaml when present), applies
// the environment, and validates. Every problem of every kind (unknown keys, values of the wrong
// type, values that cannot work) is reported at once, each naming its key, and its line when the
// value is in the file.
func loadConfig(path string, getenv func(string) string) (*Config, error) {
	cfg := defaultConfig()
	path, explicit := configPath(path, getenv)
	f, err := readConfigFile(&cfg, path, explicit)
	if err != nil {
		return nil, err
	}
	if f.read {
		cfg.file = path
	}
	_, zoneInFile := f.lines["timezone"]
	cfg.zoneSet = zoneInFile || getenv("AISPEND_TIMEZONE") != ""
	p := &problems{file: f, unread: f.unread}
	applyEnv(&cfg, getenv, p)
	cfg.readChannels(getenv, p)
	cfg.checkMoney(p)
	cfg.checkService(p)
	cfg.checkMail(p)
	cfg.checkChargeback(p)
	cfg.checkBudgets(p)
	cfg.checkAnomaly(p)
	cfg.checkDecide(p)
	p.addAll(checkOutput(&cfg))
	cfg.checkSchedules(p)
	if list := p.list(); len(list) > 0 {
		return nil, &ConfigError{Problems: list}
	}
	return &cfg, nil
}

// problems collects the problems of a configuration: the file's, the environment's, and those
// of values that cannot work (found), which list shows with the line of their key in the file.
type problems struct {
	file  *configFile
	env   []string
	found []string
	// fromEnv are the keys the environment set, unread those whose value is not the user's
	// (see configFile.unread).
	fromEnv, unread []string
}

// add records that key has a problem.
func (p *problems) add(key, format string, args ...any) {
	p.found = append(p.found, key+": "+fmt.Sprintf(format, args...))
}

// addAll records problems, each starting with its key.
func (p *problems) addAll(list []string) { p.found = append(p.found, list...) }

// list is every problem: the file's, the environment's, then the others, each with the line
// of its key (or of the nearest enclosing key) when the value is in the file. A problem of a
// key whose value could not be read is left out: the value checked was not the user's.
func (p *problems) list() []string {
	out := append(append([]string(nil), p.file.problems...), p.env...)
	for _, s := range p.found {
		path := problemPath(s)
		if under(path, p.unread) {
			continue
		}
		if !under(path, p.fromEnv) {
			if n := p.file.lineOf(path); n > 0 {
				s += fmt.Sprintf(" (line %d)", n)
			}
		}
		out = append(out, s)
	}
	return out
}

// problemPath is the key path a problem names: budgets[0].amount for
// `budgets[0] (team).amount: …`, timezone for `timezone (AISPEND_TIMEZONE): …`.
func problemPath(problem string) string {
	label, _, _ := strings.Cut(problem, ": ")
	label = parenthesised.ReplaceAllString(label, "")
	label, _, _ = strings.Cut(label, " ")
	return label
}

var parenthesised = regexp.MustCompile(` \([^()]*\)`)

// under reports whether path is one of keys or inside one of them.
func under(path string, keys []string) bool {
	for _, k := range keys {
		if k == "" || path == k || strings.HasPrefix(path, k+".") || strings.HasPrefix(path, k+"[") {
			return true
		}
	}
	return false
}

// lineOf is the line of the key path in the file, else of its nearest enclosing key in it
// (a missing required key is reported where it belongs), else 0.
func (f *configFile) lineOf(path string) int {
	for path != "" {
		if n, ok := f.lines[path]; ok {
			return n
		}
		i := strings.LastIndexAny(path, ".[")
		if i < 0 {
			break
		}
		path = path[:i]
	}
	return 0
}

// checkMoney checks the currency, exchange rates, the price catalog and the price rows.
func (cfg *Config) checkMoney(p *problems) {
	cfg.Currency = strings.ToUpper(cfg.Currency)
	if len(cfg.Currency) != 3 {
		p.add("currency", "%q is not an ISO 4217 code", cfg.Currency)
	}
	for k, v := range cfg.FX {
		if !v.IsPositive() {
			p.add("fx."+k, "rate must be > 0")
		}
	}
	if cfg.FXDate != "" {
		if _, _, _, err := report.ParseDate(cfg.FXDate); err != nil {
			p.add("fx_date", "%v", err)
		}
	}
	if _, ok := cfg.FX["USD"]; (len(cfg.Prices) > 0 || cfg.PriceCatalog != "") && cfg.Currency != "USD" && !ok {
		p.add("fx.USD", "required: prices are in USD and the reporting currency is %s", cfg.Currency)
	}
	if cfg.PriceCatalog != "" {
		c, err := pricing.LoadCatalog(cfg.PriceCatalog)
		if err != nil {
			p.add("price_catalog (AISPEND_PRICE_CATALOG)", "%v", err)
		}
		cfg.catalog = c
	}
	for i, pc := range cfg.Prices {
		key := fmt.Sprintf("prices[%d]", i)
		if pc.Model == "" {
			p.add(key+".model", "required")
		}
		if _, _, _, err := report.ParseDate(pc.From); err != nil {
			p.add(key+".from", "%v", err)
		}
		for name, v := range map[string]*Dec{"input": &pc.Input, "output": &pc.Output, "cache_read": pc.CacheRead, "cache_write": pc.CacheWrite, "cache_write_1h": pc.CacheWrite1h} {
			if v != nil && v.IsNegative() {
				p.add(key+"."+name, "must be ≥ 0")
			}
		}
		checkTiers(key, pc.Tiers, p.add)
	}
}

// checkService checks the time zone, retention and the collector's settings.
func (cfg *Config) checkService(p *problems) {
	cfg.Location = time.UTC
	switch cfg.Timezone {
	case "", "Local":
		// Go reads "" as UTC and "Local" as the machine's zone; PostgreSQL knows neither, and
		// every query of a run would fail.
		p.add("timezone (AISPEND_TIMEZONE)", "%q is not a time zone name: want an IANA name such as Asia/Seoul, or UTC", cfg.Timezone)
	default:
		if loc, err := time.LoadLocation(cfg.Timezone); err != nil {
			p.add("timezone (AISPEND_TIMEZONE)", "unknown time zone %q: want an IANA name such as Asia/Seoul, or UTC", cfg.Timezone)
		} else {
			cfg.Location = loc
		}
	}
	if cfg.RetentionDays < 1 {
		p.add("retention_days", "must be at least 1")
	}
	if _, _, err := net.SplitHostPort(cfg.Ingest.Listen); err != nil {
		p.add("ingest.listen (AISPEND_LISTEN)", "%q is not host:port", cfg.Ingest.Listen)
	}
	if cfg.Ingest.MaxEvents < 1 {
		p.add("ingest.max_events", "must be at least 1")
	}
	if cfg.Ingest.MaxBodyBytes < 1024 {
		p.add("ingest.max_body_bytes", "must be at least 1024")
	}
	if cfg.Ingest.MaxInFlight < 1 {
		p.add("ingest.max_in_flight", "must be at least 1")
	}
	if cfg.Ingest.MaxConnections < 1 {
		p.add("ingest.max_connections", "must be at least 1")
	}
	if cfg.Ingest.BodyTimeout < time.Second {
		p.add("ingest.body_timeout", "must be at least 1s")
	}
	p.addAll(checkTokenKinds(cfg.Ingest))
	cfg.checkTagKeys(p)
	if cfg.Reports.EventsSheetMaxRows < 0 {
		p.add("reports.events_sheet_max_rows (AISPEND_REPORTS_EVENTS_SHEET_MAX_ROWS)", "%d: must be ≥ 0 (0: workbooks list no events)", cfg.Reports.EventsSheetMaxRows)
	}
}

// checkMail checks the mail transport, the sender and every recipient.
func (cfg *Config) checkMail(p *problems) {
	switch cfg.Mail.TLS {
	case "starttls", "tls", "none":
	default:
		p.add("mail.tls (AISPEND_SMTP_TLS)", "%q: want starttls, tls or none", cfg.Mail.TLS)
	}
	if cfg.Mail.From != "" {
		if err := checkAddress(cfg.Mail.From, nil); err != nil {
			p.add("mail.from (AISPEND_SMTP_FROM)", "%v", err)
		}
	}
	for _, a := range cfg.Mail.Recipients {
		if err := checkAddress(a, cfg.Mail.AllowedDomains); err != nil {
			p.add("mail.recipients (AISPEND_ALERT_EMAILS)", "%v", err)
		}
	}
	for _, a := range cfg.Digest.Recipients {
		if err := checkAddress(a, cfg.Mail.AllowedDomains); err != nil {
			p.add("digest.recipients (AISPEND_DIGEST_EMAILS)", "%v", err)
		}
	}
	if n := cfg.Digest.AttachMaxBytes; n < 1024 || n > maxDigestAttachBytes {
		p.add("digest.attach_max_bytes (AISPEND_DIGEST_ATTACH_MAX_BYTES)", "%d: want 1024 to %d bytes (18 MiB; attachments grow by a third in transit)", n, maxDigestAttachBytes)
	}
	for i, b := range cfg.Budgets {
		for _, a := range b.Recipients {
			if err := checkAddress(a, cfg.Mail.AllowedDomains); err != nil {
				p.add(fmt.Sprintf("budgets[%d].recipients", i), "%v", err)
			}
		}
	}
}

// checkBudgets checks the budgets by the same mapping the batch job uses, and that retention
// keeps what they need.
func (cfg *Config) checkBudgets(p *problems) {
	var ce *ConfigError
	if _, err := cfg.reportBudgets(); errors.As(err, &ce) {
		p.addAll(ce.Problems)
	}
	p.addAll(checkRetention(cfg, time.Now()))
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
	if _, err := netmail.ParseAddress(a); err != nil {
		return fmt.Errorf("%q is not an email address: %v", a, err)
	}
	if len(allowed) > 0 {
		domain, _ := mail.Domain(a)
		for _, d := range allowed {
			if strings.EqualFold(d, domain) {
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

// checkSchedules checks every cron expression and the run lock wait.
func (cfg *Config) checkSchedules(p *problems) {
	for _, e := range cfg.Schedules.entries() {
		*e.Cron = strings.TrimSpace(*e.Cron)
		if *e.Cron == schedule.Off {
			continue
		}
		if err := schedule.CheckCron(*e.Cron); err != nil {
			p.add("schedules."+e.Key+" ("+e.Env+")", "%v (want 5 fields: minute hour day-of-month month day-of-week, or \"off\")", err)
		}
	}
	if cfg.RunLockWait < 0 {
		p.add("run_lock_wait", "must not be negative")
	}
	if cfg.Alerts.Grace <= 0 {
		p.add("alerts.grace", "must be positive, e.g. 48h (alerts of a period that ended longer ago are not sent)")
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
