package main

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aispend/aispend/collect/testkit/pgtest"
)

// readmeBlock is a code block of the README marked to be run by TestReadmeFirstSteps: the HTML
// comment "<!-- readme-test: file NAME -->" (the block is that file) or "<!-- readme-test: run -->"
// (the block is shell commands) right before it.
var readmeBlock = regexp.MustCompile("(?s)<!-- readme-test: (file ([^ ]+)|run) -->\n```[a-z]*\n(.*?)\n```")

// The README's examples name a database and the collector's default address; the test gives
// its own database and a free port, and changes nothing else.
const (
	readmeDatabaseURL = "postgres://aispend@db:5432/aispend"
	readmeAddr        = "127.0.0.1:8080"
)

// Ensures the README's first steps run as printed: its marked blocks (the configuration file,
// starting the collector, sending an event with curl, reading the budget and running today's
// report) run in order in one bash session against a private PostgreSQL, every answer the
// README documents (a "# {…}" line under a command) is printed exactly, the event is priced
// from the README's price ($0.006) and the report is published.
func TestReadmeFirstSteps(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(binary(t), filepath.Join(dir, "bin", "aispend")); err != nil {
		t.Fatal(err)
	}
	db, addr := pgtest.URL(t), freeAddr(t)
	var script, answers []string
	for _, m := range readmeBlock.FindAllStringSubmatch(string(readme), -1) {
		if m[2] != "" {
			if err := os.WriteFile(filepath.Join(dir, m[2]), []byte(m[3]+"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			continue
		}
		block := strings.ReplaceAll(strings.ReplaceAll(m[3], readmeDatabaseURL, db), readmeAddr, addr)
		script = append(script, block)
		for _, l := range strings.Split(m[3], "\n") {
			if a, ok := strings.CutPrefix(l, "# "); ok && (strings.HasPrefix(a, "{") || strings.HasPrefix(a, "[")) {
				answers = append(answers, a)
			}
		}
	}
	all := strings.Join(script, "\n")
	if len(script) < 3 || !strings.Contains(all, db) || !strings.Contains(all, addr) || len(answers) == 0 {
		t.Fatalf("the README's marked blocks lost the database URL %s, the address %s or their answers:\n%s", readmeDatabaseURL, readmeAddr, all)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-e", "-c", all)
	cmd.Dir = dir
	// The collector is left running in the background by the README: the test stops the
	// whole process group.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "AISPEND_LISTEN=" + addr}
	// Files, not pipes: the collector in the background keeps its output open after bash ends,
	// and Wait would wait for a pipe to close.
	out, errOut := filepath.Join(dir, "stdout"), filepath.Join(dir, "stderr")
	create := func(path string) *os.File {
		f, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		return f
	}
	cmd.Stdout, cmd.Stderr = create(out), create(errOut)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM) })
	err = cmd.Wait()
	stdout, stderr := readString(t, out), readString(t, errOut)
	if err != nil {
		t.Fatalf("the README's first steps failed: %v\nstdout:\n%s\nstderr:\n%s", err, stdout, stderr)
	}
	lines := strings.Split(stdout, "\n")
	for _, a := range answers {
		found := false
		for _, l := range lines {
			found = found || l == a
		}
		if !found {
			t.Errorf("the README documents the answer %s; the commands printed:\n%s\nstderr:\n%s", a, stdout, stderr)
		}
	}
	// The budget answer: the event was priced from the README's price table.
	for _, l := range lines {
		var b struct {
			Budgets []struct{ Name, Spent string }
		}
		if json.Unmarshal([]byte(l), &b) == nil && len(b.Budgets) > 0 {
			if b.Budgets[0].Name != "daily-total" || b.Budgets[0].Spent != "0.006" {
				t.Errorf("budgets %+v; want daily-total at 0.006", b.Budgets)
			}
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "out", "index.html")); err != nil {
		t.Errorf("the report was not published: %v\nstdout:\n%s", err, stdout)
	}
}

func readString(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
