package mail

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/aispend/aispend/collect/testkit/mailtest"
	"github.com/aispend/aispend/report"
)

// Ensure STARTTLS is required for a non-loopback host: the configuration names a remote host
// while the connection goes to a real Mailpit that offers no STARTTLS. The same server is fine
// when the host is loopback (opportunistic STARTTLS).
func TestSTARTTLSRequiredForRemoteHost(t *testing.T) {
	srv := mailtest.Start(t)
	e := report.NewEmail()
	e.From, e.To, e.Subject, e.Text = "a@example.com", []string{"b@example.com"}, "hi", []byte("hi")

	remote, err := NewSMTP(Config{Host: "smtp.example.com", Port: srv.SMTPPort, TLS: TLSStartTLS, Username: "u", Password: "p"})
	if err != nil {
		t.Fatal(err)
	}
	remote.dial = func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, srv.Addr())
	}
	err = remote.Send(context.Background(), e)
	var sendErr *Error
	if !errors.As(err, &sendErr) || !sendErr.Permanent || !strings.Contains(err.Error(), "send STARTTLS command: server smtp.example.com does not offer STARTTLS") {
		t.Fatalf("want permanent STARTTLS-required error, got %v", err)
	}

	local, err := NewSMTP(Config{Host: srv.SMTPHost, Port: srv.SMTPPort, TLS: TLSStartTLS})
	if err != nil {
		t.Fatal(err)
	}
	if err := local.Send(context.Background(), e); err != nil {
		t.Fatalf("loopback without STARTTLS offered: %v", err)
	}
	if n := len(srv.WaitFor(t, 1, 30e9)); n != 1 {
		t.Fatalf("%d messages, want only the loopback one", n)
	}
}

func TestIsLoopback(t *testing.T) {
	for host, want := range map[string]bool{
		"localhost": true, "LocalHost.": true, "127.0.0.1": true, "127.9.9.9": true, "::1": true, "[::1]": true,
		"localhost.example.com": false, "10.0.0.1": false, "smtp.example.com": false, "": false, "0.0.0.0": false,
	} {
		if got := IsLoopback(host); got != want {
			t.Errorf("IsLoopback(%q) = %v, want %v", host, got, want)
		}
	}
}

// Ensure the rendered bytes (what SMTP DATA and the outbox carry) name no Bcc recipient, while
// the envelope includes it.
func TestPrepareBcc(t *testing.T) {
	e := report.NewEmail()
	e.From, e.To, e.Bcc, e.Subject, e.Text = "a@example.com", []string{"b@example.com"}, []string{"Boss <boss@example.com>"}, "hi", []byte("hi")
	m, err := prepare(e, "", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(m.raw), "boss@") {
		t.Errorf("Bcc leaked:\n%s", m.raw)
	}
	if strings.Join(m.rcpts, ",") != "b@example.com,boss@example.com" || m.from != "a@example.com" {
		t.Errorf("envelope from %q rcpts %v", m.from, m.rcpts)
	}
	if e.Headers.Get("Message-Id") != "" || e.Headers.Get("Date") != "" {
		t.Errorf("prepare modified the caller's message: %v", e.Headers)
	}
}

// Ensure a message built as a struct literal (nil Headers) is accepted and gets its headers.
func TestPrepareNilHeaders(t *testing.T) {
	e := &report.Email{From: "a@example.com", To: []string{"b@example.com"}, Subject: "s", Text: []byte("t")}
	m, err := prepare(e, "", time.Date(2025, 3, 1, 7, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range []string{"\r\nMessage-Id: <", "\r\nDate: Sat, 01 Mar 2025 07:00:00 +0000\r\n"} {
		if !strings.Contains("\r\n"+string(m.raw), h) {
			t.Errorf("missing %q in\n%s", h, m.raw)
		}
	}
}

// Ensure an address splits once, the same way for Message-IDs and everything else.
func TestDomain(t *testing.T) {
	for _, tc := range []struct{ addr, domain, msgID string }{
		{"ops@example.com", "example.com", "example.com"},
		{"Ops Team <ops@Example.COM>", "Example.COM", "Example.COM"},
		{"aispend <aispend@localhost>", "localhost", "localhost"},
		{"", "", "aispend.invalid"},
		{"not an address", "", "aispend.invalid"},
		{"a@exa_mple.com", "exa_mple.com", "aispend.invalid"}, // not a Message-ID domain
	} {
		d, ok := Domain(tc.addr)
		if d != tc.domain || ok != (tc.domain != "") {
			t.Errorf("Domain(%q) = %q, %v; want %q", tc.addr, d, ok, tc.domain)
		}
		if got := MessageIDDomain(tc.addr); got != tc.msgID {
			t.Errorf("MessageIDDomain(%q) = %q; want %q", tc.addr, got, tc.msgID)
		}
	}
}
