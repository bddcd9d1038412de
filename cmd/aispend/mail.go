package main

import (
	"path/filepath"
	"strings"
	"time"

	"github.com/aispend/aispend/report"
	"github.com/aispend/aispend/report/artifact"
	"github.com/aispend/aispend/report/email"
	"github.com/aispend/aispend/report/mail"
)

// mailConfig maps the configuration onto the mail transport. With no SMTP host, messages go to
// <output>/outbox; when the output is a URL (s3://…) the outbox stays local, in out/outbox.
func (c *Config) mailConfig() mail.Config {
	outbox := filepath.Join("out", "outbox")
	if c.Output != "" && !strings.Contains(c.Output, "://") {
		outbox = filepath.Join(c.Output, "outbox")
	}
	return mail.Config{
		Host:      c.Mail.Host,
		Port:      c.Mail.Port,
		Username:  c.Mail.Username,
		Password:  c.Mail.Password,
		From:      c.Mail.From,
		TLS:       c.Mail.TLS,
		OutboxDir: outbox,
	}
}

// newMailer is the mail transport for the batch job and `alert test`.
func (c *Config) newMailer() (mail.Sender, error) {
	return mail.New(c.mailConfig())
}

// sampleAlert is the email of `aispend alert test` and POST /v1/alerts/test to the addresses
// to, at now (the real clock: its Message-ID is made of it), linking yesterday's published page
// folder under the public URL, when there is one.
func (c *Config) sampleAlert(now time.Time, to []string) (*report.Email, error) {
	return email.SampleAlert(now, c.Location, c.Currency, c.fromAddress(), to, mail.MessageIDDomain(c.Mail.From), c.sampleLink(now))
}

// sampleLink is the link of a sample alert at now: yesterday's published page folder under the
// public URL; "" without one.
func (c *Config) sampleLink(now time.Time) string {
	if c.PublicURL == "" {
		return ""
	}
	yesterday := report.PeriodContaining(report.Daily, now, c.Location).Previous()
	return strings.TrimRight(c.PublicURL, "/") + "/" + artifact.SitePeriod(yesterday).Dir() + "/"
}
