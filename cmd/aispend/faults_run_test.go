package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/minio/minio-go/v7"

	"github.com/aispend/aispend/collect"
	"github.com/aispend/aispend/collect/testkit/eventtest"
	"github.com/aispend/aispend/collect/testkit/mailtest"
	"github.com/aispend/aispend/collect/testkit/pgtest"
	"github.com/aispend/aispend/collect/testkit/s3test"
)

// proxy is a TCP proxy that forwards at most rate bytes per second in each direction of each
// connection: it makes a server slow enough that a test can act while a transfer is under way,
// and Close cuts every connection, as a network failure does.
type proxy struct {
	Addr  string
	l     net.Listener
	wg    sync.WaitGroup
	mu    sync.Mutex
	conns []net.Conn
}

func newProxy(t *testing.T, target string, rate int) *proxy {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{Addr: l.Addr().String(), l: l}
	t.Cleanup(p.Close)
	const chunk = 1024
	pipe := func(dst, src net.Conn) {
		defer p.wg.Done()
		defer dst.Close()
		defer src.Close()
		buf := make([]byte, chunk)
		for {
			n, err := src.Read(buf)
			if n > 0 {
				if _, werr := dst.Write(buf[:n]); werr != nil {
					return
				}
				time.Sleep(time.Duration(n) * time.Second / time.Duration(rate))
			}
			if err != nil {
				return
			}
		}
	}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, s)
			p.mu.Unlock()
			p.wg.Add(2)
			go pipe(s, c)
			go pipe(c, s)
		}
	}()
	return p
}

// Close stops accepting and cuts every connection.
func (p *proxy) Close() {
	p.l.Close()
	p.mu.Lock()
	for _, c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}

// throttle is the address of a proxy to target at rate bytes per second.
func throttle(t *testing.T, target string, rate int) string { return newProxy(t, target, rate).Addr }

// syncBuffer is a bytes.Buffer safe to read while a child process writes to it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// insertSpend stores n events of cost 1 spread over a Seoul day, for service QA_CHAT, each with
// an error text of pad bytes (so that reading the period's events moves a known amount of data).
func insertSpend(t *testing.T, dbURL, date string, n, pad int) {
	t.Helper()
	day := seoulDay(t, date)
	step := 24 * time.Hour / time.Duration(n)
	text := strings.Repeat("x", pad)
	rows := make([]collect.Row, n)
	for i := range rows {
		r := eventtest.Row(fmt.Sprintf("spend-%s-%d", date, i), day.Add(time.Duration(i)*step))
		r.Model, r.Provider, r.InputTokens, r.OutputTokens, r.CostSource = "m", "", 1, 1, "provider"
		r.DurationMS, r.Success, r.Error, r.UserID = 100, false, text, fmt.Sprintf("u%d", i%10)
		eventtest.Price(&r, "1")
		rows[i] = r
	}
	eventtest.Insert(t, pgtest.Connect(t, dbURL), rows...)
}

// binRun is one run of the real binary.
type binRun struct {
	cmd            *exec.Cmd
	stdout, stderr syncBuffer
	done           chan struct{}
	err            error
}

// envList is the child's whole environment: the map plus PATH and HOME, nothing inherited.
func envList(env map[string]string) []string {
	out := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
	for _, k := range slices.Sorted(maps.Keys(env)) {
		out = append(out, k+"="+env[k])
	}
	return out
}

func startBinary(t *testing.T, env map[string]string, args ...string) *binRun {
	t.Helper()
	r := &binRun{cmd: exec.Command(binary(t), args...), done: make(chan struct{})}
	r.cmd.Env = envList(env)
	r.cmd.Stdout, r.cmd.Stderr = &r.stdout, &r.stderr
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { r.err = r.cmd.Wait(); close(r.done) }()
	t.Cleanup(func() {
		select {
		case <-r.done:
		default:
			r.cmd.Process.Kill()
			<-r.done
		}
	})
	return r
}

func (r *binRun) exited() bool {
	select {
	case <-r.done:
		return true
	default:
		return false
	}
}

// wait waits for the process to exit and returns its error (nil: exit 0).
func (r *binRun) wait(t *testing.T, timeout time.Duration) error {
	t.Helper()
	select {
	case <-r.done:
		return r.err
	case <-time.After(timeout):
		r.cmd.Process.Kill()
		<-r.done
		t.Fatalf("%v did not exit within %v\nstdout: %s\nstderr: %s", r.cmd.Args, timeout, r.stdout.String(), r.stderr.String())
		return nil
	}
}

// kill sends SIGKILL and checks that the process died of it.
func (r *binRun) kill(t *testing.T) {
	t.Helper()
	if err := r.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-r.done
	var ee *exec.ExitError
	if !errors.As(r.err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("run ended before the kill: %v\nstdout: %s\nstderr: %s", r.err, r.stdout.String(), r.stderr.String())
	}
}

// poll calls cond every 10 ms until it is true; it fails the test after timeout, or when the
// run exits first.
func poll(t *testing.T, r *binRun, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if r.exited() {
			t.Fatalf("run exited (%v) before %s\nstdout: %s\nstderr: %s", r.err, what, r.stdout.String(), r.stderr.String())
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s within %v\nstderr: %s", what, timeout, r.stderr.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// faultSite is a batch environment publishing to a versitygw bucket and mailing to Mailpit.
type faultSite struct {
	env    map[string]string
	dbURL  string
	s3     *s3test.Server
	mail   *mailtest.Server
	prefix string
	tmp    string // TMPDIR of the runs: where the workbook is written before upload
}

func newFaultSite(t *testing.T) *faultSite {
	t.Helper()
	f := &faultSite{s3: s3test.Start(t), mail: mailtest.Start(t), prefix: "site", tmp: t.TempDir()}
	f.env, f.dbURL = batchEnv(t, f.mail.SMTPPort)
	f.env["AISPEND_OUTPUT"] = "s3://" + f.s3.Bucket + "/" + f.prefix
	f.env["AISPEND_S3_ENDPOINT"] = f.s3.Endpoint
	f.env["AISPEND_S3_REGION"] = f.s3.Region
	f.env["AISPEND_S3_ACCESS_KEY"] = f.s3.AccessKey
	f.env["AISPEND_S3_SECRET_KEY"] = f.s3.SecretKey
	f.env["AISPEND_S3_PATH_STYLE"] = "true"
	f.env["TMPDIR"] = f.tmp
	return f
}

// objects lists the bucket under the prefix, as site keys.
func (f *faultSite) objects(t *testing.T) map[string]bool {
	t.Helper()
	m := map[string]bool{}
	ctx := context.Background()
	for o := range f.s3.Client().ListObjects(ctx, f.s3.Bucket, minio.ListObjectsOptions{Prefix: f.prefix + "/", Recursive: true}) {
		if o.Err != nil {
			t.Fatalf("list bucket: %v", o.Err)
		}
		m[strings.TrimPrefix(o.Key, f.prefix+"/")] = true
	}
	return m
}

// index reads the landing page and checks that every link in it resolves to an object in the
// bucket; it returns the page and its links.
func (f *faultSite) index(t *testing.T, stage string) (string, []string) {
	t.Helper()
	ctx := context.Background()
	o, err := f.s3.Client().GetObject(ctx, f.s3.Bucket, f.prefix+"/index.html", minio.GetObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(o)
	o.Close()
	if err != nil {
		t.Fatalf("%s: read index.html: %v", stage, err)
	}
	objs := f.objects(t)
	links := siteLinks(t, "index.html", string(b))
	if len(links) == 0 {
		t.Fatalf("%s: index.html links nothing", stage)
	}
	for _, k := range links {
		if !objs[k] {
			t.Errorf("%s: index.html links %s, which is not in the bucket", stage, k)
		}
	}
	return string(b), links
}

// mailOnce checks that every message arrived exactly once: one per Message-ID, and one per
// X-Aispend-Alert key among the alerts. It returns the number of alerts and of digests.
func (f *faultSite) mailOnce(t *testing.T, stage string) (alerts, digests int) {
	t.Helper()
	byID := map[string]int{}
	byKey := map[string]int{}
	for _, m := range f.mail.Messages(t) {
		byID[m.MessageID]++
		if strings.Contains(m.Subject, "digest") {
			digests++
			continue
		}
		alerts++
		keys := f.mail.Message(t, m.ID).Headers["X-Aispend-Alert"]
		if len(keys) != 1 {
			t.Errorf("%s: alert %q has X-Aispend-Alert %q", stage, m.Subject, keys)
		}
		for _, k := range keys {
			byKey[k]++
		}
	}
	for id, n := range byID {
		if n != 1 {
			t.Errorf("%s: Message-ID %s received %d times", stage, id, n)
		}
	}
	for k, n := range byKey {
		if n != 1 {
			t.Errorf("%s: alert %s sent %d times", stage, k, n)
		}
	}
	return alerts, digests
}

// prepare publishes 2026-09-30 successfully (so that an index exists before the faulty run) and
// stores the 2026-10-01 events, which cross both budgets' thresholds.
func (f *faultSite) prepare(t *testing.T, events, pad int) {
	t.Helper()
	insertSpend(t, f.dbURL, "2026-09-30", 20, 10)
	r := startBinary(t, f.env, "run", "--log-format", "json", "--date", "2026-09-30")
	if err := r.wait(t, 60*time.Second); err != nil {
		t.Fatalf("first run: %v\n%s", err, r.stderr.String())
	}
	insertSpend(t, f.dbURL, "2026-10-01", events, pad)
}

const periodDir = "daily/2026-10-01/"

// rerun runs the killed period again and checks it completes, with every link of the index
// resolving, the period linked, and every email delivered exactly once.
func (f *faultSite) rerun(t *testing.T, alertsBefore int) {
	t.Helper()
	env := maps.Clone(f.env)
	delete(env, "REPORT_DATABASE_URL")
	env["AISPEND_S3_ENDPOINT"] = f.s3.Endpoint
	r := startBinary(t, env, "run", "--log-format", "json", "--date", "2026-10-01")
	if err := r.wait(t, 60*time.Second); err != nil {
		t.Fatalf("run after the kill: %v\nstdout: %s\nstderr: %s", err, r.stdout.String(), r.stderr.String())
	}
	_, links := f.index(t, "after the re-run")
	for _, k := range []string{"daily/2026-09-30/index.html", periodDir + "index.html"} {
		if !slices.Contains(links, k) {
			t.Errorf("index.html after the re-run links %v; want %s", links, k)
		}
	}
	objs := f.objects(t)
	for _, k := range []string{periodDir + "aispend-daily-2026-10-01.xlsx", periodDir + "aispend-daily-2026-10-01-events.csv.gz"} {
		if !objs[k] {
			t.Errorf("after the re-run %s is not in the bucket", k)
		}
	}
	alerts, digests := f.mailOnce(t, "after the re-run")
	if alerts != alertsBefore || digests != 2 {
		t.Errorf("after the re-run: %d alerts (%d before it), %d digests; want the same alerts and one digest per day", alerts, alertsBefore, digests)
	}
	// The runs table: the killed run marked abandoned by the re-run, which succeeded.
	pool, err := pgxpool.New(context.Background(), f.dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	rows, err := pool.Query(context.Background(), "SELECT status || ': ' || coalesce(error, '') FROM runs WHERE kind = 'daily' AND period = '2026-10-01' ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	var runs []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		runs = append(runs, s)
	}
	if len(runs) != 2 || !strings.HasPrefix(runs[0], "failed: abandoned") || runs[1] != "succeeded: " {
		t.Errorf("runs of 2026-10-01: %q; want the killed one failed (abandoned) and the re-run succeeded", runs)
	}
}

// Ensures a run killed with SIGKILL while it uploads a period to S3 leaves the landing page
// linking only objects that exist, and that the next run completes without sending any alert or
// digest twice. S3 is reached through a throttling proxy, so the upload takes seconds; the kill
// comes once an object of the period is in the bucket while the index does not link it yet.
func TestKillDuringS3Upload(t *testing.T) {
	f := newFaultSite(t)
	f.prepare(t, 1200, 10) // 120 % of both budgets
	before, _ := f.index(t, "before")
	alerts0, _ := f.mailOnce(t, "before")

	env := maps.Clone(f.env)
	env["AISPEND_S3_ENDPOINT"] = "http://" + throttle(t, strings.TrimPrefix(f.s3.Endpoint, "http://"), 200<<10)
	r := startBinary(t, env, "run", "--log-format", "json", "--date", "2026-10-01")
	poll(t, r, 45*time.Second, "object of the period in the bucket", func() bool {
		for k := range f.objects(t) {
			if strings.HasPrefix(k, periodDir) {
				return true
			}
		}
		return false
	})
	r.kill(t)
	var present []string
	for k := range f.objects(t) {
		if strings.HasPrefix(k, periodDir) {
			present = append(present, k)
		}
	}
	t.Logf("killed with %v in the bucket", present)

	after, links := f.index(t, "after the kill")
	if after != before || slices.Contains(links, periodDir+"index.html") {
		t.Errorf("index.html changed by the killed run (links %v)", links)
	}
	alerts, digests := f.mailOnce(t, "after the kill")
	if alerts <= alerts0 || digests != 1 {
		t.Fatalf("after the kill: %d alerts (%d before the run), %d digests; want the run's alerts sent before publishing and no digest of the killed period", alerts, alerts0, digests)
	}
	f.rerun(t, alerts)
}

// Ensures a run killed with SIGKILL while it writes the workbook publishes nothing of the period,
// leaves the index as it was, and that the next run completes without sending anything twice. The
// workbook's events come through a throttling proxy in front of PostgreSQL (REPORT_DATABASE_URL),
// so writing it takes seconds; the kill comes once the temporary workbook file exists in TMPDIR.
func TestKillDuringWorkbookWrite(t *testing.T) {
	f := newFaultSite(t)
	const events, pad = 600, 1000 // about 600 KB of event rows to read
	f.prepare(t, events, pad)
	before, _ := f.index(t, "before")
	alerts0, _ := f.mailOnce(t, "before")

	env := maps.Clone(f.env)
	pgAddr := dbHostPort(t, f.dbURL)
	env["REPORT_DATABASE_URL"] = strings.Replace(f.dbURL, pgAddr, throttle(t, pgAddr, 100<<10), 1)
	r := startBinary(t, env, "run", "--log-format", "json", "--date", "2026-10-01")
	var workbook string
	poll(t, r, 45*time.Second, "temporary workbook in TMPDIR", func() bool {
		m, _ := filepath.Glob(filepath.Join(f.tmp, "aispend-workbook-*.xlsx"))
		if len(m) == 1 {
			workbook = m[0]
		}
		return len(m) == 1
	})
	r.kill(t)
	for k := range f.objects(t) {
		if strings.HasPrefix(k, periodDir) {
			t.Errorf("killed during the workbook, yet %s was published", k)
		}
	}
	if strings.Contains(r.stderr.String(), `"msg":"workbook and events csv written"`) {
		t.Errorf("the workbook was finished before the kill:\n%s", r.stderr.String())
	}
	after, _ := f.index(t, "after the kill")
	if after != before {
		t.Error("index.html changed by the killed run")
	}
	alerts, digests := f.mailOnce(t, "after the kill")
	if alerts <= alerts0 || digests != 1 {
		t.Fatalf("after the kill: %d alerts (%d before the run), %d digests; want the run's alerts and no digest of the killed period", alerts, alerts0, digests)
	}
	if _, err := os.Stat(workbook); err != nil {
		t.Errorf("temporary workbook gone after the kill: %v", err)
	}
	t.Logf("killed while writing %s", workbook)
	f.rerun(t, alerts)
}

// dbHostPort is the host:port of a postgres:// URL.
func dbHostPort(t *testing.T, u string) string {
	t.Helper()
	rest := u[strings.Index(u, "://")+3:]
	if i := strings.LastIndexByte(rest[:strings.IndexByte(rest+"/", '/')], '@'); i >= 0 {
		rest = rest[i+1:]
	}
	if i := strings.IndexAny(rest, "/?"); i >= 0 {
		rest = rest[:i]
	}
	if _, _, err := net.SplitHostPort(rest); err != nil {
		t.Fatalf("database URL %s: no host:port (%v)", u, err)
	}
	return rest
}

// mount runs mount(8) with args and unmounts target when the test ends.
func mount(t *testing.T, target string, args ...string) {
	t.Helper()
	if out, err := exec.Command("mount", append(args, target)...).CombinedOutput(); err != nil {
		t.Fatalf("mount %v %s: %v: %s (this test needs root with CAP_SYS_ADMIN and mount(8) from util-linux)", args, target, err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", target).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", target, err, out)
			exec.Command("umount", "-l", target).Run()
		}
	})
}

// snapshot reads every file under dir.
func snapshot(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	m := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, e os.DirEntry, err error) error {
		if err != nil || !e.Type().IsRegular() {
			return err
		}
		b, err := os.ReadFile(p)
		m[p] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// checkUndamaged compares the files under dir with an earlier snapshot, and checks that every
// link of the landing page resolves to a file.
func checkUndamaged(t *testing.T, dir string, before map[string][]byte) {
	t.Helper()
	after := snapshot(t, dir)
	for p, b := range before {
		if a, ok := after[p]; !ok {
			t.Errorf("%s is gone", p)
		} else if !bytes.Equal(a, b) {
			t.Errorf("%s changed (%d bytes, was %d)", p, len(a), len(b))
		}
	}
	for p := range after {
		if _, ok := before[p]; !ok && !strings.HasSuffix(p, "filler") {
			t.Errorf("new file %s left in the output directory", p)
		}
	}
	index := readFile(t, filepath.Join(dir, "index.html"))
	for _, k := range siteLinks(t, "index.html", index) {
		if _, err := os.Stat(filepath.Join(dir, k)); err != nil {
			t.Errorf("index.html links a missing file: %v", err)
		}
	}
}

// checkOneLineError checks that a failed run exited non-zero and that stderr ends with one line
// "aispend: …" naming path; it returns that line.
func checkOneLineError(t *testing.T, r *binRun, err error, path string) string {
	t.Helper()
	if err == nil {
		t.Fatalf("run succeeded\nstdout: %s\nstderr: %s", r.stdout.String(), r.stderr.String())
	}
	lines := strings.Split(strings.TrimRight(r.stderr.String(), "\n"), "\n")
	last := lines[len(lines)-1]
	var errLines int
	for _, l := range lines {
		if strings.HasPrefix(l, "aispend:") {
			errLines++
		}
	}
	if !strings.HasPrefix(last, "aispend: ") || errLines != 1 || !strings.Contains(last, path) {
		t.Errorf("stderr does not end with one error line naming %s:\n%s", path, r.stderr.String())
	}
	return last
}

// Ensures a run into an output directory that cannot be written (a read-only bind mount, which
// stops root too) exits non-zero with one error line naming the path, and leaves every file of an
// earlier run byte-identical, the index linking only existing files.
func TestRunOutputNotWritable(t *testing.T) {
	srv := mailtest.Start(t)
	env, dbURL := batchEnv(t, srv.SMTPPort)
	out := env["AISPEND_OUTPUT"]
	env["TMPDIR"] = t.TempDir()
	insertSpend(t, dbURL, "2026-09-30", 50, 10)
	r := startBinary(t, env, "run", "--log-format", "json", "--date", "2026-09-30")
	if err := r.wait(t, 60*time.Second); err != nil {
		t.Fatalf("first run: %v\n%s", err, r.stderr.String())
	}
	before := snapshot(t, out)
	mount(t, out, "--bind", out)
	if b, err := exec.Command("mount", "-o", "remount,bind,ro", out).CombinedOutput(); err != nil {
		t.Fatalf("remount %s read-only: %v: %s", out, err, b)
	}

	insertSpend(t, dbURL, "2026-10-01", 50, 10)
	for _, date := range []string{"2026-09-30", "2026-10-01"} { // the same period again, and a new one
		r = startBinary(t, env, "run", "--log-format", "json", "--date", date)
		line := checkOneLineError(t, r, r.wait(t, 60*time.Second), out)
		if !strings.Contains(line, "read-only file system") {
			t.Errorf("error line does not say why: %s", line)
		}
		t.Logf("%s: %s", date, line)
		checkUndamaged(t, out, before)
	}
}

// Ensures a run into a full output directory (a small tmpfs, filled so that the workbook does
// not fit) exits non-zero with one error line naming the path, and leaves every file of an
// earlier run byte-identical, the index linking only existing files.
func TestRunOutputDiskFull(t *testing.T) {
	srv := mailtest.Start(t)
	env, dbURL := batchEnv(t, srv.SMTPPort)
	out := env["AISPEND_OUTPUT"]
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	mount(t, out, "-t", "tmpfs", "-o", "size=4m", "aispend-test")
	env["TMPDIR"] = t.TempDir()
	env["AISPEND_REPORTS_EVENTS_EXPORT"] = "false" // no events or FOCUS CSV: the workbook is the first large upload
	insertSpend(t, dbURL, "2026-09-30", 50, 10)
	r := startBinary(t, env, "run", "--log-format", "json", "--date", "2026-09-30")
	if err := r.wait(t, 60*time.Second); err != nil {
		t.Fatalf("first run: %v\n%s", err, r.stderr.String())
	}
	book := filepath.Join(out, "daily/2026-09-30/aispend-daily-2026-09-30.xlsx")
	st, err := os.Stat(book)
	if err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, out)

	// Fill the disk, then free less than the workbook needs.
	filler, err := os.Create(filepath.Join(out, "filler"))
	if err != nil {
		t.Fatal(err)
	}
	chunk := make([]byte, 64<<10)
	for {
		if _, err := filler.Write(chunk); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatal(err)
			}
			break
		}
	}
	size, _ := filler.Seek(0, io.SeekCurrent)
	if err := filler.Truncate(size - st.Size()/2); err != nil {
		t.Fatal(err)
	}
	filler.Close()
	before[filler.Name()] = nil
	b, _ := os.ReadFile(filler.Name())
	before[filler.Name()] = b

	insertSpend(t, dbURL, "2026-09-30", 500, 10) // more events: the new workbook is larger
	r = startBinary(t, env, "run", "--log-format", "json", "--date", "2026-09-30")
	line := checkOneLineError(t, r, r.wait(t, 60*time.Second), out)
	if !strings.Contains(line, "no space left on device") || !strings.Contains(line, "aispend-daily-2026-09-30.xlsx") {
		t.Errorf("error line does not say the workbook did not fit: %s", line)
	}
	t.Logf("%s", line)
	checkUndamaged(t, out, before)
}
