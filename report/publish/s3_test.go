package publish_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/aispend/aispend/collect/testkit/s3test"
	"github.com/aispend/aispend/report/publish"
)

const prefix = "reports/acme"

// s3Config points at the test server. Retries are short so outage tests end quickly.
func s3Config(srv *s3test.Server) publish.S3Config {
	return publish.S3Config{
		Endpoint: srv.Endpoint, Region: srv.Region, PathStyle: true,
		AccessKey: srv.AccessKey, SecretKey: srv.SecretKey,
		Bucket: srv.Bucket, Prefix: prefix,
		MaxRetries: 1, Attempts: 3, Backoff: 10 * time.Millisecond,
	}
}

func newS3(t *testing.T, cfg publish.S3Config) *publish.S3 {
	t.Helper()
	s, err := publish.NewS3(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// bucketKeys lists every object in the bucket, bypassing the target.
func bucketKeys(t *testing.T, srv *s3test.Server) []string {
	t.Helper()
	var keys []string
	for o := range srv.Client().ListObjects(context.Background(), srv.Bucket, minio.ListObjectsOptions{Recursive: true}) {
		if o.Err != nil {
			t.Fatalf("list bucket: %v", o.Err)
		}
		keys = append(keys, o.Key)
	}
	slices.Sort(keys)
	return keys
}

func getObject(t *testing.T, srv *s3test.Server, key string) string {
	t.Helper()
	o, err := srv.Client().GetObject(context.Background(), srv.Bucket, key, minio.GetObjectOptions{})
	if err != nil {
		t.Fatalf("get %s: %v", key, err)
	}
	defer o.Close()
	b, err := io.ReadAll(o)
	if err != nil {
		t.Fatalf("get %s: %v", key, err)
	}
	return string(b)
}

func httpGet(t *testing.T, u string) (*http.Response, []byte) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	return resp, b
}

func TestS3PublishSite(t *testing.T) {
	ctx := context.Background()
	srv := s3test.Start(t)
	tg := newS3(t, s3Config(srv))
	files := siteFiles("v1")
	if err := publish.Site(ctx, tg, files); err != nil {
		t.Fatal(err)
	}

	var want []string
	for _, f := range files {
		want = append(want, prefix+"/"+f.Key)
	}
	slices.Sort(want)
	if got := bucketKeys(t, srv); !slices.Equal(got, want) {
		t.Fatalf("bucket keys:\n got %q\nwant %q", got, want)
	}

	for _, f := range files {
		info, err := srv.Client().StatObject(ctx, srv.Bucket, prefix+"/"+f.Key, minio.StatObjectOptions{})
		if err != nil {
			t.Fatalf("stat %s: %v", f.Key, err)
		}
		if want := publish.ContentType(f.Key); info.ContentType != want {
			t.Errorf("%s: Content-Type %q, want %q", f.Key, info.ContentType, want)
		}
		if cc, want := info.Metadata.Get("Cache-Control"), publish.CacheControl(f.Key, false); cc != want {
			t.Errorf("%s: Cache-Control %q, want %q", f.Key, cc, want)
		}
		if info.Size != int64(len(f.Body)) {
			t.Errorf("%s: size %d, want %d", f.Key, info.Size, len(f.Body))
		}
	}
	if cc := publish.CacheControl("index.html", false); cc != "private, max-age=300" {
		t.Errorf("page cache header %q", cc)
	}

	// A reader with nothing but the link gets the page, byte for byte.
	for _, f := range files[1:3] {
		u, err := tg.URL(ctx, f.Key)
		if err != nil {
			t.Fatal(err)
		}
		pu, _ := url.Parse(u)
		if q := pu.Query(); q.Get("X-Amz-Signature") == "" || q.Get("X-Amz-Expires") != "604800" {
			t.Errorf("URL %s: want a presigned link valid 7 days", u)
		}
		resp, body := httpGet(t, u)
		if resp.StatusCode != http.StatusOK || !bytes.Equal(body, f.Body) {
			t.Errorf("GET %s: %d %q, want 200 %q", f.Key, resp.StatusCode, body, f.Body)
		}
		if ct := resp.Header.Get("Content-Type"); ct != publish.ContentType(f.Key) {
			t.Errorf("GET %s: Content-Type %q", f.Key, ct)
		}
	}
	// A link with a tampered signature is refused: the bucket is really private.
	u, _ := tg.URL(ctx, "index.html")
	if resp, _ := httpGet(t, strings.Replace(u, "X-Amz-Signature=", "X-Amz-Signature=0", 1)); resp.StatusCode != http.StatusForbidden {
		t.Errorf("tampered link: status %d, want 403", resp.StatusCode)
	}

	keys, err := tg.List(ctx, "daily/")
	if err != nil || !slices.Equal(keys, []string{"daily/2026-03-01/aispend-daily-2026-03-01.xlsx", "daily/2026-03-01/index.html"}) {
		t.Errorf("List(daily/) = %q, %v", keys, err)
	}
	if keys, err := tg.List(ctx, ""); err != nil || len(keys) != len(files) {
		t.Errorf("List() = %q, %v", keys, err)
	}
	if ok, err := tg.Exists(ctx, "daily/2026-03-01/index.html"); !ok || err != nil {
		t.Errorf("Exists(published) = %v, %v", ok, err)
	}
	if ok, err := tg.Exists(ctx, "daily/2026-03-02/index.html"); ok || err != nil {
		t.Errorf("Exists(missing) = %v, %v", ok, err)
	}

	// Publishing the period again replaces the objects in place.
	if err := publish.Site(ctx, tg, siteFiles("v2")); err != nil {
		t.Fatal(err)
	}
	if got := bucketKeys(t, srv); !slices.Equal(got, want) {
		t.Errorf("after re-publishing: keys %q, want %q", got, want)
	}
	if got := getObject(t, srv, prefix+"/index.html"); got != "<h1>index v2</h1>" {
		t.Errorf("index after re-publishing: %q", got)
	}
}

func TestS3PublicURLAndPublicEndpoint(t *testing.T) {
	ctx := context.Background()
	srv := s3test.Start(t)

	cfg := s3Config(srv)
	cfg.PublicURL = "https://reports.example.com/ai/"
	pub := newS3(t, cfg)
	if u, _ := pub.URL(ctx, "daily/2026-03-01/index.html"); u != "https://reports.example.com/ai/daily/2026-03-01/index.html" {
		t.Errorf("public URL = %q", u)
	}
	if err := pub.Put(ctx, "index.html", strings.NewReader("<h1>hi</h1>"), 11, ""); err != nil {
		t.Fatal(err)
	}
	info, err := srv.Client().StatObject(ctx, srv.Bucket, prefix+"/index.html", minio.StatObjectOptions{})
	if err != nil || info.Metadata.Get("Cache-Control") != "public, max-age=300" {
		t.Errorf("public page Cache-Control %q, %v", info.Metadata.Get("Cache-Control"), err)
	}

	// Readers use another host name than the publisher: the link is signed for theirs and works.
	cfg = s3Config(srv)
	cfg.PublicEndpoint = strings.Replace(srv.Endpoint, "127.0.0.1", "localhost", 1)
	cfg.PresignExpiry = time.Hour
	priv := newS3(t, cfg)
	u, err := priv.URL(ctx, "index.html")
	if err != nil {
		t.Fatal(err)
	}
	pu, _ := url.Parse(u)
	if !strings.HasPrefix(pu.Host, "localhost:") || pu.Query().Get("X-Amz-Expires") != "3600" {
		t.Errorf("URL %s: want host localhost and a 1h expiry", u)
	}
	if resp, body := httpGet(t, u); resp.StatusCode != http.StatusOK || string(body) != "<h1>hi</h1>" {
		t.Errorf("GET via public endpoint: %d %q", resp.StatusCode, body)
	}
}

// stopAfterFirst takes storage down right after the first successful upload.
type stopAfterFirst struct {
	*publish.S3
	srv  *s3test.Server
	puts []string
}

func (s *stopAfterFirst) Put(ctx context.Context, key string, body io.Reader, size int64, ct string) error {
	if err := s.S3.Put(ctx, key, body, size, ct); err != nil {
		return err
	}
	s.puts = append(s.puts, key)
	if len(s.puts) == 1 {
		s.srv.Stop()
	}
	return nil
}

func TestS3StorageDownDuringPublishing(t *testing.T) {
	ctx := context.Background()
	srv := s3test.Start(t)
	tg := newS3(t, s3Config(srv))
	if err := publish.Site(ctx, tg, siteFiles("v1")); err != nil {
		t.Fatal(err)
	}
	before := bucketKeys(t, srv)

	down := &stopAfterFirst{S3: tg, srv: srv}
	err := publish.Site(ctx, down, siteFiles("v2"))
	if err == nil || !strings.Contains(err.Error(), "index.html left unchanged") {
		t.Fatalf("Site with storage down: err = %v, want an error", err)
	}
	if len(down.puts) != 1 {
		t.Errorf("uploads that succeeded: %q, want only the first", down.puts)
	}

	srv.Restart()
	if got := getObject(t, srv, prefix+"/index.html"); got != "<h1>index v1</h1>" {
		t.Errorf("index after the failed run: %q, want the previous one", got)
	}
	if got := getObject(t, srv, prefix+"/daily/2026-03-01/index.html"); got != "<h1>day v1</h1>" {
		t.Errorf("period page after the failed run: %q, want the previous one", got)
	}

	// The next run completes.
	if err := publish.Site(ctx, tg, siteFiles("v2")); err != nil {
		t.Fatalf("Site after restart: %v", err)
	}
	if got := getObject(t, srv, prefix+"/index.html"); got != "<h1>index v2</h1>" {
		t.Errorf("index after the next run: %q", got)
	}
	if got := bucketKeys(t, srv); !slices.Equal(got, before) {
		t.Errorf("keys after the next run %q, want %q", got, before)
	}
}

func TestS3StorageDownFromTheStart(t *testing.T) {
	ctx := context.Background()
	srv := s3test.Start(t)
	tg := newS3(t, s3Config(srv))
	srv.Stop()
	if err := publish.Site(ctx, tg, siteFiles("v1")); err == nil {
		t.Fatal("Site with storage down: want an error")
	}
	srv.Restart()
	if keys := bucketKeys(t, srv); len(keys) != 0 {
		t.Errorf("objects written while storage was down: %q", keys)
	}
	if err := publish.Site(ctx, tg, siteFiles("v1")); err != nil {
		t.Fatal(err)
	}
}

// seekOnly hides bytes.Reader's ReadAt.
type seekOnly struct{ r *bytes.Reader }

func (s seekOnly) Read(p []byte) (int, error)                { return s.r.Read(p) }
func (s seekOnly) Seek(off int64, whence int) (int64, error) { return s.r.Seek(off, whence) }

// logHook calls fn for every log record.
type logHook func(slog.Record)

func (h logHook) Enabled(context.Context, slog.Level) bool      { return true }
func (h logHook) Handle(_ context.Context, r slog.Record) error { h(r); return nil }
func (h logHook) WithAttrs([]slog.Attr) slog.Handler            { return h }
func (h logHook) WithGroup(string) slog.Handler                 { return h }

func TestS3RetriesUntilStorageReturns(t *testing.T) {
	ctx := context.Background()
	srv := s3test.Start(t)
	srv.Stop()
	var retries atomic.Int32
	cfg := s3Config(srv)
	// Storage comes back when the first attempt has failed and the retry is announced.
	cfg.Logger = slog.New(logHook(func(r slog.Record) {
		if retries.Add(1) == 1 {
			srv.Restart()
		}
	}))
	tg := newS3(t, cfg)
	body := []byte("PK workbook")
	// Seekable without ReadAt, the case where the client itself does not rewind the body.
	r := seekOnly{bytes.NewReader(body)}
	if err := tg.Put(ctx, "monthly/2026-03/aispend-monthly-2026-03.xlsx", r, int64(len(body)), ""); err != nil {
		t.Fatalf("Put across an outage: %v", err)
	}
	if retries.Load() != 1 {
		t.Errorf("retries = %d, want 1", retries.Load())
	}
	if got := getObject(t, srv, prefix+"/monthly/2026-03/aispend-monthly-2026-03.xlsx"); got != string(body) {
		t.Errorf("object = %q, want %q (the body must be sent whole on the retry)", got, body)
	}
}

func TestS3PermanentErrorsAreNotRetried(t *testing.T) {
	ctx := context.Background()
	srv := s3test.Start(t)
	var retries atomic.Int32
	count := slog.New(logHook(func(slog.Record) { retries.Add(1) }))

	cfg := s3Config(srv)
	cfg.SecretKey = "wrong-secret"
	cfg.Logger = count
	if err := newS3(t, cfg).Put(ctx, "index.html", strings.NewReader("x"), 1, ""); err == nil {
		t.Error("wrong secret: want an error")
	}
	cfg = s3Config(srv)
	cfg.Bucket = "no-such-bucket"
	cfg.Logger = count
	if err := newS3(t, cfg).Put(ctx, "index.html", strings.NewReader("x"), 1, ""); err == nil || !strings.Contains(err.Error(), "bucket") {
		t.Errorf("missing bucket: err = %v", err)
	}
	if n := retries.Load(); n != 0 {
		t.Errorf("%d retries of permanent errors, want 0", n)
	}
}

func TestS3StreamedBody(t *testing.T) {
	ctx := context.Background()
	srv := s3test.Start(t)
	tg := newS3(t, s3Config(srv))
	// A reader that cannot seek (e.g. a pipe from the workbook writer) with its real size.
	big := bytes.Repeat([]byte("0123456789abcdef"), 64<<10) // 1 MiB
	r := io.MultiReader(bytes.NewReader(big[:1000]), bytes.NewReader(big[1000:]))
	if err := tg.Put(ctx, "daily/2026-03-01/aispend-daily-2026-03-01.xlsx", r, int64(len(big)), ""); err != nil {
		t.Fatal(err)
	}
	if got := getObject(t, srv, prefix+"/daily/2026-03-01/aispend-daily-2026-03-01.xlsx"); got != string(big) {
		t.Errorf("streamed object: %d bytes, want %d", len(got), len(big))
	}
	if err := tg.Put(ctx, "x.txt", strings.NewReader("x"), -1, ""); err == nil {
		t.Error("unknown size: want an error")
	}

	// Storage down: a spent stream cannot be sent again, so it fails at once instead of
	// uploading a truncated body on a retry.
	var retries atomic.Int32
	cfg := s3Config(srv)
	cfg.Logger = slog.New(logHook(func(slog.Record) { retries.Add(1) }))
	srv.Stop()
	r = io.MultiReader(bytes.NewReader(big))
	if err := newS3(t, cfg).Put(ctx, "y.xlsx", r, int64(len(big)), ""); err == nil {
		t.Error("Put with storage down: want an error")
	}
	if retries.Load() != 0 {
		t.Errorf("a one-shot stream was retried %d times", retries.Load())
	}
}
