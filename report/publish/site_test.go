package publish_test

import (
	"context"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aispend/aispend/report/publish"
)

// recorder wraps a target and records the order of successful puts; failKey makes one key fail.
type recorder struct {
	publish.Target
	order   []string
	failKey string
}

func (r *recorder) Put(ctx context.Context, key string, body io.Reader, size int64, ct string) error {
	if key == r.failKey {
		return errors.New("injected failure")
	}
	if err := r.Target.Put(ctx, key, body, size, ct); err != nil {
		return err
	}
	r.order = append(r.order, key)
	return nil
}

func siteFiles(version string) []publish.File {
	// Deliberately in the wrong order: Site must not rely on the caller's.
	return []publish.File{
		{Key: "index.html", Body: []byte("<h1>index " + version + "</h1>")},
		{Key: "daily/2026-03-01/index.html", Body: []byte("<h1>day " + version + "</h1>")},
		{Key: "daily/2026-03-01/aispend-daily-2026-03-01.xlsx", Body: []byte("PK workbook " + version)},
		{Key: "assets/echarts.min.js", Body: []byte("/* echarts */ var echarts = {};")},
		{Key: "assets/LICENSE", Body: []byte("Apache License 2.0")},
		{Key: "assets/style.css", Body: []byte("body{margin:0}")},
	}
}

func TestSiteWritesIndexLast(t *testing.T) {
	ctx := context.Background()
	rec := &recorder{Target: publish.Dir{Root: t.TempDir()}}
	if err := publish.Site(ctx, rec, siteFiles("v1")); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"daily/2026-03-01/aispend-daily-2026-03-01.xlsx", "assets/echarts.min.js", "assets/LICENSE", "assets/style.css",
		"daily/2026-03-01/index.html",
		"index.html",
	}
	if !slices.Equal(rec.order, want) {
		t.Errorf("upload order:\n got %q\nwant %q", rec.order, want)
	}
}

func TestSiteKeepsIndexWhenAnEarlierFileFails(t *testing.T) {
	ctx := context.Background()
	dir := publish.Dir{Root: t.TempDir()}
	if err := publish.Site(ctx, dir, siteFiles("v1")); err != nil {
		t.Fatal(err)
	}
	for _, fail := range []string{"assets/LICENSE", "daily/2026-03-01/index.html"} {
		rec := &recorder{Target: dir, failKey: fail}
		err := publish.Site(ctx, rec, siteFiles("v2"))
		if err == nil || !strings.Contains(err.Error(), "injected failure") || !strings.Contains(err.Error(), "index.html left unchanged") {
			t.Errorf("fail %s: err = %v, want the failure and a note that the index is unchanged", fail, err)
		}
		if slices.Contains(rec.order, "index.html") {
			t.Errorf("fail %s: index.html was written after a failed upload: %q", fail, rec.order)
		}
		assertBody(t, dir, "index.html", "<h1>index v1</h1>")
	}
	// The next run completes and replaces everything in place.
	if err := publish.Site(ctx, dir, siteFiles("v2")); err != nil {
		t.Fatal(err)
	}
	assertBody(t, dir, "index.html", "<h1>index v2</h1>")
	keys, _ := dir.List(ctx, "")
	if len(keys) != len(siteFiles("")) {
		t.Errorf("after re-publishing: %d keys %q, want %d", len(keys), keys, len(siteFiles("")))
	}
}

func TestSiteRefusesBadInput(t *testing.T) {
	ctx := context.Background()
	dir := publish.Dir{Root: t.TempDir()}
	dup := []publish.File{{Key: "a.css", Body: []byte("x")}, {Key: "a.css", Body: []byte("y")}}
	if err := publish.Site(ctx, dir, dup); err == nil || !strings.Contains(err.Error(), "twice") {
		t.Errorf("duplicate key: err = %v", err)
	}
	bad := []publish.File{{Key: "ok.css", Body: []byte("x")}, {Key: "../x.html", Body: []byte("y")}}
	if err := publish.Site(ctx, dir, bad); err == nil {
		t.Error("bad key: want an error")
	}
	if keys, _ := dir.List(ctx, ""); len(keys) != 0 {
		t.Errorf("bad input wrote %q; want nothing written", keys)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if err := publish.Site(cancelled, dir, siteFiles("v1")); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: err = %v", err)
	}
}

func TestContentTypeAndCacheControl(t *testing.T) {
	for key, want := range map[string]string{
		"index.html": "text/html; charset=utf-8",
		"daily/2026-03-01/aispend-daily-2026-03-01.xlsx":          "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
		"daily/2026-03-01/aispend-daily-2026-03-01-events.csv.gz": "application/gzip",
		"assets/echarts.min.js":                                   "text/javascript; charset=utf-8",
		"assets/style.css":                                        "text/css; charset=utf-8",
		"assets/logo.png":                                         "image/png",
		"assets/LICENSE":                                          "text/plain; charset=utf-8",
		"assets/NOTICE.txt":                                       "text/plain; charset=utf-8",
		"assets/blob":                                             "application/octet-stream",
	} {
		if got := publish.ContentType(key); got != want {
			t.Errorf("ContentType(%q) = %q, want %q", key, got, want)
		}
	}
	for _, c := range []struct {
		key    string
		public bool
		want   string
	}{
		{"index.html", true, "public, max-age=300"},
		{"daily/2026-03-01/aispend-daily-2026-03-01.xlsx", false, "private, max-age=300"},
		{"daily/2026-03-01/aispend-daily-2026-03-01-events.csv.gz", true, "public, max-age=300"},
		{"assets/echarts.min.js", true, "public, max-age=604800"},
	} {
		if got := publish.CacheControl(c.key, c.public); got != c.want {
			t.Errorf("CacheControl(%q, %v) = %q, want %q", c.key, c.public, got, c.want)
		}
	}
}

func TestOpen(t *testing.T) {
	if tg, err := publish.Open("", publish.S3Config{}, ""); err != nil || tg.(publish.Dir).Root != "out" {
		t.Errorf("Open(\"\") = %#v, %v; want Dir out", tg, err)
	}
	if tg, err := publish.Open("/srv/www/ai", publish.S3Config{}, "https://r.example.com"); err != nil || tg.(publish.Dir).PublicURL != "https://r.example.com" {
		t.Errorf("Open(dir) = %#v, %v", tg, err)
	}
	tg, err := publish.Open("s3://reports/team/ai/", publish.S3Config{Endpoint: "http://127.0.0.1:9", AccessKey: "a", SecretKey: "s"}, "")
	if err != nil {
		t.Fatal(err)
	}
	if s := tg.(*publish.S3); s.Bucket() != "reports" || s.Prefix() != "team/ai" || s.ObjectKey("index.html") != "team/ai/index.html" {
		t.Errorf("bucket %q prefix %q", s.Bucket(), s.Prefix())
	}
	for _, c := range []struct {
		output string
		cfg    publish.S3Config
		public string
		want   string
	}{
		{"s3://reports", publish.S3Config{}, "", "missing endpoint, access key, secret key"},
		{"s3://reports", publish.S3Config{Endpoint: "https://s3.example.com", AccessKey: "a"}, "", "missing secret key"},
		{"s3:///prefix", publish.S3Config{}, "", "want s3://bucket"},
		{"gs://reports", publish.S3Config{}, "", "only s3://"},
		{"s3://reports/../x", publish.S3Config{}, "", "prefix"},
		{"s3://r", publish.S3Config{Endpoint: "ftp://h", AccessKey: "a", SecretKey: "s"}, "", "want http:// or https://"},
		{"s3://r", publish.S3Config{Endpoint: "https://h/path", AccessKey: "a", SecretKey: "s"}, "", "host[:port] only"},
		{"s3://r", publish.S3Config{Endpoint: "h:9000", AccessKey: "a", SecretKey: "s", PresignExpiry: 30 * 24 * time.Hour}, "", "presign expiry"},
		{"out", publish.S3Config{}, "reports.example.com", "absolute http"},
	} {
		if _, err := publish.Open(c.output, c.cfg, c.public); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Open(%q, %+v, %q): err = %v, want it to mention %q", c.output, c.cfg, c.public, err, c.want)
		}
	}
}

func assertBody(t *testing.T, tg publish.Target, key, want string) {
	t.Helper()
	d, ok := tg.(publish.Dir)
	if !ok {
		t.Fatalf("assertBody: %T", tg)
	}
	got, err := readFile(d, key)
	if err != nil || got != want {
		t.Errorf("%s = %q, %v; want %q", key, got, err, want)
	}
}
