// Package mailtest runs a real Mailpit SMTP server for tests, on free loopback ports with its
// own database, and reads what arrived through Mailpit's HTTP API.
//
//	srv := mailtest.Start(t)                       // plain SMTP on 127.0.0.1
//	srv := mailtest.Start(t, mailtest.WithSTARTTLS()) // STARTTLS required; trust srv.RootCAs
//
// To simulate the SMTP server being down, call srv.Stop() and later srv.Restart(t): the ports
// and the stored messages stay the same. Pointing a sender at a closed port also works.
package mailtest

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aispend/aispend/collect/testkit"
)

// Version is the Mailpit release the harness is written and tested against.
const Version = "v1.33.1"

const notFound = "mailpit not found: run `make tools` (go install github.com/axllent/mailpit@" + Version + ")"

// Server is one running Mailpit.
type Server struct {
	SMTPHost string // always 127.0.0.1
	SMTPPort int
	APIURL   string // e.g. http://127.0.0.1:12345 (no trailing slash)
	// RootCAs trusts the server's certificate (set with WithSTARTTLS or WithImplicitTLS).
	RootCAs *x509.CertPool

	bin  string
	dir  string
	args []string
	http *http.Client

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
}

// Option configures Start.
type Option func(*options)

type options struct {
	tls, implicitTLS bool
	user, pass       string
	allowedRcpt      string
}

// WithSTARTTLS serves a self-signed certificate for 127.0.0.1 and localhost and requires
// clients to use STARTTLS. Trust it through Server.RootCAs.
func WithSTARTTLS() Option { return func(o *options) { o.tls = true } }

// WithImplicitTLS serves TLS from the first byte (like port 465), with the same certificate.
func WithImplicitTLS() Option { return func(o *options) { o.tls, o.implicitTLS = true, true } }

// WithAuth requires SMTP AUTH with these credentials. Without a TLS option Mailpit is told to
// allow authentication over plain text (loopback only, for tests).
func WithAuth(user, pass string) Option { return func(o *options) { o.user, o.pass = user, pass } }

// WithAllowedRecipients makes Mailpit reject (550) RCPT TO addresses not matching the regular
// expression: a real permanent failure.
func WithAllowedRecipients(re string) Option { return func(o *options) { o.allowedRcpt = re } }

// Start runs Mailpit and stops it when the test ends. A missing mailpit binary fails the test.
func Start(t testing.TB, opts ...Option) *Server {
	t.Helper()
	var o options
	for _, f := range opts {
		f(&o)
	}
	bin, err := findMailpit()
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{SMTPHost: "127.0.0.1", bin: bin, dir: t.TempDir(), http: &http.Client{Timeout: 10 * time.Second}}
	var extra []string
	if o.tls {
		cert, key, pool, err := selfSigned()
		if err != nil {
			t.Fatalf("mailtest: make certificate: %v", err)
		}
		certFile, keyFile := filepath.Join(s.dir, "cert.pem"), filepath.Join(s.dir, "key.pem")
		if err := os.WriteFile(certFile, cert, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(keyFile, key, 0o600); err != nil {
			t.Fatal(err)
		}
		s.RootCAs = pool
		extra = append(extra, "--smtp-tls-cert", certFile, "--smtp-tls-key", keyFile)
		if o.implicitTLS {
			extra = append(extra, "--smtp-require-tls")
		} else {
			extra = append(extra, "--smtp-require-starttls")
		}
	}
	if o.user != "" {
		f := filepath.Join(s.dir, "smtp-auth")
		if err := os.WriteFile(f, []byte(o.user+":"+o.pass+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		extra = append(extra, "--smtp-auth-file", f)
		if !o.tls {
			extra = append(extra, "--smtp-auth-allow-insecure")
		}
	}
	if o.allowedRcpt != "" {
		extra = append(extra, "--smtp-allowed-recipients", o.allowedRcpt)
	}
	t.Cleanup(s.Stop)

	// Free ports are found by listening on :0 and closing; another process could take one in
	// between, so a failed start is retried on new ports.
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		smtpPort, err1 := testkit.FreePort()
		httpPort, err2 := testkit.FreePort()
		if err := errors.Join(err1, err2); err != nil {
			t.Fatalf("mailtest: find free ports: %v", err)
		}
		s.SMTPPort = smtpPort
		s.APIURL = "http://127.0.0.1:" + strconv.Itoa(httpPort)
		s.args = append([]string{
			"--smtp", "127.0.0.1:" + strconv.Itoa(smtpPort),
			"--listen", "127.0.0.1:" + strconv.Itoa(httpPort),
			"--database", filepath.Join(s.dir, "mailpit.db"),
			"--disable-version-check",
			"--smtp-disable-rdns",
			"--max", "0",
		}, extra...)
		if lastErr = s.start(); lastErr == nil {
			return s
		}
	}
	t.Fatalf("mailtest: start mailpit: %v", lastErr)
	return nil
}

// Addr is host:port of the SMTP listener.
func (s *Server) Addr() string { return net.JoinHostPort(s.SMTPHost, strconv.Itoa(s.SMTPPort)) }

// TLSConfig trusts the test certificate (nil RootCAs without a TLS option).
func (s *Server) TLSConfig() *tls.Config { return &tls.Config{RootCAs: s.RootCAs} }

func (s *Server) start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	logPath := filepath.Join(s.dir, "mailpit.log")
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	cmd := exec.Command(s.bin, s.args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} // never outlive the test binary
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("run %s: %w", s.bin, err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); logf.Close(); close(done) }()
	s.cmd, s.done = cmd, done

	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case <-done:
			s.cmd = nil
			return fmt.Errorf("mailpit exited at start: %s", tail(logPath))
		default:
		}
		if s.ready() {
			return nil
		}
		if time.Now().After(deadline) {
			s.stopLocked()
			return fmt.Errorf("mailpit not ready after 30s: %s", tail(logPath))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (s *Server) ready() bool {
	resp, err := s.http.Get(s.APIURL + "/readyz")
	if err != nil {
		return false
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return false
	}
	c, err := net.DialTimeout("tcp", s.Addr(), time.Second)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// Stop ends Mailpit (SMTP and API go away); it is safe to call more than once.
func (s *Server) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stopLocked()
}

func (s *Server) stopLocked() {
	if s.cmd == nil {
		return
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
		s.cmd.Process.Kill()
		<-s.done
	}
	s.cmd = nil
}

// Restart starts a stopped server again on the same ports with the same database.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	s.mu.Lock()
	running := s.cmd != nil
	s.mu.Unlock()
	if running {
		t.Fatal("mailtest: Restart of a running server (call Stop first)")
	}
	if err := s.start(); err != nil {
		t.Fatalf("mailtest: restart mailpit: %v", err)
	}
}

// Address is a mailbox as Mailpit reports it.
type Address struct {
	Name    string
	Address string
}

// Summary is one received message in the list.
type Summary struct {
	ID        string // Mailpit's database ID, for Message
	MessageID string // the Message-ID header, as Mailpit reports it (without angle brackets)
	Subject   string
	From      Address
	To        []Address
	Cc        []Address
	Bcc       []Address // envelope recipients not in To or Cc
}

// Detail is one received message in full.
type Detail struct {
	Summary
	Text    string
	HTML    string
	Headers map[string][]string
	Raw     []byte // the message as received
}

// Messages lists what arrived, oldest first.
func (s *Server) Messages(t testing.TB) []Summary {
	t.Helper()
	list, err := s.messages()
	if err != nil {
		t.Fatalf("mailtest: list messages: %v", err)
	}
	return list
}

func (s *Server) messages() ([]Summary, error) {
	var out struct {
		Messages []Summary `json:"messages"`
	}
	if err := s.getJSON("/api/v1/messages?limit=10000", &out); err != nil {
		return nil, err
	}
	// Mailpit lists newest first.
	for i, j := 0, len(out.Messages)-1; i < j; i, j = i+1, j-1 {
		out.Messages[i], out.Messages[j] = out.Messages[j], out.Messages[i]
	}
	return out.Messages, nil
}

// Message returns one message with its bodies, headers and raw bytes.
func (s *Server) Message(t testing.TB, id string) Detail {
	t.Helper()
	var d Detail
	p := "/api/v1/message/" + url.PathEscape(id)
	if err := s.getJSON(p, &d); err != nil {
		t.Fatalf("mailtest: get message %s: %v", id, err)
	}
	if err := s.getJSON(p+"/headers", &d.Headers); err != nil {
		t.Fatalf("mailtest: get headers of %s: %v", id, err)
	}
	raw, err := s.get(p + "/raw")
	if err != nil {
		t.Fatalf("mailtest: get raw %s: %v", id, err)
	}
	d.Raw = raw
	return d
}

// WaitFor polls until at least n messages have arrived and returns them (oldest first); it
// fails the test when timeout passes first.
func (s *Server) WaitFor(t testing.TB, n int, timeout time.Duration) []Summary {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		list, err := s.messages()
		if err == nil && len(list) >= n {
			return list
		}
		if time.Now().After(deadline) {
			t.Fatalf("mailtest: want %d messages within %v, have %d (last error: %v)", n, timeout, len(list), err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// DeleteAll removes every stored message.
func (s *Server) DeleteAll(t testing.TB) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodDelete, s.APIURL+"/api/v1/messages", strings.NewReader("{}"))
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.http.Do(req)
	if err != nil {
		t.Fatalf("mailtest: delete messages: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("mailtest: delete messages: %s: %s", resp.Status, b)
	}
}

func (s *Server) get(path string) ([]byte, error) {
	resp, err := s.http.Get(s.APIURL + path)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s: %s", path, resp.Status, bytes.TrimSpace(b))
	}
	return b, nil
}

func (s *Server) getJSON(path string, v any) error {
	b, err := s.get(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("decode %s: %w", path, err)
	}
	return nil
}

// findMailpit looks on PATH, then in <repo>/bin/tools (the repo is where go.mod is).
func findMailpit() (string, error) {
	if p, err := exec.LookPath("mailpit"); err == nil {
		return p, nil
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", errors.New(notFound)
	}
	return findInRepo(dir)
}

// findInRepo looks for bin/tools/mailpit in the nearest directory above dir holding go.mod.
func findInRepo(dir string) (string, error) {
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			p := filepath.Join(dir, "bin", "tools", "mailpit")
			if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
				return p, nil
			}
			return "", errors.New(notFound)
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New(notFound)
		}
		dir = parent
	}
}

// selfSigned makes a one-day certificate for 127.0.0.1, ::1 and localhost.
func selfSigned() (certPEM, keyPEM []byte, pool *x509.CertPool, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, nil, err
	}
	serial, err := rand.Int(rand.Reader, big.NewInt(1<<62))
	if err != nil {
		return nil, nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "mailtest"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, nil, err
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, nil, nil, err
	}
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), pool, nil
}

func tail(path string) string {
	b, _ := os.ReadFile(path)
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return strings.TrimSpace(string(b))
}
