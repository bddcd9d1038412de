package main

import (
	"path/filepath"
	"strings"

	"github.com/aispend/aispend/report"
	"github.com/aispend/aispend/report/mail"
)

// newSender is the configured mail transport: SMTP, or .eml files under <output>/outbox when no
// SMTP host is set (out/outbox when publishing to S3).
func newSender(cfg *Config, env *environment) (report.Sender, error) {
	outbox := filepath.Join("out", "outbox")
	if cfg.Output != "" && !strings.HasPrefix(cfg.Output, "s3://") {
		outbox = filepath.Join(cfg.Output, "outbox")
	}
	s, err := mail.New(mail.Config{
		Host: cfg.Mail.Host, Port: cfg.Mail.Port, Username: cfg.Mail.Username, Password: cfg.Mail.Password,
		From: cfg.fromAddress(), TLS: cfg.Mail.TLS, OutboxDir: outbox,
	})
	if err != nil {
		return nil, err
	}
	if cfg.Mail.Host == "" {
		env.log.Info("no SMTP host configured: emails are written as .eml files", "dir", outbox)
	}
	return s, nil
}
