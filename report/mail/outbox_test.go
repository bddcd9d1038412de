package mail_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jordan-wright/email"

	"github.com/aispend/aispend/report/mail"
)

func emlFiles(t *testing.T, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "*.eml"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// Ensure the outbox writes a parseable .eml named by time and Message-ID, and that a resend
// with the same Message-ID replaces the file instead of adding one.
func TestOutbox(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "outbox")
	s, err := mail.New(mail.Config{OutboxDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	e := sample()
	e.Bcc = []string{"hidden@example.com"}
	e.Headers.Set("Message-ID", "<alert.7@aispend.example.com>")
	if err := s.Send(context.Background(), e); err != nil {
		t.Fatalf("Send: %v", err)
	}
	files := emlFiles(t, dir)
	if len(files) != 1 || !strings.HasSuffix(files[0], "-alert.7@aispend.example.com.eml") {
		t.Fatalf("files %v", files)
	}
	raw, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(raw), "hidden@example.com") {
		t.Errorf("Bcc written into the .eml")
	}
	got, err := email.NewEmailFromReader(strings.NewReader(string(raw)))
	if err != nil {
		t.Fatalf("parse .eml: %v", err)
	}
	if got.Subject != e.Subject || got.Headers.Get("Message-Id") != "<alert.7@aispend.example.com>" ||
		got.Headers.Get("Date") == "" || strings.TrimSpace(string(got.Text)) != strings.TrimSpace(string(e.Text)) ||
		string(got.HTML) != string(e.HTML) || len(got.To) != 1 || got.From != "\"Aispend\" <alerts@example.com>" {
		t.Errorf("parsed back: subject %q id %q from %q to %v text %q html %q", got.Subject,
			got.Headers.Get("Message-Id"), got.From, got.To, got.Text, got.HTML)
	}

	e2 := sample()
	e2.Subject = "second version"
	e2.Headers.Set("Message-ID", "<alert.7@aispend.example.com>")
	if err := s.Send(context.Background(), e2); err != nil {
		t.Fatalf("resend: %v", err)
	}
	files2 := emlFiles(t, dir)
	if len(files2) != 1 || files2[0] != files[0] {
		t.Fatalf("after resend: files %v, want the same single file %s", files2, files[0])
	}
	raw, _ = os.ReadFile(files2[0])
	if !strings.Contains(string(raw), "Subject: second version") {
		t.Errorf("resend did not overwrite:\n%s", raw)
	}

	// Another Message-ID is another file; one with unsafe characters gets a safe, distinct name.
	for i, id := range []string{"<alert.8@aispend.example.com>", "<../../etc/passwd@x>", "<..__..__etc_passwd@x>"} {
		e3 := sample()
		e3.Headers.Set("Message-ID", id)
		if err := s.Send(context.Background(), e3); err != nil {
			t.Fatalf("send %s: %v", id, err)
		}
		if n := len(emlFiles(t, dir)); n != 2+i {
			t.Fatalf("after %s: %d files, want %d", id, n, 2+i)
		}
	}
	entries, _ := os.ReadDir(dir)
	for _, en := range entries {
		if strings.HasPrefix(en.Name(), ".tmp-") || strings.Contains(en.Name(), "/") {
			t.Errorf("stray file %s", en.Name())
		}
	}
	// A message without Message-ID gets a generated one and its own file.
	if err := s.Send(context.Background(), sample()); err != nil {
		t.Fatal(err)
	}
	if n := len(emlFiles(t, dir)); n != 5 {
		t.Fatalf("%d files, want 5", n)
	}
}

// Ensure the outbox refuses what SMTP refuses.
func TestOutboxRefusesInjection(t *testing.T) {
	dir := t.TempDir()
	s, err := mail.NewOutbox(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	e := sample()
	e.To = []string{"a@example.com\r\nBcc: evil@example.net"}
	if err := s.Send(context.Background(), e); err == nil || !isPermanent(err) {
		t.Fatalf("want permanent error, got %v", err)
	}
	if n := len(emlFiles(t, dir)); n != 0 {
		t.Fatalf("%d files written", n)
	}
}
