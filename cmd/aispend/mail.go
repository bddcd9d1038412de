package main

import (
	"path/filepath"
	"strings"

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
