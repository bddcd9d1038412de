package mail_test

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aispend/aispend/collect/testkit/mailtest"
	"github.com/aispend/aispend/report"
	"github.com/aispend/aispend/report/mail"
)

const wait = 30 * time.Second

func sample() *report.Email {
	e := report.NewEmail()
	e.From = "Aispend <alerts@example.com>"
	e.To = []string{"Ops Team <ops@example.com>"}
	e.Subject = "Budget prod-llm at 80% — WARNING"
	e.Text = []byte("Spent 80.00 of 100.00 USD.\n")
	e.HTML = []byte(`<p>Spent <b>80.00</b> of 100.00 USD &lt;ok&gt;</p>`)
	return e
}

func newSMTP(t *testing.T, cfg mail.Config) *mail.SMTP {
	t.Helper()
	s, err := mail.NewSMTP(cfg)
	if err != nil {
		t.Fatalf("NewSMTP: %v", err)
	}
	return s
}

// Ensure a message sent in plain SMTP to loopback arrives whole: subject, both bodies, the
// caller's Message-ID kept as given, a Date, and the Bcc recipient delivered but not named.
func TestSendPlainLoopback(t *testing.T) {
	srv := mailtest.Start(t)
	s, err := mail.New(mail.Config{Host: srv.SMTPHost, Port: srv.SMTPPort, TLS: "none"})
	if err != nil {
		t.Fatal(err)
	}
	e := sample()
	e.Bcc = []string{"secret-boss@example.com"}
	e.Cc = []string{"finance@example.com"}
	e.Headers.Set("Message-ID", "<alert.42@aispend.example.com>")
	if err := s.Send(context.Background(), e); err != nil {
		t.Fatalf("Send: %v", err)
	}
	list := srv.WaitFor(t, 1, wait)
	if len(list) != 1 {
		t.Fatalf("got %d messages, want 1", len(list))
	}
	m := srv.Message(t, list[0].ID)
	if m.Subject != e.Subject {
		t.Errorf("subject %q, want %q", m.Subject, e.Subject)
	}
	if m.MessageID != "alert.42@aispend.example.com" {
		t.Errorf("Message-ID %q", m.MessageID)
	}
	if strings.TrimSpace(m.Text) != "Spent 80.00 of 100.00 USD." {
		t.Errorf("text %q", m.Text)
	}
	if !strings.Contains(m.HTML, "<b>80.00</b> of 100.00 USD &lt;ok&gt;") {
		t.Errorf("html %q", m.HTML)
	}
	if len(m.Headers["Date"]) != 1 {
		t.Errorf("Date headers %v", m.Headers["Date"])
	}
	if len(m.Headers["Message-Id"])+len(m.Headers["Message-ID"]) != 1 {
		t.Errorf("want exactly one Message-ID header, headers %v", m.Headers)
	}
	if len(m.Bcc) != 1 || m.Bcc[0].Address != "secret-boss@example.com" {
		t.Errorf("bcc recipient not delivered: %+v", m.Bcc)
	}
	if len(m.Cc) != 1 || m.Cc[0].Address != "finance@example.com" {
		t.Errorf("cc %+v", m.Cc)
	}
	// Mailpit itself adds a Bcc header for envelope-only recipients, so the raw message it
	// stores cannot show a leak; TestOutbox and TestPrepareBcc check the bytes sent.
	if !bytes.Contains(m.Raw, []byte("Message-Id: <alert.42@aispend.example.com>")) {
		t.Errorf("Message-ID header not as given:\n%s", m.Raw)
	}
}

// Ensure a message without Message-ID gets one (and a From from the config).
func TestSendGeneratesMessageID(t *testing.T) {
	srv := mailtest.Start(t)
	s := newSMTP(t, mail.Config{Host: "localhost", Port: srv.SMTPPort, TLS: "none", From: "aispend@example.org"})
	e := sample()
	e.From = ""
	if err := s.Send(context.Background(), e); err != nil {
		t.Fatalf("Send: %v", err)
	}
	m := srv.Message(t, srv.WaitFor(t, 1, wait)[0].ID)
	if !strings.HasSuffix(m.MessageID, "@example.org") || len(m.MessageID) < 20 {
		t.Errorf("generated Message-ID %q", m.MessageID)
	}
	if m.From.Address != "aispend@example.org" {
		t.Errorf("from %+v", m.From)
	}
}

// Ensure STARTTLS is negotiated and the certificate verified against custom roots, with AUTH.
func TestSendSTARTTLSWithAuth(t *testing.T) {
	srv := mailtest.Start(t, mailtest.WithSTARTTLS(), mailtest.WithAuth("bot", "s3cret"))
	s := newSMTP(t, mail.Config{Host: srv.SMTPHost, Port: srv.SMTPPort, TLS: "starttls",
		Username: "bot", Password: "s3cret", TLSConfig: srv.TLSConfig(), HelloName: "aispend.test"})
	e := sample()
	e.Headers.Set("Message-ID", report.MessageID("", "aispend", "budget/2024-05-01/80/actual", mail.MessageIDDomain(e.From)))
	if err := s.Send(context.Background(), e); err != nil {
		t.Fatalf("Send: %v", err)
	}
	m := srv.Message(t, srv.WaitFor(t, 1, wait)[0].ID)
	if m.Subject != e.Subject || "<"+m.MessageID+">" != report.MessageID("", "aispend", "budget/2024-05-01/80/actual", mail.MessageIDDomain(e.From)) {
		t.Errorf("got subject %q id %q", m.Subject, m.MessageID)
	}

	t.Run("WrongPassword", func(t *testing.T) {
		bad := newSMTP(t, mail.Config{Host: srv.SMTPHost, Port: srv.SMTPPort, Username: "bot", Password: "nope", TLSConfig: srv.TLSConfig()})
		err := bad.Send(context.Background(), sample())
		if err == nil || !strings.Contains(err.Error(), "authenticate") || !isPermanent(err) {
			t.Fatalf("want permanent authenticate error, got %v", err)
		}
	})
	t.Run("UntrustedCertificate", func(t *testing.T) {
		bad := newSMTP(t, mail.Config{Host: srv.SMTPHost, Port: srv.SMTPPort, Username: "bot", Password: "s3cret"})
		err := bad.Send(context.Background(), sample())
		if err == nil || !strings.Contains(err.Error(), "send STARTTLS command") || !isPermanent(err) {
			t.Fatalf("want permanent STARTTLS certificate error, got %v", err)
		}
	})
}

// Ensure implicit TLS (port 465 style) works.
func TestSendImplicitTLS(t *testing.T) {
	srv := mailtest.Start(t, mailtest.WithImplicitTLS())
	s := newSMTP(t, mail.Config{Host: srv.SMTPHost, Port: srv.SMTPPort, TLS: "tls", TLSConfig: srv.TLSConfig()})
	if err := s.Send(context.Background(), sample()); err != nil {
		t.Fatalf("Send: %v", err)
	}
	if got := srv.WaitFor(t, 1, wait)[0].Subject; got != sample().Subject {
		t.Errorf("subject %q", got)
	}
}

// Ensure a 5xx reply is a permanent error carrying its code.
func TestSendRejectedRecipientIsPermanent(t *testing.T) {
	srv := mailtest.Start(t, mailtest.WithAllowedRecipients(`@allowed\.example$`))
	s := newSMTP(t, mail.Config{Host: srv.SMTPHost, Port: srv.SMTPPort, TLS: "none"})
	err := s.Send(context.Background(), sample())
	if err == nil || !isPermanent(err) || replyCode(err) != 550 || !strings.Contains(err.Error(), "send RCPT TO ops@example.com") {
		t.Fatalf("want permanent 550 on RCPT TO, got %v (code %d)", err, replyCode(err))
	}
}

// Ensure a closed port is a transient error.
func TestSendConnectionRefusedIsTransient(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	s := newSMTP(t, mail.Config{Host: "127.0.0.1", Port: port, TLS: "none", Timeout: 5 * time.Second})
	err = s.Send(context.Background(), sample())
	if err == nil || isPermanent(err) || !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("want transient connection refused, got %v", err)
	}
}

// Ensure a server that accepts the connection and never speaks cannot hold Send past Timeout.
func TestSendSilentServerTimesOut(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	held := make(chan net.Conn, 4)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			held <- c // keep it open, say nothing
		}
	}()
	t.Cleanup(func() {
		for len(held) > 0 {
			(<-held).Close()
		}
	})
	port := l.Addr().(*net.TCPAddr).Port
	for _, mode := range []string{"none", "tls"} {
		s := newSMTP(t, mail.Config{Host: "127.0.0.1", Port: port, TLS: mode, Timeout: 300 * time.Millisecond})
		err := s.Send(context.Background(), sample())
		t.Logf("tls=%s: %v", mode, err)
		if err == nil || isPermanent(err) || !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("tls=%s: want transient deadline error, got %v", mode, err)
		}
	}
}

// Ensure a cancelled context stops the exchange and says so.
func TestSendContextCancelled(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		if c, err := l.Accept(); err == nil {
			accepted <- c // hold it open, say nothing
		}
	}()
	t.Cleanup(func() {
		select {
		case c := <-accepted:
			c.Close()
		default:
		}
	})
	s := newSMTP(t, mail.Config{Host: "127.0.0.1", Port: l.Addr().(*net.TCPAddr).Port, TLS: "none", Timeout: time.Minute})
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(200*time.Millisecond, cancel)
	err = s.Send(ctx, sample())
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("want context.Canceled, got %v", err)
	}
}

// Ensure the TLS policy: plain SMTP and TLS-less auth only for loopback hosts.
func TestNewSMTPPolicy(t *testing.T) {
	for _, tc := range []struct {
		cfg  mail.Config
		want string // error substring; "" = accepted
	}{
		{mail.Config{Host: "smtp.example.com", TLS: "none"}, "only allowed to a loopback host"},
		{mail.Config{Host: "10.0.0.5", TLS: "none"}, "only allowed to a loopback host"},
		{mail.Config{Host: "localhost.example.com", TLS: "none"}, "only allowed to a loopback host"},
		{mail.Config{Host: "smtp.example.com", TLS: "ssl"}, "want starttls, tls or none"},
		{mail.Config{Host: "smtp.example.com", TLS: "starttls", Port: 70000}, "out of range"},
		{mail.Config{Host: "smtp.example.com\r\nRCPT TO:<x@y>"}, "invalid"},
		{mail.Config{Host: "smtp.example.com", From: "a@b\r\nBcc: c@d"}, "line break"},
		{mail.Config{Host: "127.0.0.1", TLS: "none"}, ""},
		{mail.Config{Host: "::1", TLS: "none", Username: "u"}, ""},
		{mail.Config{Host: "LOCALHOST", TLS: "none"}, ""},
		{mail.Config{Host: "smtp.example.com"}, ""},
		{mail.Config{Host: "smtp.example.com", TLS: "tls"}, ""},
	} {
		_, err := mail.NewSMTP(tc.cfg)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%+v: unexpected error %v", tc.cfg, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%+v: want error containing %q, got %v", tc.cfg, tc.want, err)
		}
	}
}

// Ensure New picks the outbox without a host and SMTP with one.
func TestNewPicksTransport(t *testing.T) {
	s, err := mail.New(mail.Config{OutboxDir: t.TempDir()})
	if _, ok := s.(*mail.Outbox); err != nil || !ok {
		t.Errorf("no host: got %T, %v", s, err)
	}
	s, err = mail.New(mail.Config{Host: "smtp.example.com"})
	if _, ok := s.(*mail.SMTP); err != nil || !ok {
		t.Errorf("host: got %T, %v", s, err)
	}
	if _, err := mail.New(mail.Config{}); err == nil {
		t.Error("no host and no outbox dir: want error")
	}
}

// Ensure header injection through addresses and headers is refused before any connection, and
// line breaks in the subject cannot add a header or a recipient.
func TestHeaderInjection(t *testing.T) {
	srv := mailtest.Start(t)
	s := newSMTP(t, mail.Config{Host: srv.SMTPHost, Port: srv.SMTPPort, TLS: "none"})
	for name, mutate := range map[string]func(e *report.Email){
		"to":          func(e *report.Email) { e.To = []string{"ops@example.com\r\nBcc: evil@example.net"} },
		"to list":     func(e *report.Email) { e.To = []string{"ops@example.com, evil@example.net"} },
		"cc":          func(e *report.Email) { e.Cc = []string{"x@example.com\nX-Evil: 1"} },
		"from":        func(e *report.Email) { e.From = "Aispend <a@example.com>\r\nBcc: evil@example.net" },
		"message id":  func(e *report.Email) { e.Headers.Set("Message-ID", "<a@b>\r\nBcc: evil@example.net") },
		"bcc header":  func(e *report.Email) { e.Headers.Set("Bcc", "evil@example.net") },
		"header name": func(e *report.Email) { e.Headers["X-Evil: 1\r\nBcc"] = []string{"evil@example.net"} },
		"bad id":      func(e *report.Email) { e.Headers.Set("Message-ID", "no at sign") },
		"two ids": func(e *report.Email) {
			e.Headers["Message-ID"] = []string{"<a@b>"}
			e.Headers["Message-Id"] = []string{"<c@d>"}
		},
		"no rcpt": func(e *report.Email) { e.To = nil },
	} {
		e := sample()
		mutate(e)
		err := s.Send(context.Background(), e)
		if err == nil || !isPermanent(err) || !strings.HasPrefix(err.Error(), "prepare message: ") {
			t.Errorf("%s: want permanent prepare error, got %v", name, err)
		}
	}

	e := sample()
	e.Subject = "Budget at 95%\r\nBcc: evil@example.net\r\n\r\nbody"
	if err := s.Send(context.Background(), e); err != nil {
		t.Fatalf("Send with CR/LF in subject: %v", err)
	}
	list := srv.WaitFor(t, 1, wait)
	if len(list) != 1 {
		t.Fatalf("%d messages arrived, want 1 (the refused ones must not be sent)", len(list))
	}
	m := srv.Message(t, list[0].ID)
	if m.Subject != "Budget at 95% Bcc: evil@example.net body" {
		t.Errorf("subject %q", m.Subject)
	}
	if len(m.Bcc) != 0 || len(m.Headers["Bcc"]) != 0 {
		t.Errorf("subject injected a Bcc: %+v %v", m.Bcc, m.Headers["Bcc"])
	}
}

// Ensure a stopped server gives a transient error and the same transport works once it is back.
func TestSendServerDownThenUp(t *testing.T) {
	srv := mailtest.Start(t)
	s := newSMTP(t, mail.Config{Host: srv.SMTPHost, Port: srv.SMTPPort, TLS: "none", Timeout: 5 * time.Second})
	srv.Stop()
	err := s.Send(context.Background(), sample())
	if err == nil || isPermanent(err) {
		t.Fatalf("server down: want transient error, got %v", err)
	}
	t.Logf("down: %v", err)
	srv.Restart(t)
	if err := s.Send(context.Background(), sample()); err != nil {
		t.Fatalf("server up: %v", err)
	}
	if n := len(srv.WaitFor(t, 1, wait)); n != 1 {
		t.Fatalf("%d messages, want 1", n)
	}
}

// isPermanent reports whether err is a Send failure (*mail.Error) that retrying cannot fix.
func isPermanent(err error) bool {
	var e *mail.Error
	return errors.As(err, &e) && e.Permanent
}

// replyCode is the SMTP reply code behind a Send failure, or 0.
func replyCode(err error) int {
	var e *mail.Error
	if errors.As(err, &e) {
		return e.Code
	}
	return 0
}
