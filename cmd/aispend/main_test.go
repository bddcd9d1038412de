package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aispend/aispend/collect/testkit/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func envMap(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func freeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func waitHealthy(t testing.TB, addr string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get("http://" + addr + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("collector on %s never became healthy", addr)
}

func TestConfigProblemsListedAtOnce(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "aispend.yaml")
	os.WriteFile(path, []byte("currency: WON!\ntimezone: Mars/Base\nprices:\n  - model: m\n    from: yesterday\n    input: 1\n    output: -2\n"), 0o600)
	_, err := loadConfig(path, envMap(map[string]string{"AISPEND_RETENTION_DAYS": "x", "AISPEND_SMTP_TLS": "maybe", "AISPEND_ALERT_EMAILS": "a@b.c, not-an-address"}))
	if err == nil {
		t.Fatal("invalid configuration accepted")
	}
	for _, key := range []string{"currency", "timezone", "prices[0].from", "prices[0].output", "fx.USD", "retention_days", "mail.tls", "mail.recipients"} {
		if !strings.Contains(err.Error(), key+" ") && !strings.Contains(err.Error(), key+":") {
			t.Errorf("error does not name %s:\n%v", key, err)
		}
	}
	// Unknown keys are refused, so that a typo never silently changes behaviour.
	os.WriteFile(path, []byte("curency: KRW\n"), 0o600)
	if _, err := loadConfig(path, envMap(nil)); err == nil || !strings.Contains(err.Error(), "curency") {
		t.Fatalf("unknown key: %v", err)
	}
}

func TestServeRefusesWithoutToken(t *testing.T) {
	env := map[string]string{"DATABASE_URL": "postgres://x@127.0.0.1:1/x", "AISPEND_LISTEN": "0.0.0.0:0"}
	var out bytes.Buffer
	err := run(context.Background(), []string{"serve"}, envMap(env), &out, &out)
	if err == nil || !strings.Contains(err.Error(), "AISPEND_INGEST_TOKENS") {
		t.Fatalf("no token: %v", err)
	}
	err = run(context.Background(), []string{"serve", "--insecure-no-auth"}, envMap(env), &out, &out)
	if err == nil || !strings.Contains(err.Error(), "loopback") {
		t.Fatalf("unauthenticated on 0.0.0.0: %v", err)
	}
}

func TestHelpAndVersion(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"version"}, {"serve", "--help"}, {"migrate", "--help"}} {
		var out bytes.Buffer
		err := run(context.Background(), args, envMap(nil), &out, &out)
		if err != nil && err.Error() != "flag: help requested" {
			t.Fatalf("%v: %v", args, err)
		}
		if out.Len() == 0 {
			t.Fatalf("%v printed nothing", args)
		}
	}
	var out bytes.Buffer
	if err := run(context.Background(), []string{"bogus"}, envMap(nil), &out, &out); err == nil {
		t.Fatal("unknown command accepted")
	}
}

// Ensures a wrong command line (no command, an unknown one, an unknown flag) prints the usage to
// stderr and exits 2, so that a script tells it from a run that failed (1) or worked (0).
func TestCommandLineMistakesExit2(t *testing.T) {
	bin := binary(t)
	for _, tc := range []struct {
		args   []string
		status int
		stderr string
	}{
		{nil, 2, "Usage: aispend <command>"},
		{[]string{"bogus"}, 2, "Usage: aispend <command>"},
		{[]string{"runs", "--bogus"}, 2, "Usage: aispend runs"},
		{[]string{"prices"}, 2, "Usage: aispend prices"},
		{[]string{"version"}, 0, ""},
		{[]string{"--help"}, 0, ""},
	} {
		cmd := exec.Command(bin, tc.args...)
		cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		status := 0
		if ee, ok := err.(*exec.ExitError); ok {
			status = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		if status != tc.status || !strings.Contains(stderr.String(), tc.stderr) {
			t.Errorf("aispend %v: exit %d, stderr %q; want exit %d and %q", tc.args, status, stderr.String(), tc.status, tc.stderr)
		}
		if tc.status == 2 && stdout.Len() > 0 {
			t.Errorf("aispend %v wrote to stdout: %q", tc.args, stdout.String())
		}
	}
}

// buildBinary builds cmd/aispend once per test binary.
var buildOnce struct {
	sync.Once
	path string
	err  error
}

func binary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "aispend-bin-")
		if err != nil {
			buildOnce.err = err
			return
		}
		buildOnce.path = filepath.Join(dir, "aispend")
		out, err := exec.Command("go", "build", "-o", buildOnce.path, ".").CombinedOutput()
		if err != nil {
			buildOnce.err = fmt.Errorf("go build: %v: %s", err, out)
		}
	})
	if buildOnce.err != nil {
		t.Fatal(buildOnce.err)
	}
	return buildOnce.path
}

// Ensures SIGTERM stops the collector with exit 0 while clients are sending, and that every
// event it acknowledged with a 200 is in the database.
func TestServeSIGTERMLosesNothing(t *testing.T) {
	dbURL := pgtest.URL(t)
	addr := freeAddr(t)
	cmd := exec.Command(binary(t), "serve", "--log-format", "json")
	cmd.Env = append(os.Environ(), "DATABASE_URL="+dbURL, "AISPEND_LISTEN="+addr, "AISPEND_INGEST_TOKENS=tok", "AISPEND_CONFIG=/dev/null")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitHealthy(t, addr)

	var acked sync.Map
	var ackCount atomic.Int64
	var wg sync.WaitGroup
	stop := make(chan struct{})
	client := &http.Client{Timeout: 30 * time.Second}
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				var body bytes.Buffer
				body.WriteString("[")
				ids := make([]string, 20)
				for j := range ids {
					ids[j] = fmt.Sprintf("w%d-%d-%d", w, i, j)
					if j > 0 {
						body.WriteString(",")
					}
					fmt.Fprintf(&body, `{"event_id":%q,"occurred_at":%q,"service":"S","model":"m","input_tokens":1,"output_tokens":1}`,
						ids[j], time.Now().UTC().Format(time.RFC3339Nano))
				}
				body.WriteString("]")
				req, _ := http.NewRequest("POST", "http://"+addr+"/v1/events", &body)
				req.Header.Set("Authorization", "Bearer tok")
				req.Header.Set("Content-Type", "application/json")
				resp, err := client.Do(req)
				if err != nil {
					return // the server has stopped accepting
				}
				var rep struct{ Accepted int }
				json.NewDecoder(resp.Body).Decode(&rep)
				resp.Body.Close()
				if resp.StatusCode == 200 {
					for _, id := range ids {
						acked.Store(id, true)
					}
					ackCount.Add(int64(len(ids)))
				}
			}
		}()
	}
	for ackCount.Load() < 2000 {
		time.Sleep(10 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatalf("collector exit after SIGTERM: %v\n%s", err, stderr.String())
	}

	pool := pgtest.Connect(t, dbURL)
	stored := map[string]bool{}
	rows, err := pool.Query(context.Background(), "SELECT event_id FROM events")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id string
		rows.Scan(&id)
		stored[id] = true
	}
	missing := 0
	acked.Range(func(k, _ any) bool {
		if !stored[k.(string)] {
			missing++
		}
		return true
	})
	if missing > 0 {
		t.Fatalf("%d acknowledged events missing after SIGTERM", missing)
	}
	t.Logf("%d events acknowledged before and during shutdown, all stored", ackCount.Load())
}
