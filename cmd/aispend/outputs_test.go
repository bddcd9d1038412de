package main

import (
	"bytes"
	"context"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/shopspring/decimal"

	"github.com/aispend/aispend/collect"
	"github.com/aispend/aispend/collect/testkit/browsertest"
	"github.com/aispend/aispend/collect/testkit/eventtest"
	"github.com/aispend/aispend/collect/testkit/mailtest"
	"github.com/aispend/aispend/collect/testkit/pgtest"
	"github.com/aispend/aispend/collect/testkit/s3test"
	"github.com/aispend/aispend/collect/testkit/sheettest"
	"github.com/aispend/aispend/report/format"
	"github.com/aispend/aispend/report/runlog"
)

var seoulZone = func() *time.Location {
	l, err := time.LoadLocation("Asia/Seoul")
	if err != nil {
		panic(err)
	}
	return l
}()

// Event text that must stay text on the published page.
const (
	hostileUser  = `</script><script>document.title='pwned'</script>`
	hostileModel = `__f__alert(1)__f__`
)

// insertDay stores n events on a Seoul day, with costs of many decimals, some unpriced, some
// without a user, and hostile ids; it returns the database's sum of the day's cost.
func insertDay(t *testing.T, dbURL, date string, n int) decimal.Decimal {
	t.Helper()
	pool := pgtest.Connect(t, dbURL)
	day := seoulDay(t, date)
	costs := []string{"0.123456789012", "1.5", "0.000000000007", "12.3456789"}
	var rows []collect.Row
	for i := range n {
		r := eventtest.Row(fmt.Sprintf("%s-%s-%d", t.Name(), date, i), day.Add(time.Duration(i)*11*time.Minute))
		r.Service, r.Model = []string{"QA_CHAT", "MATCH_EXPLANATION", "SUMMARY"}[i%3], []string{"claude-sonnet-4-5", hostileModel}[i%2]
		r.Provider, r.InputTokens, r.CostSource = "", 1000, "provider"
		r.DurationMS, r.Success, r.CacheHit, r.OrgID = int64(200+13*i), i%6 != 0, i%5 == 0, fmt.Sprintf("org-%d", i%3)
		switch i % 4 {
		case 0:
		case 1:
			r.UserID = hostileUser
		default:
			r.UserID = fmt.Sprintf("user-%d", i%7)
		}
		eventtest.Price(&r, costs[i%len(costs)])
		if i%9 == 4 {
			eventtest.Price(&r, "")
		}
		rows = append(rows, r)
	}
	eventtest.Insert(t, pool, rows...)
	return eventtest.CostSum(t, pool, day, day.AddDate(0, 0, 1))
}

// seoulDay is the start of date (YYYY-MM-DD) in Seoul.
func seoulDay(t *testing.T, date string) time.Time {
	t.Helper()
	day, err := time.ParseInLocation(time.DateOnly, date, seoulZone)
	if err != nil {
		t.Fatal(err)
	}
	return day
}

var (
	kpiTotalRe = regexp.MustCompile(`<p class="kpi-label">Total cost</p>\s*<p class="kpi-value">([^<]*)</p>`)
	linkAttrRe = regexp.MustCompile(`(?:href|src)="([^"#]+)"`)
)

// siteLinks are the site keys that the HTML at key links to; a link out of the site is an error.
func siteLinks(t *testing.T, key, page string) []string {
	t.Helper()
	var out []string
	for _, m := range linkAttrRe.FindAllStringSubmatch(page, -1) {
		if strings.Contains(m[1], "://") {
			t.Errorf("%s links out of the site: %s", key, m[1])
			continue
		}
		out = append(out, path.Join(path.Dir(key), html.UnescapeString(m[1])))
	}
	return out
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func digestMessages(t *testing.T, srv *mailtest.Server) []mailtest.Summary {
	t.Helper()
	var out []mailtest.Summary
	for _, m := range srv.Messages(t) {
		if strings.Contains(m.Subject, "digest") {
			out = append(out, m)
		}
	}
	return out
}

var hrefRe = regexp.MustCompile(`href="([^"]+)"`)

// Ensures `aispend run` renders and publishes the period's page, workbook, assets and landing
// page into the output directory, with totals equal in the workbook, on the page and in the
// database; emails one digest whose links resolve (through a web server over the output
// directory) and which has no script and no remote content; records the published keys; sends
// the digest again only with --resend-digest (same Message-ID); and that --dry-run renders
// everything into its own directory and publishes and sends nothing.
func TestRunPublishesSiteAndEmailsDigest(t *testing.T) {
	srv := mailtest.Start(t)
	env, dbURL := batchEnv(t, srv.SMTPPort)
	out := env["AISPEND_OUTPUT"]
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	web := httptest.NewServer(http.StripPrefix("/site", http.FileServer(http.Dir(out))))
	defer web.Close()
	env["AISPEND_PUBLIC_URL"] = web.URL + "/site"
	const n = 40
	want := insertDay(t, dbURL, "2026-10-01", n)
	ctx := context.Background()
	args := []string{"run", "--date", "2026-10-01"}
	var stdout, logs bytes.Buffer

	dry := t.TempDir()
	if err := run(ctx, append(args, "--dry-run", "--dry-run-dir", dry), envMap(env), &stdout, &logs); err != nil {
		t.Fatalf("dry run: %v\n%s", err, logs.String())
	}
	for _, k := range []string{"index.html", "daily/2026-10-01/index.html", "daily/2026-10-01/aispend-daily-2026-10-01.xlsx",
		"daily/2026-10-01/aispend-daily-2026-10-01-events.csv.gz", "assets/echarts.min.js"} {
		if _, err := os.Stat(filepath.Join(dry, k)); err != nil {
			t.Errorf("dry run did not render %s: %v", k, err)
		}
	}
	if emls, _ := filepath.Glob(filepath.Join(dry, "outbox", "*.eml")); len(emls) != 1 {
		t.Errorf("dry run: %d digests in %s/outbox; want 1", len(emls), dry)
	}
	if entries, _ := os.ReadDir(out); len(entries) != 0 || len(srv.Messages(t)) != 0 {
		t.Fatalf("dry run published %d files and sent %d emails", len(entries), len(srv.Messages(t)))
	}
	if !strings.Contains(stdout.String(), dry) {
		t.Errorf("dry run does not say where its files are: %q", stdout.String())
	}

	stdout.Reset()
	if err := run(ctx, args, envMap(env), &stdout, &logs); err != nil {
		t.Fatalf("run: %v\n%s", err, logs.String())
	}
	if !strings.Contains(stdout.String(), "files published") {
		t.Errorf("summary %q", stdout.String())
	}
	for _, k := range []string{"index.html", "daily/2026-10-01/index.html", "daily/2026-10-01/aispend-daily-2026-10-01.xlsx",
		"daily/2026-10-01/aispend-daily-2026-10-01-events.csv.gz", "assets/echarts.min.js"} {
		if _, err := os.Stat(filepath.Join(out, k)); err != nil {
			t.Errorf("out dir: %v", err)
		}
	}

	// Totals agree: workbook Summary, the Events sheets, the page's KPI and the database.
	summary, events, rows := sheettest.Totals(t, filepath.Join(out, "daily/2026-10-01/aispend-daily-2026-10-01.xlsx"))
	if !summary.Equal(want) || !events.Equal(want) || rows != n {
		t.Errorf("workbook: summary %s, events %s in %d rows; database %s in %d events", summary, events, rows, want, n)
	}
	page := readFile(t, filepath.Join(out, "daily/2026-10-01/index.html"))
	m := kpiTotalRe.FindStringSubmatch(page)
	if m == nil || html.UnescapeString(m[1]) != format.Format(want, "KRW") {
		t.Errorf("page total %q; database %s (%s)", m, want, format.Format(want, "KRW"))
	}
	index := readFile(t, filepath.Join(out, "index.html"))
	for _, k := range append(siteLinks(t, "index.html", index), siteLinks(t, "daily/2026-10-01/index.html", page)...) {
		if _, err := os.Stat(filepath.Join(out, k)); err != nil {
			t.Errorf("broken link: %v", err)
		}
	}

	// The digest: received, no script, no remote content, links that resolve.
	ds := digestMessages(t, srv)
	if len(ds) != 1 || ds[0].To[0].Address != "finance@example.com" {
		t.Fatalf("digests %+v", ds)
	}
	d := srv.Message(t, ds[0].ID)
	if strings.Contains(strings.ToLower(d.HTML), "<script") || strings.Contains(strings.ToLower(d.HTML), "src=") {
		t.Error("digest HTML has a script or loads something")
	}
	var got []string
	for _, m := range hrefRe.FindAllStringSubmatch(d.HTML, -1) {
		u := html.UnescapeString(m[1])
		got = append(got, u)
		resp, err := http.Get(u)
		if err != nil {
			t.Errorf("digest link %s: %v", u, err)
			continue
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("digest link %s: %s", u, resp.Status)
		}
	}
	for _, w := range []string{web.URL + "/site/daily/2026-10-01/index.html", web.URL + "/site/daily/2026-10-01/aispend-daily-2026-10-01.xlsx",
		web.URL + "/site/daily/2026-10-01/aispend-daily-2026-10-01-events.csv.gz"} {
		if !slices.Contains(got, w) {
			t.Errorf("digest links %v; want %s", got, w)
		}
	}

	// Recorded in the runs table.
	pool := pgtest.Connect(t, dbURL)
	recent, err := runlog.New(pool, runlog.Options{}).Recent(ctx, 1)
	if err != nil || len(recent) != 1 {
		t.Fatalf("runs: %v", err)
	}
	for _, k := range []string{"daily/2026-10-01/index.html", "daily/2026-10-01/aispend-daily-2026-10-01.xlsx",
		"daily/2026-10-01/aispend-daily-2026-10-01-events.csv.gz", "index.html"} {
		if !slices.Contains(recent[0].PublishedKeys, k) {
			t.Errorf("runs table published keys %v lack %s", recent[0].PublishedKeys, k)
		}
	}

	// A re-run does not send the digest again; --resend-digest does, with the same Message-ID.
	if err := run(ctx, args, envMap(env), &stdout, &logs); err != nil {
		t.Fatal(err)
	}
	if got := len(digestMessages(t, srv)); got != 1 {
		t.Errorf("%d digests after a re-run; want 1", got)
	}
	if err := run(ctx, append(args, "--resend-digest"), envMap(env), &stdout, &logs); err != nil {
		t.Fatal(err)
	}
	ds = digestMessages(t, srv)
	if len(ds) != 2 || ds[0].MessageID != ds[1].MessageID {
		t.Errorf("after --resend-digest: %d digests, Message-IDs %v", len(ds), ds)
	}
}

// Ensures the page published by `aispend run`, opened from the output directory with the
// network off, draws its three charts, shows hostile event text as text, reports no console
// error and loads nothing but its own files.
func TestRunPublishedPageInBrowser(t *testing.T) {
	b := browsertest.New(t)
	env, dbURL := batchEnv(t, 1)
	delete(env, "AISPEND_SMTP_HOST") // emails go to the outbox
	insertDay(t, dbURL, "2026-10-01", 30)
	var stdout, logs bytes.Buffer
	if err := run(context.Background(), []string{"run", "--date", "2026-10-01"}, envMap(env), &stdout, &logs); err != nil {
		t.Fatalf("run: %v\n%s", err, logs.String())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	p, err := b.NewPage(ctx, 1280, 900)
	if err != nil {
		t.Fatal(err)
	}
	pagePath, err := filepath.Abs(filepath.Join(env["AISPEND_OUTPUT"], "daily/2026-10-01/index.html"))
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Navigate(ctx, (&url.URL{Scheme: "file", Path: pagePath}).String()); err != nil {
		t.Fatal(err)
	}
	for {
		var drawn bool
		if err := p.Eval(ctx, "document.querySelectorAll('.chart canvas').length === 3", &drawn); err != nil {
			t.Fatal(err)
		}
		if drawn {
			break
		}
		if errs := p.Errors(); len(errs) > 0 {
			t.Fatalf("charts not drawn; browser reported %v", errs)
		}
		select {
		case <-ctx.Done():
			t.Fatalf("charts not drawn: %v; messages %v", ctx.Err(), p.Messages())
		case <-time.After(50 * time.Millisecond):
		}
	}
	if err := p.Eval(ctx, "new Promise(r => requestAnimationFrame(() => requestAnimationFrame(() => r(true))))", nil); err != nil {
		t.Fatal(err)
	}
	var painted []float64
	js := `Array.from(document.querySelectorAll('.chart canvas')).map(cv => {
	  const px = cv.getContext('2d').getImageData(0, 0, cv.width, cv.height).data;
	  let n = 0; for (let i = 3; i < px.length; i += 4) if (px[i] > 0) n++;
	  return n / (cv.width * cv.height); })`
	if err := p.Eval(ctx, js, &painted); err != nil {
		t.Fatal(err)
	}
	for i, f := range painted {
		if f < 0.01 {
			t.Errorf("chart %d looks empty: %.4f of its pixels painted", i, f)
		}
	}
	var state struct {
		Title string `json:"title"`
		Text  string `json:"text"`
	}
	if err := p.Eval(ctx, `({title: document.title, text: document.body.innerText})`, &state); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(state.Title, "pwned") || !strings.Contains(state.Text, hostileUser) {
		t.Errorf("title %q; hostile user id shown as text: %v", state.Title, strings.Contains(state.Text, hostileUser))
	}
	// Models appear only in the bar chart: its labels hold the name as text (go-echarts' function
	// marker broken up by a zero-width space).
	var models []string
	if err := p.Eval(ctx, `echarts.getInstanceByDom(document.getElementById('chart-models')).getOption().yAxis[0].data`, &models); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, m := range models {
		found = found || strings.ReplaceAll(m, "\u200b", "") == hostileModel
	}
	if !found {
		t.Errorf("model chart labels %q lack %q", models, hostileModel)
	}
	for _, m := range p.Errors() {
		t.Errorf("browser reported %s", m)
	}
	for _, r := range p.Requests() {
		if !strings.HasPrefix(r, "file://") && !strings.HasPrefix(r, "data:") {
			t.Errorf("page requested %s", r)
		}
	}
}

// Ensures weekly and monthly runs publish under weekly/YYYY-Www/ and monthly/YYYY-MM/, and the
// landing page links every published period, newest first within each kind.
func TestRunWeeklyAndMonthly(t *testing.T) {
	env, dbURL := batchEnv(t, 1)
	delete(env, "AISPEND_SMTP_HOST")
	insertDay(t, dbURL, "2026-09-30", 5)
	insertDay(t, dbURL, "2026-10-01", 5)
	ctx := context.Background()
	var stdout, logs bytes.Buffer
	for _, a := range [][]string{
		{"--period", "daily", "--date", "2026-09-30"},
		{"--period", "daily", "--date", "2026-10-01"},
		{"--period", "weekly", "--date", "2026-10-01"},
		{"--period", "monthly", "--date", "2026-10-01"},
		{"--period", "monthly", "--date", "2026-09-15"},
	} {
		if err := run(ctx, append([]string{"run"}, a...), envMap(env), &stdout, &logs); err != nil {
			t.Fatalf("run %v: %v\n%s", a, err, logs.String())
		}
	}
	out := env["AISPEND_OUTPUT"]
	for _, k := range []string{"weekly/2026-W40/index.html", "weekly/2026-W40/aispend-weekly-2026-W40.xlsx",
		"monthly/2026-10/index.html", "monthly/2026-10/aispend-monthly-2026-10.xlsx", "monthly/2026-09/index.html"} {
		if _, err := os.Stat(filepath.Join(out, k)); err != nil {
			t.Errorf("out dir: %v", err)
		}
	}
	index := readFile(t, filepath.Join(out, "index.html"))
	links := siteLinks(t, "index.html", index)
	for _, k := range links {
		if _, err := os.Stat(filepath.Join(out, k)); err != nil {
			t.Errorf("index links a missing file: %v", err)
		}
	}
	pos := func(k string) int {
		i := strings.Index(index, `href="`+k+`"`)
		if i < 0 {
			t.Errorf("index does not link %s", k)
		}
		return i
	}
	pos("weekly/2026-W40/index.html")
	if pos("daily/2026-10-01/index.html") > strings.LastIndex(index, `href="daily/2026-09-30/index.html"`) {
		t.Error("daily reports not newest first")
	}
	if strings.LastIndex(index, `href="monthly/2026-10/index.html"`) > strings.LastIndex(index, `href="monthly/2026-09/index.html"`) {
		t.Error("monthly reports not newest first")
	}
	wtotal, _, _ := sheettest.Totals(t, filepath.Join(out, "weekly/2026-W40/aispend-weekly-2026-W40.xlsx"))
	d1, _, _ := sheettest.Totals(t, filepath.Join(out, "daily/2026-09-30/aispend-daily-2026-09-30.xlsx"))
	d2, _, _ := sheettest.Totals(t, filepath.Join(out, "daily/2026-10-01/aispend-daily-2026-10-01.xlsx"))
	if !wtotal.Equal(d1.Add(d2)) {
		t.Errorf("week total %s; days %s + %s", wtotal, d1, d2)
	}
}

// Ensures `aispend run` publishes to S3 (AISPEND_OUTPUT=s3://bucket/prefix) with the layout's keys
// and content types, that the digest links the page and workbook through working presigned URLs;
// that with storage down the run exits non-zero and the bucket's index links only objects that
// exist; and that after storage returns the next run completes.
func TestRunPublishesToS3(t *testing.T) {
	s3 := s3test.Start(t)
	mailSrv := mailtest.Start(t)
	env, dbURL := batchEnv(t, mailSrv.SMTPPort)
	// No public URL: links are presigned.
	cfgPath := filepath.Join(t.TempDir(), "aispend.yaml")
	if err := os.WriteFile(cfgPath, []byte(strings.Replace(batchConfig, "public_url: https://reports.example.com/ai\n", "", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	const prefix = "reports/acme"
	env["AISPEND_CONFIG"] = cfgPath
	env["AISPEND_OUTPUT"] = "s3://" + s3.Bucket + "/" + prefix
	env["AISPEND_S3_ENDPOINT"] = s3.Endpoint
	env["AISPEND_S3_REGION"] = s3.Region
	env["AISPEND_S3_ACCESS_KEY"] = s3.AccessKey
	env["AISPEND_S3_SECRET_KEY"] = s3.SecretKey
	env["AISPEND_S3_PATH_STYLE"] = "true"
	insertDay(t, dbURL, "2026-10-01", 10)
	insertDay(t, dbURL, "2026-10-02", 10)
	ctx := context.Background()
	var stdout, logs bytes.Buffer
	if err := run(ctx, []string{"run", "--date", "2026-10-01"}, envMap(env), &stdout, &logs); err != nil {
		t.Fatalf("run: %v\n%s", err, logs.String())
	}
	objects := func() map[string]string {
		t.Helper()
		m := map[string]string{}
		for o := range s3.Client().ListObjects(ctx, s3.Bucket, minio.ListObjectsOptions{Recursive: true}) {
			if o.Err != nil {
				t.Fatalf("list bucket: %v", o.Err)
			}
			st, err := s3.Client().StatObject(ctx, s3.Bucket, o.Key, minio.StatObjectOptions{})
			if err != nil {
				t.Fatal(err)
			}
			m[o.Key] = st.ContentType
		}
		return m
	}
	objs := objects()
	for k, ct := range map[string]string{
		"index.html":                                              "text/html; charset=utf-8",
		"daily/2026-10-01/index.html":                             "text/html; charset=utf-8",
		"assets/echarts.min.js":                                   "text/javascript; charset=utf-8",
		"assets/site.css":                                         "text/css; charset=utf-8",
		"assets/echarts-LICENSE.txt":                              "text/plain; charset=utf-8",
		"daily/2026-10-01/aispend-daily-2026-10-01.xlsx":          "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
		"daily/2026-10-01/aispend-daily-2026-10-01-events.csv.gz": "application/gzip",
	} {
		if got, ok := objs[prefix+"/"+k]; !ok || got != ct {
			t.Errorf("object %s: content type %q (present %v); want %q", k, got, ok, ct)
		}
	}
	for k := range objs {
		if !strings.HasPrefix(k, prefix+"/") {
			t.Errorf("object %s outside the prefix", k)
		}
	}

	// The digest's links are presigned and work.
	ds := digestMessages(t, mailSrv)
	if len(ds) != 1 {
		t.Fatalf("%d digests", len(ds))
	}
	d := mailSrv.Message(t, ds[0].ID)
	var pageURL string
	for _, m := range hrefRe.FindAllStringSubmatch(d.HTML, -1) {
		u := html.UnescapeString(m[1])
		if !strings.Contains(u, "X-Amz-Signature=") {
			t.Errorf("digest link %s is not presigned", u)
		}
		if strings.Contains(u, "/daily/2026-10-01/index.html?") {
			pageURL = u
		}
		resp, err := http.Get(u)
		if err != nil {
			t.Fatalf("GET %s: %v", u, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s: %s", u, resp.Status)
		}
		if u == pageURL && !strings.Contains(string(body), "Total cost") {
			t.Errorf("presigned page: %.200s", body)
		}
	}
	if pageURL == "" {
		t.Error("digest does not link the page")
	}

	checkIndex := func(stage string) []string {
		t.Helper()
		o, err := s3.Client().GetObject(ctx, s3.Bucket, prefix+"/index.html", minio.GetObjectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(o)
		o.Close()
		if err != nil {
			t.Fatalf("%s: read index: %v", stage, err)
		}
		objs := objects()
		links := siteLinks(t, "index.html", string(b))
		for _, k := range links {
			if _, ok := objs[prefix+"/"+k]; !ok {
				t.Errorf("%s: index links %s, which is not in the bucket", stage, k)
			}
		}
		return links
	}

	// Storage down: the run fails, nothing points to a missing object.
	s3.Stop()
	err := run(ctx, []string{"run", "--date", "2026-10-02"}, envMap(env), &stdout, &logs)
	if err == nil || !strings.Contains(stdout.String(), "FAILED: publish, digest") {
		t.Fatalf("run with storage down: %v; output %q", err, stdout.String())
	}
	s3.Restart()
	checkIndex("after the failed run")
	if len(digestMessages(t, mailSrv)) != 1 {
		t.Error("a digest was sent for the failed run")
	}

	// Storage back: the next run completes.
	if err := run(ctx, []string{"run", "--date", "2026-10-02"}, envMap(env), &stdout, &logs); err != nil {
		t.Fatalf("run after restart: %v\n%s", err, logs.String())
	}
	links := checkIndex("after the next run")
	for _, k := range []string{"daily/2026-10-01/index.html", "daily/2026-10-02/index.html"} {
		if !slices.Contains(links, k) {
			t.Errorf("index links %v; want %s", links, k)
		}
	}
	if len(digestMessages(t, mailSrv)) != 2 {
		t.Error("the next run did not send the held-back digest")
	}
}

// Ensures REPORT_DATABASE_URL serves the workbook's event rows (the run's largest read) while
// it holds exactly the events the report counted (here: the primary itself, as a caught-up
// replica), and that a lagging replica (a second database with 4 of the 10 events) is not used:
// the rows then come from the primary's snapshot, so that they still reconcile with the Summary.
func TestRunReadsEventsFromReplica(t *testing.T) {
	srv := mailtest.Start(t)
	env, dbURL := batchEnv(t, srv.SMTPPort)
	lagging := pgtest.URL(t)
	want := insertDay(t, dbURL, "2026-10-01", 10)
	insertDay(t, lagging, "2026-10-01", 4)
	for _, c := range []struct {
		name, replica string
		fallBack      bool
	}{{"caught up", dbURL, false}, {"lagging", lagging, true}} {
		env["REPORT_DATABASE_URL"] = c.replica
		var stdout, logs bytes.Buffer
		if err := run(context.Background(), []string{"run", "--date", "2026-10-01"}, envMap(env), &stdout, &logs); err != nil {
			t.Fatalf("%s: run: %v\n%s", c.name, err, logs.String())
		}
		summary, _, rows := sheettest.Totals(t, filepath.Join(env["AISPEND_OUTPUT"], "daily/2026-10-01/aispend-daily-2026-10-01.xlsx"))
		if rows != 10 || !summary.Equal(want) {
			t.Fatalf("%s: Events sheet has %d rows, Summary total %s; want the primary's 10 and %s", c.name, rows, summary, want)
		}
		if got := strings.Contains(logs.String(), "events read from the primary"); got != c.fallBack {
			t.Fatalf("%s: fell back to the primary: %v, want %v\n%s", c.name, got, c.fallBack, logs.String())
		}
	}
}
