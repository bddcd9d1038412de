// Package mail delivers the emails of runs (report.Email), as report/email composed them: it
// checks their addresses and headers, writes them as MIME with github.com/jordan-wright/email
// (the only package that uses the library), and sends them through SMTP with deadlines and a TLS
// policy of its own (the library's Send functions have neither) or, when no SMTP host is
// configured, into an outbox directory of .eml files. SMTP and Outbox are the batch job's
// report.Sender. It composes nothing: what an email says is report/email's.
package mail

import (
	"crypto/tls"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"github.com/aispend/aispend/report"
)

// Sender delivers emails (report.Sender). Implementations are safe for concurrent use.
type Sender interface {
	report.Sender
}

var (
	_ Sender = (*SMTP)(nil)
	_ Sender = (*Outbox)(nil)
)

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

// IsLoopback reports whether host is loopback by its spelling alone: "localhost" or a loopback
// IP literal (brackets allowed). Names are not resolved, so DNS cannot talk a policy out of
// requiring TLS. It is the one loopback check of aispend.
func IsLoopback(host string) bool {
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
		if !IsLoopback(cfg.Host) {
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
