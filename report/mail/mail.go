// Package mail sends messages built with github.com/jordan-wright/email: through SMTP with
// deadlines and a TLS policy of its own (the library's Send functions have neither), or, when
// no SMTP host is configured, into an outbox directory of .eml files.
package mail

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"github.com/jordan-wright/email"
)

// Sender delivers one message. Implementations are safe for concurrent use.
type Sender interface {
	Send(ctx context.Context, e *email.Email) error
}

// TLS modes.
const (
	TLSStartTLS = "starttls" // plain connect, then STARTTLS (required unless the host is loopback)
	TLSImplicit = "tls"      // TLS from the first byte (SMTPS, usually port 465)
	TLSNone     = "none"     // no TLS at all: only allowed for loopback hosts
)

// DefaultTimeout bounds one Send: connecting plus the whole SMTP exchange.
const DefaultTimeout = 30 * time.Second

// Config configures the transport. Host empty means the outbox.
type Config struct {
	Host     string
	Port     int // default 587 (starttls), 465 (tls), 25 (none)
	Username string
	Password string
	From     string // used when a message has no From
	TLS      string // starttls (default) | tls | none
	// Timeout bounds connect plus the whole exchange of one Send; default 30s.
	Timeout time.Duration
	// TLSConfig is optional (tests pass custom RootCAs); ServerName defaults to Host.
	TLSConfig *tls.Config
	// HelloName is the EHLO name; default the machine's host name.
	HelloName string
	// OutboxDir receives .eml files when Host is empty.
	OutboxDir string
}

// New returns an SMTP transport when cfg.Host is set, else an outbox in cfg.OutboxDir.
func New(cfg Config) (Sender, error) {
	if cfg.Host == "" {
		return NewOutbox(cfg.OutboxDir, cfg.From)
	}
	return NewSMTP(cfg)
}

// isLoopback reports whether host is loopback by its spelling alone: "localhost" or a loopback
// IP literal. Names are not resolved, so DNS cannot talk the policy out of requiring TLS.
func isLoopback(host string) bool {
	h := strings.TrimSuffix(strings.ToLower(host), ".")
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(strings.Trim(h, "[]"))
	return ip != nil && ip.IsLoopback()
}

// checkPolicy applies the TLS policy to a configuration before any connection is made.
func checkPolicy(cfg Config) error {
	switch cfg.TLS {
	case TLSStartTLS, TLSImplicit:
	case TLSNone:
		if !isLoopback(cfg.Host) {
			return fmt.Errorf("tls %q refused for %s: plain SMTP is only allowed to a loopback host (use starttls or tls)", cfg.TLS, cfg.Host)
		}
	default:
		return fmt.Errorf("tls %q: want starttls, tls or none", cfg.TLS)
	}
	return nil
}

func defaultHelloName() string {
	h, err := os.Hostname()
	if err != nil || h == "" || strings.ContainsAny(h, " \r\n") {
		return "localhost"
	}
	return h
}
