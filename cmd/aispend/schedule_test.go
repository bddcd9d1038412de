package main

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aispend/aispend/collect/testkit"
	"github.com/aispend/aispend/collect/testkit/mailtest"
	"github.com/aispend/aispend/collect/testkit/pgtest"
	"github.com/aispend/aispend/report/runlog"
	"github.com/aispend/aispend/report/schedule"
)

// Ensures schedules default sensibly, take environment overrides and "off", and that a bad
// cron expression or lock wait is reported naming its key.
func TestScheduleConfig(t *testing.T) {
	path := filepath.Join(t.TempDir(), "aispend.yaml")
	os.WriteFile(path, []byte("schedules:\n  weekly: \"0 8 * * 1\"\n  retention: \"off\"\n"), 0o600)
	cfg, err := loadConfig(path, envMap(map[string]string{"AISPEND_SCHEDULE_DAILY": "0 7 * * *", "AISPEND_RUN_LOCK_WAIT": "90s"}))
	if err != nil {
		t.Fatal(err)
	}
	want := SchedulesConfig{BudgetCheck: "*/15 * * * *", Daily: "0 7 * * *", Weekly: "0 8 * * 1", Monthly: "0 9 1 * *", Retention: "off"}
	if cfg.Schedules != want || cfg.RunLockWait != 90*time.Second {
		t.Errorf("got %+v, %s; want %+v, 1m30s", cfg.Schedules, cfg.RunLockWait, want)
	}
	if cfg, err := loadConfig(path, envMap(nil)); err != nil || cfg.RunLockWait != 10*time.Minute {
		t.Errorf("default run_lock_wait: %v, %v; want 10m", cfg, err)
	}

	os.WriteFile(path, []byte("schedules:\n  daily: \"0 9 * *\"\n  monthly: \"0 9 32 * *\"\n  weekly: \"\"\nrun_lock_wait: -1m\n"), 0o600)
	_, err = loadConfig(path, envMap(map[string]string{"AISPEND_SCHEDULE_BUDGET_CHECK": "every 15 minutes"}))
	if err == nil {
		t.Fatal("bad schedules accepted")
	}
	for _, want := range []string{
		"schedules.daily (AISPEND_SCHEDULE_DAILY): invalid cron expression \"0 9 * *\": expected exactly 5 fields",
		"schedules.monthly (AISPEND_SCHEDULE_MONTHLY): invalid cron expression \"0 9 32 * *\"",
		"schedules.weekly (AISPEND_SCHEDULE_WEEKLY): empty cron expression",
		"schedules.budget_check (AISPEND_SCHEDULE_BUDGET_CHECK): invalid cron expression \"every 15 minutes\"",
		"run_lock_wait: must not be negative",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	if strings.Contains(err.Error(), "schedules.retention") {
		t.Errorf("a valid default reported as a problem:\n%v", err)
	}
	if _, err := loadConfig(path, envMap(map[string]string{"AISPEND_RUN_LOCK_WAIT": "ten minutes"})); err == nil || !strings.Contains(err.Error(), "run_lock_wait (AISPEND_RUN_LOCK_WAIT)") {
		t.Errorf("bad AISPEND_RUN_LOCK_WAIT: %v", err)
	}
}

// Ensures every scheduled job runs the batch job for its period and records a succeeded run with
// the alerts it sent, and that a job waits for then refuses a run of the same period held
// elsewhere, naming the holder.
func TestScheduledJobsRecordRuns(t *testing.T) {
	srv := mailtest.Start(t)
	env, url := batchEnv(t, srv.SMTPPort)
	cfg, err := loadConfig("", envMap(env))
	if err != nil {
		t.Fatal(err)
	}
	cfg.RunLockWait = 500 * time.Millisecond
	ctx := context.Background()
	pool := pgtest.Connect(t, url)
	log := slog.New(slog.DiscardHandler)
	funcs := jobFuncs(cfg, pool, log)
	for _, e := range cfg.Schedules.entries() {
		if funcs[e.Name] == nil {
			t.Errorf("no function for scheduled job %s", e.Name)
		}
	}
	runs := runlog.New(pool, runlog.Options{})
	// emails counts the alert emails and the digests received.
	emails := func() (alerts, digests int) {
		for _, m := range srv.Messages(t) {
			if strings.HasPrefix(m.MessageID, "alert.") {
				alerts++
			} else {
				digests++
			}
		}
		return alerts, digests
	}
	// latest runs job and returns its recorded run and the alerts it sent.
	latest := func(job string) (runlog.Run, int) {
		t.Helper()
		before, digestsBefore := emails()
		if err := funcs[job](ctx); err != nil {
			t.Fatalf("%s: %v", job, err)
		}
		recent, err := runs.Recent(ctx, 1)
		if err != nil || len(recent) != 1 {
			t.Fatalf("Recent: %v, %v", recent, err)
		}
		r := recent[0]
		if want := schedule.Label(job, time.Now(), cfg.Location); r.Kind != job || r.Period != want || r.Status != runlog.StatusSucceeded || r.Error != "" {
			t.Errorf("%s recorded as %+v; want period %s, succeeded", job, r, want)
		}
		alerts, digests := emails()
		sent := alerts - before
		if r.AlertsSent != sent {
			t.Errorf("%s recorded %d alerts sent; %d alert emails arrived", job, r.AlertsSent, sent)
		}
		// Report runs publish the page and the workbook and send the period's digest; budget
		// checks and retention make no report.
		report := job == "daily" || job == "weekly" || job == "monthly"
		if digests-digestsBefore != map[bool]int{true: 1, false: 0}[report] {
			t.Errorf("%s sent %d digests", job, digests-digestsBefore)
		}
		page := job + "/" + r.Period + "/index.html"
		book := job + "/" + r.Period + "/aispend-" + job + "-" + r.Period + ".xlsx"
		for _, key := range []string{page, book, "index.html"} {
			if published := slices.Contains(r.PublishedKeys, key); published != report {
				t.Errorf("%s: %s recorded as published: %v", job, key, published)
			}
		}
		for _, key := range []string{page, book} {
			if _, err := os.Stat(filepath.Join(cfg.Output, key)); report != (err == nil) {
				t.Errorf("%s: %s on disk: %v", job, key, err)
			}
		}
		if !report && len(r.PublishedKeys) != 0 {
			t.Errorf("%s published %v", job, r.PublishedKeys)
		}
		return r, sent
	}

	// Yesterday in Seoul spent 60 % of daily-total: the daily job reports yesterday and alerts.
	seoul := cfg.Location
	y, m, d := time.Now().In(seoul).Date()
	insertCost(t, url, time.Date(y, m, d-1, 12, 0, 0, 0, seoul), "OTHER", "600")
	if _, sent := latest("daily"); sent < 1 {
		t.Errorf("daily job sent no alert for yesterday's 60 %%")
	}
	var aggs int
	pool.QueryRow(ctx, "SELECT count(*) FROM daily_aggregates WHERE day = $1::date", time.Date(y, m, d-1, 0, 0, 0, 0, time.UTC).Format(time.DateOnly)).Scan(&aggs)
	if aggs == 0 {
		t.Error("the daily job did not compute yesterday's aggregates")
	}
	// Today is over budget: the budget check alerts.
	insertCost(t, url, time.Now(), "OTHER", "2000")
	if _, sent := latest("budget-check"); sent < 1 {
		t.Errorf("budget check sent no alert for today's 200 %%")
	}
	if _, sent := latest("budget-check"); sent != 0 {
		t.Errorf("a second budget check sent %d alerts again", sent)
	}
	for _, job := range []string{"weekly", "monthly", "retention"} {
		latest(job)
	}

	// A run of the same kind and period elsewhere (e.g. `aispend run` from cron) holds it.
	yesterday := schedule.Label("daily", time.Now(), seoul)
	held, err := runs.Begin(ctx, "daily", yesterday)
	if err != nil {
		t.Fatal(err)
	}
	err = funcs["daily"](ctx)
	var busy *runlog.BusyError
	if !errors.As(err, &busy) || busy.Holder == nil || busy.Holder.ID != held.ID || busy.Waited < cfg.RunLockWait {
		t.Fatalf("overlapping daily: got %v, want a BusyError naming run %d after waiting %s", err, held.ID, cfg.RunLockWait)
	}
	if err := held.Finish(ctx, errors.New("boom"), []string{"daily/" + yesterday + "/index.html"}, 1); err != nil {
		t.Fatal(err)
	}

	// `aispend runs` lists them, newest first, one line each.
	var out bytes.Buffer
	if err := run(ctx, []string{"runs", "--limit", "10"}, envMap(map[string]string{"DATABASE_URL": url}), &out, &out); err != nil {
		t.Fatalf("aispend runs: %v\n%s", err, out.String())
	}
	t.Logf("aispend runs:\n%s", out.String())
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 8 || !strings.HasPrefix(lines[0], "ID ") {
		t.Fatalf("aispend runs printed:\n%s", out.String())
	}
	for i, want := range [][]string{
		{"daily", yesterday, "failed", " 1 ", "boom"},
		{"retention", "succeeded"},
		{"monthly", "succeeded"},
		{"weekly", "succeeded"},
		{"budget-check", "succeeded"},
		{"budget-check", "succeeded"},
		{"daily", yesterday, "succeeded"},
	} {
		for _, w := range want {
			if !strings.Contains(lines[i+1], w) {
				t.Errorf("line %d %q lacks %q", i+1, lines[i+1], w)
			}
		}
	}
	if err := run(ctx, []string{"runs", "--limit", "0"}, envMap(map[string]string{"DATABASE_URL": url}), &out, &out); err == nil {
		t.Error("--limit 0 accepted")
	}
}

// Ensures a stored error cannot break the table or send escape sequences to a terminal.
func TestWriteRunsCleansText(t *testing.T) {
	start := time.Date(2025, 10, 1, 0, 0, 0, 0, time.UTC)
	end := start.Add(90 * time.Second)
	var out bytes.Buffer
	err := writeRuns(&out, []runlog.Run{
		{ID: 7, Kind: "daily", Period: "2025-09-30", StartedAt: start, FinishedAt: &end, Status: "failed",
			Error: "render:\n\x1b[31mred\x1b[0m\tboom " + strings.Repeat("x", 200), Host: "h", PID: 42},
		{ID: 8, Kind: "weekly", Period: "2025-W39", StartedAt: start, Status: "running", Host: "h", PID: 43},
	}, time.UTC, start.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	s := out.String()
	if strings.ContainsAny(s, "\x1b\t") || strings.Count(s, "\n") != 3 {
		t.Errorf("unclean table:\n%q", s)
	}
	for _, want := range []string{"2025-10-01 00:00:00 UTC", "1m30s", "1h0m0s", "render: [31mred [0m boom", "…"} {
		if !strings.Contains(s, want) {
			t.Errorf("table lacks %q:\n%s", want, s)
		}
	}
}

// Ensures two `aispend schedule` processes on one database elect one leader that runs each tick
// of a job exactly once, that SIGTERM stops the leader with exit 0, and that the other then
// takes over and runs the job.
func TestScheduleProcessesHandOver(t *testing.T) {
	bin := binary(t)
	url := pgtest.URL(t)
	type proc struct {
		cmd  *exec.Cmd
		logs *syncBuffer
		done chan error
	}
	startProc := func() *proc {
		p := &proc{cmd: exec.Command(bin, "schedule", "--log-format", "json"), logs: &syncBuffer{}, done: make(chan error, 1)}
		// No configuration file: the default schedules, with a budget check every minute.
		p.cmd.Dir = t.TempDir()
		p.cmd.Env = append(os.Environ(), "DATABASE_URL="+url, "AISPEND_SCHEDULE_BUDGET_CHECK=* * * * *")
		p.cmd.Stdout, p.cmd.Stderr = p.logs, p.logs
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
	leads := func(p *proc) bool { return strings.Contains(p.logs.String(), "became the scheduler leader") }
	wait := func(what string, cond func() bool) {
		t.Helper()
		testkit.Eventually(t, time.Minute, what, cond)
	}

	a, b := startProc(), startProc()
	wait("one process becomes the leader", func() bool { return leads(a) || leads(b) })
	follows := func(p *proc) bool {
		return strings.Contains(p.logs.String(), "another replica is the scheduler leader")
	}
	wait("the other process stands by", func() bool { return (leads(a) && follows(b)) || (leads(b) && follows(a)) })
	for _, p := range []*proc{a, b} {
		if n := strings.Count(p.logs.String(), `"job scheduled"`); n != 5 {
			t.Errorf("%d jobs scheduled, want 5:\n%s", n, p.logs.String())
		}
	}
	leader, follower := a, b
	if leads(b) {
		leader, follower = b, a
	}
	if leads(follower) {
		t.Fatalf("both processes lead:\n%s\n---\n%s", a.logs.String(), b.logs.String())
	}
	pool := pgtest.Connect(t, url)
	// ranBy waits (up to two minutes: the job ticks every minute) for a succeeded budget check
	// run by p.
	ranBy := func(p *proc) {
		t.Helper()
		deadline := time.Now().Add(2 * time.Minute)
		for {
			var n int
			if err := pool.QueryRow(context.Background(), `SELECT count(*) FROM runs
				WHERE kind = 'budget-check' AND status = 'succeeded' AND pid = $1`, p.cmd.Process.Pid).Scan(&n); err != nil {
				t.Fatal(err)
			}
			if n > 0 {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("no budget check run by pid %d within two minutes:\n%s", p.cmd.Process.Pid, p.logs.String())
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	ranBy(leader)

	if err := leader.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-leader.done:
		if err != nil {
			t.Fatalf("leader after SIGTERM: %v (want exit 0)\n%s", err, leader.logs.String())
		}
	case <-time.After(time.Minute):
		t.Fatal("leader did not exit within a minute of SIGTERM")
	}
	if !strings.Contains(leader.logs.String(), "released scheduler leadership") {
		t.Errorf("leader did not log releasing leadership:\n%s", leader.logs.String())
	}
	wait("the other process takes over", func() bool { return leads(follower) })
	t.Logf("leader's log:\n%s", leader.logs.String())
	ranBy(follower)
	// Each tick ran once, whichever replica ran it.
	rows, err := pool.Query(context.Background(), `SELECT date_trunc('minute', started_at), count(*) FROM runs
		WHERE kind = 'budget-check' GROUP BY 1 HAVING count(*) > 1`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var tick time.Time
		var n int
		rows.Scan(&tick, &n)
		t.Errorf("the budget check of %s ran %d times", tick.Format(time.TimeOnly), n)
	}
	rows.Close()

	if err := follower.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-follower.done:
		if err != nil {
			t.Fatalf("follower after SIGTERM: %v\n%s", err, follower.logs.String())
		}
	case <-time.After(time.Minute):
		t.Fatal("follower did not exit within a minute of SIGTERM")
	}
}

// Ensures `aispend schedule` refuses to start with every job off.
func TestScheduleAllOff(t *testing.T) {
	env := map[string]string{"DATABASE_URL": pgtest.URL(t)}
	for _, e := range (&SchedulesConfig{}).entries() {
		env[e.Env] = "off"
	}
	var out bytes.Buffer
	err := run(context.Background(), []string{"schedule"}, envMap(env), &out, &out)
	if err == nil || !strings.Contains(err.Error(), `every job is "off"`) {
		t.Fatalf("all jobs off: %v", err)
	}
}

// Ensures the new commands are listed and have help.
func TestScheduleAndRunsHelp(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), []string{"--help"}, envMap(nil), &out, &out); err != nil || !strings.Contains(out.String(), "schedule") || !strings.Contains(out.String(), "runs") {
		t.Errorf("usage lacks schedule and runs: %v\n%s", err, out.String())
	}
	for _, cmd := range []string{"schedule", "runs"} {
		out.Reset()
		err := run(context.Background(), []string{cmd, "--help"}, envMap(nil), &out, &out)
		if err != nil && err.Error() != "flag: help requested" || !strings.Contains(out.String(), "Usage: aispend "+cmd) {
			t.Errorf("%s --help: %v\n%s", cmd, err, out.String())
		}
	}
}
