package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/xuri/excelize/v2"

	"github.com/aispend/aispend/collect/testkit"
	"github.com/aispend/aispend/collect/testkit/mailtest"
	"github.com/aispend/aispend/collect/testkit/pgtest"
	"github.com/aispend/aispend/report/runlog"
	"github.com/aispend/aispend/report/sheet"
)

// runProc is one `aispend run` process of the real binary.
type runProc struct {
	cmd            *exec.Cmd
	stdout, stderr *syncBuffer
	done           chan error
}

func startRun(t *testing.T, env map[string]string, args ...string) *runProc {
	t.Helper()
	p := &runProc{cmd: exec.Command(binary(t), append([]string{"run", "--log-format", "json"}, args...)...),
		stdout: &syncBuffer{}, stderr: &syncBuffer{}, done: make(chan error, 1)}
	p.cmd.Dir = t.TempDir()
	p.cmd.Env = os.Environ()
	for k, v := range env {
		p.cmd.Env = append(p.cmd.Env, k+"="+v)
	}
	p.cmd.Stdout, p.cmd.Stderr = p.stdout, p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- p.cmd.Wait() }()
	t.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

// wait waits for the process to exit, at most a few minutes (a hung run fails the test rather
// than the whole test binary).
func (p *runProc) wait(t *testing.T) error {
	t.Helper()
	select {
	case err := <-p.done:
		return err
	case <-time.After(5 * time.Minute):
		t.Fatalf("aispend run did not exit within 5 minutes\nstdout:\n%s\nstderr:\n%s", p.stdout.String(), p.stderr.String())
		return nil
	}
}

// waitUntil polls cond until it holds; it fails the test after a minute.
func withEnv(env map[string]string, kv ...string) map[string]string {
	out := map[string]string{}
	for k, v := range env {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i]] = kv[i+1]
	}
	return out
}

// Ensures two overlapping `aispend run` processes for the same period never run together: with a
// short run_lock_wait the second exits non-zero naming the run that holds the period; with a long
// one it waits, then runs, and sends no alert twice.
func TestRunOverlappingProcesses(t *testing.T) {
	srv := mailtest.Start(t)
	env, url := batchEnv(t, srv.SMTPPort)
	seoul, _ := time.LoadLocation("Asia/Seoul")
	insertCost(t, url, time.Date(2026, 10, 1, 9, 0, 0, 0, seoul), "OTHER", "600") // 60 % of daily-total
	ctx := context.Background()
	pool := pgtest.Connect(t, url)

	// The gate: while this transaction holds daily_aggregates, the first run stops in its
	// statistics step (rebuilding the day's aggregates), holding the period's run lock.
	gate, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer gate.Close(ctx)
	tx, err := gate.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, "LOCK TABLE daily_aggregates IN EXCLUSIVE MODE"); err != nil {
		t.Fatal(err)
	}

	args := []string{"--period", "daily", "--date", "2026-10-01"}
	first := startRun(t, withEnv(env, "AISPEND_RUN_LOCK_WAIT", "1s"), args...)
	var holder runlog.Run
	testkit.Eventually(t, time.Minute, "the first run holds the period and waits at the gate", func() bool {
		var blocked bool
		pool.QueryRow(ctx, `SELECT EXISTS (SELECT FROM pg_locks WHERE relation = 'daily_aggregates'::regclass AND NOT granted)`).Scan(&blocked)
		recent, _ := runlog.New(pool, runlog.Options{}).Recent(ctx, 1)
		if blocked && len(recent) == 1 {
			holder = recent[0]
			return true
		}
		return false
	})
	if holder.Status != runlog.StatusRunning || holder.PID != first.cmd.Process.Pid || holder.Kind != "daily" || holder.Period != "2026-10-01" {
		t.Fatalf("running row %+v; want the first process (pid %d) running daily 2026-10-01", holder, first.cmd.Process.Pid)
	}

	// A second run with a short wait gives up, non-zero, naming the holder.
	second := startRun(t, withEnv(env, "AISPEND_RUN_LOCK_WAIT", "1s"), args...)
	err = second.wait(t)
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() == 0 {
		t.Fatalf("second run: %v; want a non-zero exit\nstderr:\n%s", err, second.stderr.String())
	}
	want := fmt.Sprintf("daily run for 2026-10-01 is already in progress: run %d on host %s (pid %d)", holder.ID, holder.Host, holder.PID)
	if s := second.stderr.String(); !strings.Contains(s, want) || !strings.Contains(s, "gave up after waiting 1") {
		t.Errorf("second run's error lacks %q and the wait:\n%s", want, s)
	}
	if second.stdout.String() != "" {
		t.Errorf("second run printed a summary: %q", second.stdout.String())
	}

	// A third run with a long wait waits for the first (its lock session shows up next to the
	// first's), then runs.
	lockSessions := func() int {
		var n int
		pool.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE application_name = 'aispend run daily 2026-10-01'`).Scan(&n)
		return n
	}
	testkit.Eventually(t, time.Minute, "the second run's lock session is gone", func() bool { return lockSessions() == 1 })
	third := startRun(t, withEnv(env, "AISPEND_RUN_LOCK_WAIT", "10m"), args...)
	testkit.Eventually(t, time.Minute, "the third run waits for the period's lock", func() bool { return lockSessions() == 2 })
	if err := tx.Rollback(ctx); err != nil { // open the gate
		t.Fatal(err)
	}
	if err := first.wait(t); err != nil {
		t.Fatalf("first run: %v\n%s", err, first.stderr.String())
	}
	if err := third.wait(t); err != nil {
		t.Fatalf("third run: %v\n%s", err, third.stderr.String())
	}
	for name, p := range map[string]*runProc{"first": first, "third": third} {
		if s := p.stdout.String(); !strings.Contains(s, "daily 2026-10-01: ₩600 over 1 request (") || !strings.Contains(s, ", ok") {
			t.Errorf("%s run's summary: %q", name, s)
		}
	}
	if !strings.Contains(first.stdout.String(), "alerts 1 sent") || !strings.Contains(third.stdout.String(), "alerts 0 sent") {
		t.Errorf("alerts: first %q, third %q; want the INFO alert sent once, by the first", first.stdout.String(), third.stdout.String())
	}
	if msgs := srv.Messages(t); len(msgs) != 2 {
		t.Errorf("%d emails, want the alert and the digest, once each: %+v", len(msgs), msgs)
	}

	recent, err := runlog.New(pool, runlog.Options{}).Recent(ctx, 10)
	if err != nil || len(recent) != 2 {
		t.Fatalf("runs: %+v, %v; want the first and the third (the second never started)", recent, err)
	}
	a, c := recent[1], recent[0]
	if a.ID != holder.ID || a.Status != runlog.StatusSucceeded || a.AlertsSent != 1 || c.Status != runlog.StatusSucceeded || c.AlertsSent != 0 || c.PID != third.cmd.Process.Pid {
		t.Errorf("runs recorded: %+v and %+v", a, c)
	}
	for _, r := range []runlog.Run{a, c} {
		if !slices.Contains(r.PublishedKeys, "daily/2026-10-01/index.html") || !slices.Contains(r.PublishedKeys, "daily/2026-10-01/aispend-daily-2026-10-01.xlsx") {
			t.Errorf("run %d recorded published keys %v; want the page and the workbook", r.ID, r.PublishedKeys)
		}
	}
	if a.FinishedAt == nil || c.StartedAt.Before(*a.FinishedAt) {
		t.Errorf("the third run started at %s, before the first finished (%v)", c.StartedAt, a.FinishedAt)
	}
}

// Ensures re-running a past period counts the events that arrived late for it, exactly, and
// sends no alert again.
func TestRunRerunPastPeriod(t *testing.T) {
	srv := mailtest.Start(t)
	env, url := batchEnv(t, srv.SMTPPort)
	seoul, _ := time.LoadLocation("Asia/Seoul")
	day := func(h int) time.Time { return time.Date(2026, 10, 1, h, 0, 0, 0, seoul) }
	insertCost(t, url, day(9), "OTHER", "300")
	insertCost(t, url, day(10), "QA_CHAT", "250") // 55 % of daily-total; 25 % of qa-monthly
	ctx := context.Background()
	args := []string{"run", "--period", "daily", "--date", "2026-10-01"}
	summary := func() string {
		t.Helper()
		var out, logs bytes.Buffer
		if err := run(ctx, args, envMap(env), &out, &logs); err != nil {
			t.Fatalf("run: %v\n%s", err, logs.String())
		}
		return strings.TrimSpace(out.String())
	}
	book := filepath.Join(env["AISPEND_OUTPUT"], "daily", "2026-10-01", "aispend-daily-2026-10-01.xlsx")
	s := summary()
	if !strings.Contains(s, "daily 2026-10-01: ₩550 over 2 requests") || !strings.Contains(s, "alerts 1 sent") {
		t.Fatalf("first run: %q", s)
	}
	emails := len(srv.Messages(t))
	first := workbookSummary(t, book)

	// Late events for that day, and one for the next day, which must not count.
	insertCost(t, url, day(11), "OTHER", "100")
	insertCost(t, url, day(23).Add(59*time.Minute), "QA_CHAT", "49") // 69.9 % of daily-total, under 80 %
	insertCost(t, url, day(24).Add(time.Minute), "OTHER", "5000")
	s = summary()
	if !strings.Contains(s, "daily 2026-10-01: ₩699 over 4 requests") || !strings.Contains(s, "alerts 0 sent") || !strings.Contains(s, ", ok") {
		t.Errorf("re-run: %q; want the late events counted and no alert", s)
	}
	if n := len(srv.Messages(t)); n != emails {
		t.Errorf("re-run sent %d more emails (no alert and no digest may be sent twice)", n-emails)
	}
	// The workbook, replaced, counts exactly the late events more; the rest is as before.
	second := workbookSummary(t, book)
	for metric, want := range map[string][2]string{
		"Total cost": {"550", "699"}, "Requests": {"2", "4"}, "Successes": {"2", "4"}, "Event rows listed": {"2", "4"},
		"Period": {"2026-10-01", "2026-10-01"}, "Currency": {"KRW", "KRW"}, "Failures": {"0", "0"},
	} {
		if first[metric] != want[0] || second[metric] != want[1] {
			t.Errorf("workbook %s: %q then %q, want %q then %q", metric, first[metric], second[metric], want[0], want[1])
		}
	}
	// A third run with nothing new gives the same result again.
	if again := summary(); strings.Split(again, ", alerts")[0] != strings.Split(s, ", alerts")[0] {
		t.Errorf("third run %q differs from the second %q", again, s)
	}
}

// workbookSummary reads the Summary sheet of a workbook: metric → raw cell value.
func workbookSummary(t *testing.T, path string) map[string]string {
	t.Helper()
	f, err := excelize.OpenFile(path)
	if err != nil {
		t.Fatalf("open workbook: %v", err)
	}
	defer f.Close()
	rows, err := f.GetRows(sheet.SheetSummary, excelize.Options{RawCellValue: true})
	if err != nil {
		t.Fatalf("read %s: %v", sheet.SheetSummary, err)
	}
	m := map[string]string{}
	for _, r := range rows {
		if len(r) >= 2 && r[0] != "" {
			m[r[0]] = r[1]
		}
	}
	return m
}
