package publish_test

import (
	"bytes"
	"context"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/aispend/aispend/report/publish"
)

// pausingReader yields half of data, then blocks until released, so a test can look at the
// destination while a write is in progress.
type pausingReader struct {
	data     []byte
	off      int
	paused   chan struct{}
	release  chan struct{}
	didPause bool
}

func (r *pausingReader) Read(p []byte) (int, error) {
	half := len(r.data) / 2
	if r.off == half && !r.didPause {
		r.didPause = true
		close(r.paused)
		<-r.release
	}
	if r.off >= len(r.data) {
		return 0, io.EOF
	}
	end := len(r.data)
	if r.off < half {
		end = half
	}
	n := copy(p, r.data[r.off:end])
	r.off += n
	return n, nil
}

func TestDirPutIsAtomic(t *testing.T) {
	ctx := context.Background()
	d := publish.Dir{Root: t.TempDir()}
	key := "daily/2026-03-01/index.html"
	old := []byte("<p>old page</p>")
	if err := d.Put(ctx, key, bytes.NewReader(old), int64(len(old)), ""); err != nil {
		t.Fatal(err)
	}

	next := bytes.Repeat([]byte("<p>new page</p>\n"), 4096)
	r := &pausingReader{data: next, paused: make(chan struct{}), release: make(chan struct{})}
	errc := make(chan error, 1)
	go func() { errc <- d.Put(ctx, key, r, int64(len(next)), "") }()
	<-r.paused

	// Mid-write, a reader sees the complete old file and the listing shows no temporary file.
	got, err := os.ReadFile(filepath.Join(d.Root, "daily", "2026-03-01", "index.html"))
	if err != nil || !bytes.Equal(got, old) {
		t.Errorf("during the write the page reads %q, %v; want the old page", truncate(got), err)
	}
	keys, err := d.List(ctx, "")
	if err != nil || !slices.Equal(keys, []string{key}) {
		t.Errorf("List during the write = %q, %v; want only %q", keys, err, key)
	}
	close(r.release)
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	got, _ = os.ReadFile(filepath.Join(d.Root, "daily", "2026-03-01", "index.html"))
	if !bytes.Equal(got, next) {
		t.Errorf("after the write the page has %d bytes, want %d", len(got), len(next))
	}
	assertNoTempFiles(t, d.Root)
	if st, _ := os.Stat(filepath.Join(d.Root, "daily", "2026-03-01", "index.html")); st.Mode().Perm() != 0o644 {
		t.Errorf("mode %v, want 0644 so a web server can read it", st.Mode().Perm())
	}
}

func TestDirOverwriteAndShortBody(t *testing.T) {
	ctx := context.Background()
	d := publish.Dir{Root: t.TempDir()}
	key := "monthly/2026-03/aispend-monthly-2026-03.xlsx"
	for _, body := range []string{"first version", "second"} {
		if err := d.Put(ctx, key, strings.NewReader(body), int64(len(body)), ""); err != nil {
			t.Fatal(err)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(d.Root, filepath.FromSlash(key))); string(b) != "second" {
		t.Errorf("after overwrite: %q, want %q", b, "second")
	}
	keys, _ := d.List(ctx, "")
	if !slices.Equal(keys, []string{key}) {
		t.Errorf("keys after overwrite = %q, want exactly one", keys)
	}

	// A body shorter than announced fails and leaves the published file as it was.
	if err := d.Put(ctx, key, strings.NewReader("short"), 100, ""); err == nil || !strings.Contains(err.Error(), "want 100") {
		t.Errorf("short body: err = %v, want a size mismatch", err)
	}
	if err := d.Put(ctx, key, strings.NewReader("x"), -1, ""); err == nil {
		t.Error("unknown size: want an error")
	}
	if b, _ := os.ReadFile(filepath.Join(d.Root, filepath.FromSlash(key))); string(b) != "second" {
		t.Errorf("after failed writes: %q, want %q", b, "second")
	}
	assertNoTempFiles(t, d.Root)
}

func TestDirRefusesKeysOutsideRoot(t *testing.T) {
	ctx := context.Background()
	parent := t.TempDir()
	d := publish.Dir{Root: filepath.Join(parent, "site")}
	for _, key := range []string{"../escape.html", "a/../../escape.html", "/etc/x", "a//b", "a\\b", "", "dir/", ".aispend-tmp-x"} {
		if err := d.Put(ctx, key, strings.NewReader("x"), 1, ""); err == nil {
			t.Errorf("Put(%q) succeeded, want an error", key)
		}
		if _, err := d.Exists(ctx, key); err == nil {
			t.Errorf("Exists(%q) succeeded, want an error", key)
		}
	}
	if _, err := d.List(ctx, "../"); err == nil {
		t.Error("List(../) succeeded, want an error")
	}
	if _, err := os.Stat(filepath.Join(parent, "escape.html")); err == nil {
		t.Error("a file was written outside the root")
	}
}

func TestDirURLExistsList(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	d := publish.Dir{Root: root}
	for _, k := range []string{"index.html", "daily/2026-03-01/index.html", "daily/2026-03-02/index.html", "weekly/2026-W09/index.html"} {
		if err := d.Put(ctx, k, strings.NewReader("x"), 1, ""); err != nil {
			t.Fatal(err)
		}
	}
	keys, err := d.List(ctx, "daily/")
	if err != nil || !slices.Equal(keys, []string{"daily/2026-03-01/index.html", "daily/2026-03-02/index.html"}) {
		t.Errorf("List(daily/) = %q, %v", keys, err)
	}
	if keys, err := (publish.Dir{Root: filepath.Join(root, "missing")}).List(ctx, ""); err != nil || len(keys) != 0 {
		t.Errorf("List on a missing root = %q, %v; want empty", keys, err)
	}
	if ok, err := d.Exists(ctx, "daily/2026-03-01/index.html"); !ok || err != nil {
		t.Errorf("Exists(published) = %v, %v", ok, err)
	}
	if ok, err := d.Exists(ctx, "daily/2026-03-09/index.html"); ok || err != nil {
		t.Errorf("Exists(missing) = %v, %v", ok, err)
	}
	if ok, _ := d.Exists(ctx, "daily"); ok {
		t.Error("Exists(directory) = true, want false")
	}

	u, err := d.URL(ctx, "daily/2026-03-01/index.html")
	if err != nil {
		t.Fatal(err)
	}
	pu, err := url.Parse(u)
	if err != nil || pu.Scheme != "file" || pu.Path != filepath.ToSlash(filepath.Join(root, "daily/2026-03-01/index.html")) {
		t.Errorf("URL = %q, want file:// URL of the file", u)
	}
	d.PublicURL = "https://reports.example.com/ai/"
	if u, _ := d.URL(ctx, "daily/2026-03-01/a b.html"); u != "https://reports.example.com/ai/daily/2026-03-01/a%20b.html" {
		t.Errorf("public URL = %q", u)
	}
}

func assertNoTempFiles(t *testing.T, root string) {
	t.Helper()
	filepath.WalkDir(root, func(p string, e os.DirEntry, err error) error {
		if err == nil && strings.HasPrefix(e.Name(), ".aispend-tmp-") {
			t.Errorf("temporary file left behind: %s", p)
		}
		return nil
	})
}

func truncate(b []byte) string {
	if len(b) > 40 {
		return string(b[:40]) + "…"
	}
	return string(b)
}

func readFile(d publish.Dir, key string) (string, error) {
	b, err := os.ReadFile(filepath.Join(d.Root, filepath.FromSlash(key)))
	return string(b), err
}
