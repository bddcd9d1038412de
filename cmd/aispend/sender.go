package main

import (
	"github.com/aispend/aispend/report"
)

// newSender is the configured mail transport (see mailConfig): SMTP, or .eml files in the
// outbox when no SMTP host is set.
func newSender(cfg *Config, env *environment) (report.Sender, error) {
	s, err := cfg.newMailer()
	if err != nil {
		return nil, err
	}
	if cfg.Mail.Host == "" {
		env.log.Info("no SMTP host configured: emails are written as .eml files", "dir", cfg.mailConfig().OutboxDir)
	}
	return s, nil
}
