package main

import (
	"bufio"
	bin "encoding/binary"
	"io"
	"maps"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aispend/aispend/collect/testkit/mailtest"
	"github.com/aispend/aispend/collect/testkit/s3test"
)

// Known secret values, with characters that URL-escaping changes.
const (
	secretDBPassword     = "pg-S3cret/pw@1#"
	secretReportPassword = "rep-S3cret:pw?2"
	secretSMTPPassword   = "smtp-S3cret pw+3"
	secretS3Key          = "s3-S3cret/key+4"
	secretTokenA         = "ingest-tok-S3cret-A5"
	secretTokenB         = "ingest-tok-S3cret-B6"
	secretReadToken      = "read-tok-S3cret-R8"
	secretAdminToken     = "admin-tok-S3cret-D9"
	// A password pasted into a URL without escaping: everything after the '@' looks like the host.
	secretRawPassword = "raw-S3cret@tail-S3cret-7"
)

var allSecrets = []string{secretDBPassword, secretReportPassword, secretSMTPPassword, secretS3Key, secretTokenA, secretTokenB, secretReadToken, secretAdminToken, secretRawPassword}

// secretForms are the ways a value could be printed: as is, URL-escaped, and its parts of six
// characters or more between the characters that delimit URLs (a half-masked password).
func secretForms(s string) []string {
	forms := []string{s, url.QueryEscape(s), url.PathEscape(s), url.UserPassword("u", s).String()[2:]}
	for _, part := range strings.FieldsFunc(s, func(r rune) bool { return strings.ContainsRune("@/:?# +", r) }) {
		if len(part) >= 6 {
			forms = append(forms, part)
		}
	}
	var out []string
	for _, f := range forms {
		if !strings.Contains(strings.Join(out, "\x00"), f) {
			out = append(out, f)
		}
	}
	return out
}

// checkNoSecrets fails the test for every line of output that holds a secret, in any form.
func checkNoSecrets(t *testing.T, what, output string) {
	t.Helper()
	for i, line := range strings.Split(output, "\n") {
		for _, s := range allSecrets {
			for _, f := range secretForms(s) {
				if strings.Contains(line, f) {
					t.Errorf("%s: line %d leaks the secret %q (as %q): %s", what, i+1, s, f, line)
				}
			}
		}
	}
}

// refusingPostgres is a PostgreSQL server that asks for a password and refuses it, as a server
// does for a wrong password (SQLSTATE 28P01). It returns its host:port.
func refusingPostgres(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { l.Close(); wg.Wait() })
	readMsg := func(r *bufio.Reader) (uint32, []byte, error) { // a startup-phase message: length, code
		var hdr [8]byte
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			return 0, nil, err
		}
		n := bin.BigEndian.Uint32(hdr[:4])
		if n < 8 || n > 1<<16 {
			return 0, nil, io.ErrUnexpectedEOF
		}
		body := make([]byte, n-8)
		_, err := io.ReadFull(r, body)
		return bin.BigEndian.Uint32(hdr[4:]), body, err
	}
	serve := func(c net.Conn) {
		defer wg.Done()
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		r := bufio.NewReader(c)
		code, _, err := readMsg(r)
		for err == nil && (code == 80877103 || code == 80877104) { // SSLRequest, GSSENCRequest
			c.Write([]byte("N"))
			code, _, err = readMsg(r)
		}
		if err != nil {
			return
		}
		c.Write([]byte{'R', 0, 0, 0, 8, 0, 0, 0, 3}) // AuthenticationCleartextPassword
		var hdr [5]byte
		if _, err := io.ReadFull(r, hdr[:]); err != nil || hdr[0] != 'p' {
			return
		}
		io.CopyN(io.Discard, r, int64(bin.BigEndian.Uint32(hdr[1:]))-4)
		var fields []byte
		for _, f := range []string{"SFATAL", "VFATAL", "C28P01", `Mpassword authentication failed for user "aispend"`} {
			fields = append(append(fields, f...), 0)
		}
		fields = append(fields, 0)
		msg := append([]byte{'E'}, bin.BigEndian.AppendUint32(nil, uint32(len(fields)+4))...)
		c.Write(append(msg, fields...))
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go serve(c)
		}
	}()
	return l.Addr().String()
}

// withPassword is the URL u with the password set.
func withPassword(t *testing.T, u, password string) string {
	t.Helper()
	p, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	p.User = url.UserPassword(p.User.Username(), password)
	return p.String()
}

func pgURL(hostPort, password string) string {
	return "postgres://" + url.UserPassword("aispend", password).String() + "@" + hostPort + "/aispend?sslmode=prefer"
}

// runFails runs the real binary and checks that it exits non-zero, prints want (why it failed)
// and no secret.
func runFails(t *testing.T, env map[string]string, want string, args ...string) string {
	t.Helper()
	r := startBinary(t, env, args...)
	err := r.wait(t, 45*time.Second)
	out := r.stdout.String() + r.stderr.String()
	what := strings.Join(args, " ")
	if err == nil {
		t.Errorf("%s succeeded; want a failure\n%s", what, out)
	}
	if !strings.Contains(out, want) {
		t.Errorf("%s: output does not say %q:\n%s", what, want, out)
	}
	checkNoSecrets(t, what, out)
	return out
}

// Ensures no secret (database passwords, SMTP password, S3 secret key, ingest, read and admin tokens) appears,
// as is or URL-escaped, in anything `serve`, `run`, `migrate`, `schedule` and `alert test` print
// when the database refuses the password, its host does not exist, its URL does not parse, SMTP
// refuses the login or is not there, and S3 refuses the secret; nor in what the collector logs
// for requests with wrong, missing and right tokens.
func TestSecretsNeverPrinted(t *testing.T) {
	mail := mailtest.Start(t, mailtest.WithAuth("aispend", "the-right-smtp-password"))
	s3 := s3test.Start(t)
	base, dbURL := batchEnv(t, mail.SMTPPort)
	// The test cluster trusts local connections, so a URL with a password works: the secret is
	// in the environment of the runs that get past the database too.
	base["DATABASE_URL"] = withPassword(t, dbURL, secretDBPassword)
	base["AISPEND_INGEST_TOKENS"] = secretTokenA + "," + secretTokenB
	base["AISPEND_READ_TOKENS"] = secretReadToken
	base["AISPEND_ADMIN_TOKENS"] = secretAdminToken
	base["AISPEND_SMTP_USERNAME"] = "aispend"
	base["AISPEND_SMTP_PASSWORD"] = secretSMTPPassword
	base["AISPEND_OUTPUT"] = "s3://" + s3.Bucket + "/site"
	base["AISPEND_S3_ENDPOINT"] = s3.Endpoint
	base["AISPEND_S3_ACCESS_KEY"] = s3.AccessKey
	base["AISPEND_S3_SECRET_KEY"] = secretS3Key
	base["AISPEND_S3_PATH_STYLE"] = "true"
	base["AISPEND_LISTEN"] = freeAddr(t)
	refusing := refusingPostgres(t)

	for _, db := range []struct{ name, url, want string }{
		{"wrong password", pgURL(refusing, secretDBPassword), "28P01"},
		{"wrong host", pgURL("db.invalid:5432", secretDBPassword), "db.invalid"},
		{"no server", pgURL("127.0.0.1:1", secretDBPassword), "127.0.0.1"},
		{"unparsable", pgURL("127.0.0.1:99999", secretDBPassword), "DATABASE_URL"},
		{"unescaped password", "postgres://aispend:" + secretRawPassword + "@127.0.0.1:5432/aispend", "DATABASE_URL"},
		{"keyword/value wrong password", "host=" + strings.Replace(refusing, ":", " port=", 1) + " user=aispend password='" + secretDBPassword + "' sslmode=disable", "28P01"},
		{"keyword/value unparsable", "host=127.0.0.1 port=99999 user=aispend password='" + secretDBPassword + "'", "DATABASE_URL"},
	} {
		env := maps.Clone(base)
		env["DATABASE_URL"] = db.url
		for _, args := range [][]string{
			{"serve"}, {"migrate"}, {"schedule"},
			{"run", "--date", "2026-10-01"}, {"run", "--alerts-only"}, {"run", "--dry-run", "--date", "2026-10-01"}, {"runs"},
		} {
			t.Run(db.name+"/"+strings.Join(args, " "), func(t *testing.T) {
				runFails(t, env, db.want, append(args, "--log-format", "json")...)
			})
		}
	}

	t.Run("report database wrong password", func(t *testing.T) {
		env := maps.Clone(base)
		env["REPORT_DATABASE_URL"] = pgURL(refusing, secretReportPassword)
		runFails(t, env, "REPORT_DATABASE_URL", "run", "--date", "2026-10-01", "--log-format", "json")
	})

	t.Run("alert test smtp auth refused", func(t *testing.T) {
		runFails(t, base, "authenticat", "alert", "test", "--to", "ops@example.com", "--log-format", "json")
	})
	t.Run("alert test smtp not there", func(t *testing.T) {
		env := maps.Clone(base)
		env["AISPEND_SMTP_PORT"] = "1"
		runFails(t, env, "connect", "alert", "test", "--to", "ops@example.com", "--log-format", "json")
	})

	// SMTP refuses the login (alerts and digest fail) and S3 the secret (publish fails).
	insertSpend(t, dbURL, "2026-10-01", 900, 10)
	t.Run("run smtp and s3 refused", func(t *testing.T) {
		out := runFails(t, base, "FAILED: alerts, publish", "run", "--date", "2026-10-01", "--log-format", "json")
		if !strings.Contains(out, "authenticat") || !strings.Contains(out, "signature") {
			t.Errorf("output does not show both refusals:\n%s", out)
		}
	})
	t.Run("run alerts-only smtp refused", func(t *testing.T) {
		runFails(t, base, "authenticat", "run", "--alerts-only", "--log-format", "json")
	})

	// The scheduler loses its database after becoming the leader: the leadership check fails
	// and reconnecting is refused.
	t.Run("schedule database lost", func(t *testing.T) {
		env := maps.Clone(base)
		p := newProxy(t, dbHostPort(t, dbURL), 1<<30)
		env["DATABASE_URL"] = strings.Replace(base["DATABASE_URL"], dbHostPort(t, dbURL), p.Addr, 1)
		r := startBinary(t, env, "schedule", "--log-format", "json")
		poll(t, r, 30*time.Second, "leadership", func() bool { return strings.Contains(r.stderr.String(), "became the scheduler leader") })
		p.Close()
		poll(t, r, 30*time.Second, "failed leadership check", func() bool {
			return strings.Contains(r.stderr.String(), "scheduler leadership check failed")
		})
		poll(t, r, 30*time.Second, "failed reconnect", func() bool {
			return strings.Count(r.stderr.String(), `"level":"WARN"`) >= 3
		})
		if err := r.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		r.wait(t, 45*time.Second)
		checkNoSecrets(t, "schedule", r.stdout.String()+r.stderr.String())
	})

	// The collector with requests that carry a wrong, a missing and a right token.
	t.Run("serve tokens", func(t *testing.T) {
		r := startBinary(t, base, "serve", "--log-format", "json")
		addr := base["AISPEND_LISTEN"]
		waitHealthy(t, addr)
		for _, c := range []struct {
			method, path, auth, body string
		}{
			{"POST", "/v1/events", "Bearer " + secretTokenA + "x", `[]`},
			{"POST", "/v1/events", "Basic " + secretTokenA, `[]`},
			{"POST", "/v1/events", "", `[]`},
			{"POST", "/v1/events", "Bearer " + secretTokenA, `[{"event_id":"` + secretTokenB + `"`},
			{"POST", "/v1/events", "Bearer " + secretTokenB, `[{"event_id":"e1","occurred_at":"2026-12-01T00:00:00Z","service":"S","model":"m"}]`},
			{"GET", "/v1/budgets", "Bearer " + secretTokenA, ""},
			{"GET", "/v1/budgets?token=" + url.QueryEscape(secretTokenB), "", ""},
			{"GET", "/metrics", "", ""},
			{"GET", "/v1/stats", "Bearer " + secretReadToken, ""},
			{"GET", "/v1/stats", "Bearer " + secretTokenA, ""},
			{"GET", "/v1/top?dimension=user&from=2026-02-30", "Bearer " + secretAdminToken, ""},
			{"POST", "/v1/alerts/test", "Bearer " + secretReadToken, ""},
			{"POST", "/v1/alerts/test", "Bearer " + secretAdminToken, ""},
		} {
			req, _ := http.NewRequest(c.method, "http://"+addr+c.path, strings.NewReader(c.body))
			if c.auth != "" {
				req.Header.Set("Authorization", c.auth)
			}
			req.Header.Set("Content-Type", "application/json")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			// The response to a request is the client's own business, but the configured
			// tokens must not be in it, except where the client sent it (the bad body).
			if !strings.Contains(c.body, secretTokenB) {
				checkNoSecrets(t, c.method+" "+c.path+" response "+strconv.Itoa(resp.StatusCode), string(body))
			}
		}
		if err := r.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		if err := r.wait(t, 30*time.Second); err != nil {
			t.Errorf("serve after SIGTERM: %v", err)
		}
		checkNoSecrets(t, "serve", r.stdout.String()+r.stderr.String())
	})
}
