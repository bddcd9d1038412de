package main

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// envVar is one environment variable of the configuration: the key it sets (also for naming it
// in problems), and how it sets it; set fails in the user's words ("is not an integer").
type envVar struct {
	name, key string
	set       func(v string) error
}

// envVars are the configuration's environment variables, in the order they are applied
// (AISPEND_ALERT_EMAILS after its old name AI_BUDGET_ALERT_EMAILS, so it wins).
//
// github.com/caarlos0/env was considered for this and not taken: its errors are in Go's words
// and name struct fields, not keys; it would need an env tag on every field beside the yaml
// tag, and the secrets, the old variable name, AISPEND_NOW and the schedules would still be
// special cases; this table is shorter than that.
func envVars(cfg *Config) []envVar {
	vars := []envVar{
		{"DATABASE_URL", "", text(&cfg.DatabaseURL)},
		{"REPORT_DATABASE_URL", "", text(&cfg.ReportDatabaseURL)},
		{"AISPEND_LISTEN", "ingest.listen", text(&cfg.Ingest.Listen)},
		{"AISPEND_INGEST_TOKENS", "", list(&cfg.Ingest.Tokens)},
		{"AISPEND_READ_TOKENS", "", list(&cfg.Ingest.ReadTokens)},
		{"AISPEND_ADMIN_TOKENS", "", list(&cfg.Ingest.AdminTokens)},
		{"AISPEND_TIMEZONE", "timezone", text(&cfg.Timezone)},
		{"AISPEND_CURRENCY", "currency", text(&cfg.Currency)},
		{"AISPEND_RETENTION_DAYS", "retention_days", integer(&cfg.RetentionDays)},
		{"AISPEND_PUBLIC_URL", "public_url", text(&cfg.PublicURL)},
		{"AISPEND_OUTPUT", "output", text(&cfg.Output)},
		{"AISPEND_PRICE_CATALOG", "price_catalog", text(&cfg.PriceCatalog)},
		{"AI_BUDGET_ALERT_EMAILS", "mail.recipients", list(&cfg.Mail.Recipients)},
		{"AISPEND_ALERT_EMAILS", "mail.recipients", list(&cfg.Mail.Recipients)},
		{"AISPEND_SMTP_HOST", "mail.host", text(&cfg.Mail.Host)},
		{"AISPEND_SMTP_PORT", "mail.port", integer(&cfg.Mail.Port)},
		{"AISPEND_SMTP_USERNAME", "mail.username", text(&cfg.Mail.Username)},
		{"AISPEND_SMTP_PASSWORD", "", text(&cfg.Mail.Password)},
		{"AISPEND_SMTP_FROM", "mail.from", text(&cfg.Mail.From)},
		{"AISPEND_SMTP_TLS", "mail.tls", text(&cfg.Mail.TLS)},
		{"AISPEND_DIGEST_EMAILS", "digest.recipients", list(&cfg.Digest.Recipients)},
		{"AISPEND_DIGEST_ATTACH_WORKBOOK", "digest.attach_workbook", boolean(&cfg.Digest.AttachWorkbook)},
		{"AISPEND_DIGEST_ATTACH_MAX_BYTES", "digest.attach_max_bytes", integer(&cfg.Digest.AttachMaxBytes)},
		{"AISPEND_NOW", "", clock(&cfg.Clock)},
		{"AISPEND_REPORTS_EVENTS_SHEET_MAX_ROWS", "reports.events_sheet_max_rows", integer(&cfg.Reports.EventsSheetMaxRows)},
		{"AISPEND_REPORTS_EVENTS_EXPORT", "reports.events_export", optionalBoolean(&cfg.Reports.EventsExport)},
		{"AISPEND_REPORTS_FOCUS_EXPORT", "reports.focus_export", optionalBoolean(&cfg.Reports.FocusExport)},
		{"AISPEND_REPORTS_TAG_KEYS", "reports.tag_keys", list(&cfg.Reports.TagKeys)},
		{"AISPEND_ALERTS_GRACE", "alerts.grace", duration(&cfg.Alerts.Grace)},
		{"AISPEND_S3_ENDPOINT", "s3.endpoint", text(&cfg.S3.Endpoint)},
		{"AISPEND_S3_REGION", "s3.region", text(&cfg.S3.Region)},
		{"AISPEND_S3_ACCESS_KEY", "", text(&cfg.S3.AccessKey)},
		{"AISPEND_S3_SECRET_KEY", "", text(&cfg.S3.SecretKey)},
		{"AISPEND_S3_PUBLIC_ENDPOINT", "s3.public_endpoint", text(&cfg.S3.PublicEndpoint)},
		{"AISPEND_S3_PRESIGN_EXPIRY", "s3.presign_expiry", duration(&cfg.S3.PresignExpiry)},
		{"AISPEND_S3_PATH_STYLE", "s3.path_style", boolean(&cfg.S3.PathStyle)},
	}
	for _, e := range cfg.Schedules.entries() {
		vars = append(vars, envVar{e.Env, "schedules." + e.Key, text(e.Cron)})
	}
	return append(vars, envVar{"AISPEND_RUN_LOCK_WAIT", "run_lock_wait", duration(&cfg.RunLockWait)})
}

// applyEnv sets what the environment says on top of the file. A value that cannot be read is a
// problem, and leaves the key as it was.
func applyEnv(cfg *Config, getenv func(string) string, p *problems) {
	cfg.Clock = time.Now
	for _, e := range envVars(cfg) {
		v := strings.TrimSpace(getenv(e.name))
		if v == "" {
			continue
		}
		if e.key != "" {
			p.fromEnv = append(p.fromEnv, e.key)
		}
		if err := e.set(v); err != nil {
			label := e.name
			if e.key != "" {
				label = e.key + " (" + e.name + ")"
			}
			p.env = append(p.env, fmt.Sprintf("%s: %q %v", label, v, err))
			if e.key != "" {
				p.unread = append(p.unread, e.key)
			}
		}
	}
}

// errWant says what a variable wants: `"x" is not an integer`.
type errWant string

func (e errWant) Error() string { return "is not " + string(e) }

func text(dst *string) func(string) error {
	return func(v string) error { *dst = v; return nil }
}

func list(dst *[]string) func(string) error {
	return func(v string) error { *dst = splitList(v); return nil }
}

func integer[T int | int64](dst *T) func(string) error {
	return func(v string) error {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || int64(T(n)) != n {
			return errWant("an integer")
		}
		*dst = T(n)
		return nil
	}
}

func boolean(dst *bool) func(string) error {
	return func(v string) error {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return errWant("true or false")
		}
		*dst = b
		return nil
	}
}

func optionalBoolean(dst **bool) func(string) error {
	return func(v string) error {
		var b bool
		if err := boolean(&b)(v); err != nil {
			return err
		}
		*dst = &b
		return nil
	}
}

func duration(dst *time.Duration) func(string) error {
	return func(v string) error {
		d, err := time.ParseDuration(v)
		if err != nil {
			return errWant("a duration such as 10m or 24h")
		}
		*dst = d
		return nil
	}
}

func clock(dst *func() time.Time) func(string) error {
	return func(v string) error {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			return errWant("an RFC 3339 time like 2026-11-30T22:00:00+09:00")
		}
		*dst = func() time.Time { return t }
		return nil
	}
}
