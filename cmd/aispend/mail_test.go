package main

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/aispend/aispend/collect/testkit/mailtest"
	"github.com/aispend/aispend/report"
	"github.com/aispend/aispend/report/mail"
)

// Ensure the environment reaches the transport: AISPEND_SMTP_* select SMTP through a real
// Mailpit, and without a host the outbox sits under the output directory.
func TestMailConfigFromEnvironment(t *testing.T) {
	srv := mailtest.Start(t)
	file := filepath.Join(t.TempDir(), "aispend.yaml")
	if err := os.WriteFile(file, []byte("currency: USD\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{
		"AISPEND_SMTP_HOST": srv.SMTPHost,
		"AISPEND_SMTP_PORT": strconv.Itoa(srv.SMTPPort),
		"AISPEND_SMTP_FROM": "Aispend <aispend@example.com>",
		"AISPEND_SMTP_TLS":  "none",
	}
	cfg, err := loadConfig(file, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	m, err := cfg.newMailer()
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := m.(*mail.SMTP); !ok {
		t.Fatalf("transport %T, want *mail.SMTP", m)
	}
	e := report.NewEmail()
	e.To, e.Subject, e.Text = []string{"ops@example.com"}, "config check", []byte("ok")
	if err := m.Send(context.Background(), e); err != nil {
		t.Fatalf("send: %v", err)
	}
	got := srv.WaitFor(t, 1, 30*time.Second)[0]
	if got.From.Address != "aispend@example.com" || got.Subject != "config check" {
		t.Errorf("received %+v", got)
	}

	out := t.TempDir()
	cfg = &Config{Output: out, Mail: MailConfig{Port: 587, TLS: "starttls"}}
	if mc := cfg.mailConfig(); mc.OutboxDir != filepath.Join(out, "outbox") || mc.Host != "" {
		t.Errorf("outbox config %+v", mc)
	}
	cfg.Output = "s3://bucket/prefix"
	if mc := cfg.mailConfig(); mc.OutboxDir != filepath.Join("out", "outbox") {
		t.Errorf("s3 output: outbox %q", mc.OutboxDir)
	}
}
