package mail

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/smtp"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/aispend/aispend/report"
)

// SMTP sends each message over its own connection, bounded by Config.Timeout.
//
// TLS policy: TLS=tls speaks TLS from the first byte; TLS=starttls requires the server to offer
// STARTTLS, except on a loopback host where it is used when offered; TLS=none is refused for
// anything but a loopback host. AUTH PLAIN is only sent over TLS or to a loopback host.
type SMTP struct {
	cfg      Config
	loopback bool
	now      func() time.Time
	// dial opens the TCP connection; tests replace it to reach a loopback server while the
	// policy sees a non-loopback Config.Host.
	dial func(ctx context.Context, network, addr string) (net.Conn, error)
}

// NewSMTP checks cfg against the TLS policy and fills in defaults.
func NewSMTP(cfg Config) (*SMTP, error) {
	if cfg.Host == "" {
		return nil, errors.New("smtp host is empty")
	}
	if strings.ContainsAny(cfg.Host, " \r\n/") {
		return nil, fmt.Errorf("smtp host %q is invalid", cfg.Host)
	}
	if cfg.TLS == "" {
		cfg.TLS = TLSStartTLS
	}
	if err := checkPolicy(cfg); err != nil {
		return nil, err
	}
	if cfg.Port == 0 {
		cfg.Port = map[string]int{TLSStartTLS: 587, TLSImplicit: 465, TLSNone: 25}[cfg.TLS]
	}
	if cfg.Port < 1 || cfg.Port > 65535 {
		return nil, fmt.Errorf("smtp port %d is out of range", cfg.Port)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.HelloName == "" {
		cfg.HelloName = defaultHelloName()
	}
	if strings.ContainsAny(cfg.HelloName, " \r\n") {
		return nil, fmt.Errorf("smtp hello name %q is invalid", cfg.HelloName)
	}
	if cfg.From != "" {
		if _, err := parseAddress("from", cfg.From); err != nil {
			return nil, err
		}
	}
	if cfg.Username != "" && cfg.TLS == TLSNone && !IsLoopback(cfg.Host) {
		return nil, errors.New("smtp auth without TLS is only allowed to a loopback host")
	}
	var d net.Dialer
	return &SMTP{cfg: cfg, loopback: IsLoopback(cfg.Host), now: time.Now, dial: d.DialContext}, nil
}

// Send delivers e to its To, Cc and Bcc recipients. Bcc never appears in the message header.
// A nil error means the server accepted the message (the reply to the end of DATA); a failure
// after that point (QUIT) is ignored so that the caller never resends an accepted message.
// Failures are *Error, which says whether retrying can help.
func (s *SMTP) Send(ctx context.Context, e *report.Email) error {
	m, err := prepare(e, s.cfg.From, s.now())
	if err != nil {
		return permanent("prepare message", err)
	}
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	deadline, _ := ctx.Deadline()
	addr := net.JoinHostPort(strings.Trim(s.cfg.Host, "[]"), strconv.Itoa(s.cfg.Port))

	conn, err := s.dial(ctx, "tcp", addr)
	if err != nil {
		return &Error{Op: "connect to " + addr, Err: err}
	}
	defer conn.Close()
	// One deadline for the whole exchange; cancelling ctx cuts it short.
	if err := conn.SetDeadline(deadline); err != nil {
		return &Error{Op: "set deadline", Err: err}
	}
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	if err := s.exchange(conn, m); err != nil {
		switch {
		case parent.Err() != nil:
			err.Err = fmt.Errorf("%w: %w", parent.Err(), err.Err)
		case errors.Is(err, os.ErrDeadlineExceeded):
			err.Err = fmt.Errorf("timed out after %v: %w", s.cfg.Timeout, err.Err)
		}
		return err
	}
	return nil
}

func (s *SMTP) tlsConfig() *tls.Config {
	tc := &tls.Config{}
	if s.cfg.TLSConfig != nil {
		tc = s.cfg.TLSConfig.Clone()
	}
	if tc.ServerName == "" {
		tc.ServerName = strings.Trim(s.cfg.Host, "[]")
	}
	if tc.MinVersion == 0 {
		tc.MinVersion = tls.VersionTLS12
	}
	return tc
}

func (s *SMTP) exchange(conn net.Conn, m *message) *Error {
	host := strings.Trim(s.cfg.Host, "[]")
	if s.cfg.TLS == TLSImplicit {
		tc := tls.Client(conn, s.tlsConfig())
		if err := tc.Handshake(); err != nil {
			return tlsError("tls handshake", err)
		}
		conn = tc
	}
	c, err := smtp.NewClient(conn, host) // reads the greeting
	if err != nil {
		return smtpError("read greeting", err)
	}
	defer c.Close()
	if err := c.Hello(s.cfg.HelloName); err != nil {
		return smtpError("send EHLO", err)
	}
	if s.cfg.TLS == TLSStartTLS {
		if ok, _ := c.Extension("STARTTLS"); ok {
			if err := c.StartTLS(s.tlsConfig()); err != nil {
				return tlsError("send STARTTLS command", err)
			}
		} else if !s.loopback {
			return permanent("send STARTTLS command", fmt.Errorf("server %s does not offer STARTTLS, which is required for a non-loopback host", host))
		}
	}
	_, secure := c.TLSConnectionState()
	if s.cfg.Username != "" {
		if !secure && !s.loopback {
			return permanent("authenticate", errors.New("refusing to send credentials without TLS"))
		}
		ok, mechs := c.Extension("AUTH")
		if !ok {
			return permanent("authenticate", fmt.Errorf("server %s does not offer AUTH", host))
		}
		if !hasWord(mechs, "PLAIN") {
			return permanent("authenticate", fmt.Errorf("server %s does not offer AUTH PLAIN (offers %s)", host, mechs))
		}
		if err := c.Auth(plainAuth{user: s.cfg.Username, pass: s.cfg.Password}); err != nil {
			return smtpError("authenticate", err)
		}
	}
	if err := c.Mail(m.from); err != nil {
		return smtpError("send MAIL FROM", err)
	}
	for _, r := range m.rcpts {
		if err := c.Rcpt(r); err != nil {
			return smtpError("send RCPT TO "+r, err)
		}
	}
	w, err := c.Data()
	if err != nil {
		return smtpError("send DATA command", err)
	}
	if _, err := w.Write(m.raw); err != nil {
		return smtpError("write message", err)
	}
	if err := w.Close(); err != nil {
		return smtpError("finish DATA", err)
	}
	// Accepted. QUIT is a courtesy; its failure must not turn into a resend.
	_ = c.Quit()
	return nil
}

// tlsError marks certificate problems permanent: they fail the same way until someone fixes
// the server's certificate or the trusted roots.
func tlsError(op string, err error) *Error {
	e := smtpError(op, err)
	var cv *tls.CertificateVerificationError
	if errors.As(err, &cv) {
		e.Permanent = true
	}
	return e
}

func hasWord(list, w string) bool {
	for _, f := range strings.Fields(list) {
		if strings.EqualFold(f, w) {
			return true
		}
	}
	return false
}

// plainAuth is AUTH PLAIN without net/smtp's own checks (which only know "localhost",
// 127.0.0.1 and ::1 as loopback); Send applies the TLS-or-loopback policy before using it.
type plainAuth struct{ user, pass string }

func (a plainAuth) Start(*smtp.ServerInfo) (string, []byte, error) {
	return "PLAIN", []byte("\x00" + a.user + "\x00" + a.pass), nil
}

func (a plainAuth) Next(_ []byte, more bool) ([]byte, error) {
	if more {
		return nil, errors.New("unexpected server challenge")
	}
	return nil, nil
}
