package artifact_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/minio/minio-go/v7"
	"github.com/shopspring/decimal"

	"github.com/aispend/aispend/collect"
	"github.com/aispend/aispend/collect/testkit"
	"github.com/aispend/aispend/collect/testkit/eventtest"
	"github.com/aispend/aispend/collect/testkit/pgtest"
	"github.com/aispend/aispend/collect/testkit/s3test"
	"github.com/aispend/aispend/collect/testkit/sheettest"
	"github.com/aispend/aispend/report"
	"github.com/aispend/aispend/report/artifact"
	"github.com/aispend/aispend/report/email"
	"github.com/aispend/aispend/report/mail"
	"github.com/aispend/aispend/report/pgquery"
	"github.com/aispend/aispend/report/publish"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// costs have many decimals, so that a total rounded anywhere would show.
var costs = []string{"0.000123456789", "12.3456789012", "7.8", "0.000000000001", "123.456789"}

// seed stores n events on the day of p (one in three without a user, one in seven unpriced) and
// returns the database's own sum of their cost.
func seed(t *testing.T, pool *pgxpool.Pool, day time.Time, n int) decimal.Decimal {
	t.Helper()
	var rows []collect.Row
	for i := range n {
		r := eventtest.Row(fmt.Sprintf("%s-%s-%d", t.Name(), day.Format(time.DateOnly), i), day.Add(time.Duration(i)*7*time.Minute))
		r.Service, r.Model = []string{"QA_CHAT", "MATCH_EXPLANATION", "SUMMARY"}[i%3], []string{"claude-sonnet-4-5", "gpt-4o"}[i%2]
		r.Provider, r.InputTokens, r.OutputTokens, r.CostSource = "", 100, 50, "provider"
		r.DurationMS, r.Success, r.CacheHit, r.OrgID = int64(100+i), i%5 != 0, i%4 == 0, fmt.Sprintf("org-%d", i%2)
		if i%3 != 0 {
			r.UserID = fmt.Sprintf("user-%d", i%4)
		}
		eventtest.Price(&r, costs[i%len(costs)])
		if i%7 == 3 {
			eventtest.Price(&r, "")
		}
		rows = append(rows, r)
	}
	eventtest.Insert(t, pool, rows...)
	return eventtest.CostSum(t, pool, day, day.AddDate(0, 0, 1))
}

// env is one test's batch job: real PostgreSQL, outputs to a target, mail to an outbox directory.
type env struct {
	pool   *pgxpool.Pool
	outbox string
	now    time.Time
	// sheetMax and dryDir are the outputs' EventsSheetMaxRows and DryRunDir (0, "": defaults).
	sheetMax int
	dryDir   string
	// attach and attachMax are the outputs' AttachWorkbook and AttachMaxBytes.
	attach    bool
	attachMax int64
	// unitPrices is the outputs' UnitPrices (the FOCUS export's list prices); nil: none.
	unitPrices report.UnitPrices
}

func newEnv(t *testing.T) *env {
	return &env{pool: pgtest.Pool(t), outbox: filepath.Join(t.TempDir(), "outbox"), now: time.Date(2026, 10, 3, 9, 0, 0, 0, seoul)}
}

// store lets a test break one of the outputs' reads.
type store struct {
	*pgquery.Store
	eventsErr error
}

func (s store) Events(ctx context.Context, from, to time.Time, emit func(report.Event) error) error {
	if s.eventsErr != nil {
		return s.eventsErr
	}
	return s.Store.Events(ctx, from, to, emit)
}

// Report gives the report an event snapshot that fails with eventsErr, if set.
func (s store) Report(ctx context.Context, req report.ReportRequest) (*report.Report, error) {
	rep, err := s.Store.Report(ctx, req)
	if err == nil && s.eventsErr != nil && rep.Events != nil {
		rep.Events.Close()
		rep.Events = failingEvents{s.eventsErr}
	}
	return rep, err
}

type failingEvents struct{ err error }

func (f failingEvents) Events(context.Context, time.Time, time.Time, func(report.Event) error) error {
	return f.err
}
func (failingEvents) Close() {}

func (e *env) job(t *testing.T, target publish.Target, st artifact.Store) *report.Job {
	t.Helper()
	sender, err := mail.NewOutbox(e.outbox, "aispend@example.com")
	if err != nil {
		t.Fatal(err)
	}
	budgets := []report.Budget{{Name: "daily-total", Period: report.Daily, Amount: testkit.Dec("100"), Thresholds: []int{50}}}
	if st == nil {
		st = store{Store: pgquery.New(e.pool)}
	}
	o, err := artifact.New(artifact.Config{
		Store: st, Target: target, Sender: sender, Budgets: budgets, Location: seoul,
		From: "aispend@example.com", Recipients: []string{"cfo@example.com"},
		MaxEventRowsPerSheet: 25, EventsSheetMaxRows: e.sheetMax, DryRunDir: e.dryDir, Now: func() time.Time { return e.now },
		AttachWorkbook: e.attach, AttachMaxBytes: e.attachMax, UnitPrices: e.unitPrices,
	})
	if err != nil {
		t.Fatal(err)
	}
	var js report.Store = pgquery.New(e.pool)
	if s, ok := st.(store); ok {
		js = s // the same failures for the report's own event snapshot
	}
	return &report.Job{Store: js, ComposeAlert: email.AlertEmail, Sender: sender, Budgets: budgets, Location: seoul, Currency: "USD",
		From: "aispend@example.com", Recipients: []string{"finance@example.com"}, MessageIDDomain: "example.com",
		Outputs: o, Now: func() time.Time { return e.now }}
}

func day(d int) report.Period {
	return report.PeriodContaining(report.Daily, time.Date(2026, 10, d, 0, 0, 0, 0, seoul), seoul)
}

func stepNames(res *report.Result) []string {
	var out []string
	for _, s := range res.Steps {
		out = append(out, s.Name)
	}
	return out
}

func failedSteps(res *report.Result) []string {
	var out []string
	for _, s := range res.Steps {
		if s.Err != nil {
			out = append(out, s.Name)
		}
	}
	return out
}

// outbox lists the messages written to the outbox.
func (e *env) outboxMessages(t *testing.T) []string {
	t.Helper()
	entries, err := os.ReadDir(e.outbox)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	var out []string
	for _, en := range entries {
		b, err := os.ReadFile(filepath.Join(e.outbox, en.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, string(b))
	}
	return out
}

// digests are the messages that are not alerts (alerts carry X-Aispend-Alert).
func digests(msgs []string) []string {
	var out []string
	for _, m := range msgs {
		if !strings.Contains(m, "X-Aispend-Alert:") {
			out = append(out, m)
		}
	}
	return out
}

var linkRe = regexp.MustCompile(`(?:href|src)="([^"#]+)"`)

// links are the site keys an HTML file at key links to (relative links resolved).
func links(t *testing.T, key, html string) []string {
	t.Helper()
	var out []string
	for _, m := range linkRe.FindAllStringSubmatch(html, -1) {
		u := m[1]
		if strings.Contains(u, "://") {
			t.Errorf("%s links to %s: the site must only link within itself", key, u)
			continue
		}
		out = append(out, path.Join(path.Dir(key), u))
	}
	return out
}

// Ensures a run produces, after its alerts, the page (with this run's alert in its history), the
// workbook (every event, continued past the row limit), the assets and the landing page, and a
// digest listing the alert; and that the workbook's Summary total, the sum of its Events sheets,
// the page's total and the database agree to the last unit.
func TestRunProducesSiteWorkbookAndDigest(t *testing.T) {
	e := newEnv(t)
	dir := t.TempDir()
	const n = 60
	want := seed(t, e.pool, day(2).Start, n)
	ctx := context.Background()
	res, err := e.job(t, publish.Dir{Root: dir}, nil).Run(ctx, day(2), report.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := stepNames(res); !slices.Equal(got, []string{"statistics", "budgets", "alerts", "pages", "workbooks", "publish", "digest"}) {
		t.Errorf("steps %v", got)
	}
	if res.Alerts.Sent != 1 || len(res.SentAlerts) != 1 || res.SentAlerts[0].Status != report.StatusSent {
		t.Fatalf("alerts %+v, sent %+v", res.Alerts, res.SentAlerts)
	}
	wantKeys := []string{"daily/2026-10-02/aispend-daily-2026-10-02.xlsx", "daily/2026-10-02/index.html", "index.html", "assets/echarts.min.js", "assets/site.js", "assets/site.css"}
	for _, k := range wantKeys {
		if !slices.Contains(res.Published, k) {
			t.Errorf("published %v lacks %s", res.Published, k)
		}
		if _, err := os.Stat(filepath.Join(dir, k)); err != nil {
			t.Errorf("out dir: %v", err)
		}
	}
	if res.Published[len(res.Published)-1] != "index.html" {
		t.Errorf("index.html published before %s", res.Published[len(res.Published)-1])
	}

	// Totals: the page view, the workbook, the database.
	pageTotal := artifact.Page(res.Report, nil, e.now, "").KPIs.TotalCost
	summary, events, rows := sheettest.Totals(t, filepath.Join(dir, "daily/2026-10-02/aispend-daily-2026-10-02.xlsx"))
	if !pageTotal.Equal(want) || !summary.Equal(want) || !events.Equal(want) || rows != n {
		t.Errorf("totals: page %s, workbook summary %s, events sheets %s (%d rows); database %s (%d events)", pageTotal, summary, events, rows, want, n)
	}
	page, err := os.ReadFile(filepath.Join(dir, "daily/2026-10-02/index.html"))
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{`<strong>daily-total</strong> crossed 50% on actual spend`, `<span class="status">sent</span>`,
		`href="aispend-daily-2026-10-02.xlsx"`, "Asia/Seoul"} {
		if !strings.Contains(string(page), w) {
			t.Errorf("page lacks %q (the alert history must include this run's alert)", w)
		}
	}
	ds := digests(e.outboxMessages(t))
	if len(ds) != 1 || !strings.Contains(ds[0], "daily-total") || !strings.Contains(ds[0], "Message-Id: <") {
		t.Fatalf("digests in the outbox: %d", len(ds))
	}

	// A re-run overwrites, and does not send the digest again.
	res2, err := e.job(t, publish.Dir{Root: dir}, nil).Run(ctx, day(2), report.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res2.SentAlerts) != 0 || len(digests(e.outboxMessages(t))) != 1 {
		t.Errorf("re-run: %d alerts sent, %d digests", len(res2.SentAlerts), len(digests(e.outboxMessages(t))))
	}
}

// Ensures a workbook that cannot be made leaves the rest: the page is published without a
// workbook link, the landing page links the page only, the digest is still sent, and the run
// reports the failed step.
func TestFailedWorkbookKeepsPage(t *testing.T) {
	e := newEnv(t)
	dir := t.TempDir()
	seed(t, e.pool, day(2).Start, 5)
	broken := store{Store: pgquery.New(e.pool), eventsErr: errors.New("connection reset")}
	res, err := e.job(t, publish.Dir{Root: dir}, broken).Run(context.Background(), day(2), report.RunOptions{})
	if err == nil || !slices.Equal(failedSteps(res), []string{"workbooks"}) {
		t.Fatalf("run: %v; failed steps %v", err, failedSteps(res))
	}
	page, err := os.ReadFile(filepath.Join(dir, "daily/2026-10-02/index.html"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(page), ".xlsx") {
		t.Error("the page links a workbook that was not made")
	}
	index, _ := os.ReadFile(filepath.Join(dir, "index.html"))
	for _, k := range links(t, "index.html", string(index)) {
		if _, err := os.Stat(filepath.Join(dir, k)); err != nil {
			t.Errorf("index links a missing file: %v", err)
		}
	}
	if !strings.Contains(string(index), "daily/2026-10-02/index.html") {
		t.Error("index does not link the page")
	}
	if len(digests(e.outboxMessages(t))) != 1 {
		t.Error("digest not sent")
	}
}

// stopOnPut stops the S3 server when the upload of a key begins: storage goes away in the middle
// of publishing, after the workbook and assets and before the period page and the index.
type stopOnPut struct {
	base  http.RoundTripper
	srv   *s3test.Server
	key   string
	armed bool
	once  sync.Once
}

func (s *stopOnPut) RoundTrip(r *http.Request) (*http.Response, error) {
	if s.armed && r.Method == http.MethodPut && strings.HasSuffix(r.URL.Path, "/"+s.key) {
		s.once.Do(s.srv.Stop)
	}
	return s.base.RoundTrip(r)
}

func bucketObjects(t *testing.T, srv *s3test.Server) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	for o := range srv.Client().ListObjects(context.Background(), srv.Bucket, minio.ListObjectsOptions{Recursive: true}) {
		if o.Err != nil {
			t.Fatalf("list bucket: %v", o.Err)
		}
		out[o.Key] = true
	}
	return out
}

func bucketIndexLinks(t *testing.T, srv *s3test.Server, prefix string) []string {
	t.Helper()
	o, err := srv.Client().GetObject(context.Background(), srv.Bucket, prefix+"/index.html", minio.GetObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	b, err := io.ReadAll(o)
	if err != nil {
		t.Fatalf("read index: %v", err)
	}
	return links(t, "index.html", string(b))
}

// Ensures storage failing in the middle of publishing fails the run, leaves the bucket's index
// linking only objects that exist, holds the digest back, and that the next run, with storage
// back, publishes everything and sends the digest.
func TestStorageDownDuringPublish(t *testing.T) {
	e := newEnv(t)
	srv := s3test.Start(t)
	const prefix = "sites/acme"
	kill := &stopOnPut{base: http.DefaultTransport, srv: srv, key: "daily/2026-10-02/index.html"}
	target, err := publish.NewS3(publish.S3Config{
		Endpoint: srv.Endpoint, Region: srv.Region, PathStyle: true, AccessKey: srv.AccessKey, SecretKey: srv.SecretKey,
		Bucket: srv.Bucket, Prefix: prefix, MaxRetries: 1, Attempts: 2, Backoff: 10 * time.Millisecond, Transport: kill,
	})
	if err != nil {
		t.Fatal(err)
	}
	seed(t, e.pool, day(1).Start, 5)
	seed(t, e.pool, day(2).Start, 5)
	ctx := context.Background()
	if _, err := e.job(t, target, nil).Run(ctx, day(1), report.RunOptions{}); err != nil {
		t.Fatalf("first day: %v", err)
	}
	kill.armed = true
	res, err := e.job(t, target, nil).Run(ctx, day(2), report.RunOptions{})
	if err == nil || !slices.Equal(failedSteps(res), []string{"publish", "digest"}) {
		t.Fatalf("run with storage down: %v; failed steps %v", err, failedSteps(res))
	}
	srv.Restart()
	objects := bucketObjects(t, srv)
	if !objects[prefix+"/daily/2026-10-02/aispend-daily-2026-10-02.xlsx"] || objects[prefix+"/daily/2026-10-02/index.html"] {
		t.Errorf("storage stopped at the page upload, yet the bucket holds %v", objects)
	}
	for _, k := range bucketIndexLinks(t, srv, prefix) {
		if !objects[prefix+"/"+k] {
			t.Errorf("index links %s, which is not in the bucket", k)
		}
		if strings.Contains(k, "2026-10-02") {
			t.Errorf("index links %s of the failed run", k)
		}
	}
	if got := len(digests(e.outboxMessages(t))); got != 1 {
		t.Errorf("%d digests after the failed run; want only the first day's", got)
	}

	// The next run completes.
	kill.armed = false
	if _, err := e.job(t, target, nil).Run(ctx, day(2), report.RunOptions{}); err != nil {
		t.Fatalf("run after restart: %v", err)
	}
	objects = bucketObjects(t, srv)
	ls := bucketIndexLinks(t, srv, prefix)
	for _, k := range ls {
		if !objects[prefix+"/"+k] {
			t.Errorf("index links %s, which is not in the bucket", k)
		}
	}
	for _, k := range []string{"daily/2026-10-01/index.html", "daily/2026-10-02/index.html", "daily/2026-10-02/aispend-daily-2026-10-02.xlsx"} {
		if !slices.Contains(ls, k) {
			t.Errorf("index does not link %s (links %v)", k, ls)
		}
	}
	if got := len(digests(e.outboxMessages(t))); got != 2 {
		t.Errorf("%d digests; want one per day", got)
	}
}
