// Package publish writes the report site to where readers find it: a local directory or an
// S3-compatible bucket. Both targets share one key layout (index.html; <kind>/<label>/index.html
// with the period's workbook, events CSV and report.json beside it; assets/), so the site
// builder never knows which one it writes to.
package publish

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"path"
	"slices"
	"strings"
)

// Target is where a site is published. Keys are slash-separated paths relative to the site root,
// e.g. "daily/2026-03-01/index.html"; the same key names the same object on every target.
type Target interface {
	// Put stores body (exactly size bytes) under key, replacing any previous object. An empty
	// contentType is derived from the key's extension (ContentType).
	Put(ctx context.Context, key string, body io.Reader, size int64, contentType string) error
	// URL is the link a reader follows to key: the public base URL + key when one is configured,
	// otherwise a presigned link (S3) or a file:// URL (directory).
	URL(ctx context.Context, key string) (string, error)
	// Exists reports whether key has been published.
	Exists(ctx context.Context, key string) (bool, error)
	// List returns the published keys starting with prefix, sorted.
	List(ctx context.Context, prefix string) ([]string, error)
}

var (
	_ Target = Dir{}
	_ Target = (*S3)(nil)
)

// File is one object of a site.
type File struct {
	Key         string
	Body        []byte
	ContentType string // empty: derived from Key's extension
}

// IndexKey is the landing page. Site writes it last.
const IndexKey = "index.html"

// Site publishes files so that no published page ever links to a missing object: first every
// file that is not a page (assets, workbooks), then the period pages, and the root index.html
// last, only when everything before it succeeded. Keys are stable, so publishing a period again
// overwrites its objects instead of adding new ones.
func Site(ctx context.Context, t Target, files []File) error {
	seen := make(map[string]bool, len(files))
	for _, f := range files {
		if err := CheckKey(f.Key); err != nil {
			return fmt.Errorf("publish site: %w", err)
		}
		if seen[f.Key] {
			return fmt.Errorf("publish site: key %q given twice", f.Key)
		}
		seen[f.Key] = true
	}
	order := slices.Clone(files)
	// Stable: within a rank the caller's order stands.
	slices.SortStableFunc(order, func(a, b File) int { return rank(a.Key) - rank(b.Key) })
	for i, f := range order {
		if err := t.Put(ctx, f.Key, bytes.NewReader(f.Body), int64(len(f.Body)), f.ContentType); err != nil {
			left := len(order) - i - 1
			if seen[IndexKey] && f.Key != IndexKey {
				return fmt.Errorf("publish site: %w (%d files not written, index.html left unchanged)", err, left)
			}
			return fmt.Errorf("publish site: %w (%d files not written)", err, left)
		}
	}
	return nil
}

// rank orders uploads: what pages link to (0), the pages (1), the root index (2).
func rank(key string) int {
	switch {
	case key == IndexKey:
		return 2
	case path.Ext(key) == ".html":
		return 1
	default:
		return 0
	}
}

// CheckKey refuses keys that could escape the site root or mean different things on a
// filesystem and in a bucket.
func CheckKey(key string) error {
	switch {
	case key == "":
		return errors.New("empty key")
	case strings.HasPrefix(key, "/"), strings.HasSuffix(key, "/"):
		return fmt.Errorf("key %q: must not start or end with /", key)
	case strings.ContainsAny(key, "\\\x00\r\n"):
		return fmt.Errorf("key %q: contains a backslash or control character", key)
	}
	for _, seg := range strings.Split(key, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return fmt.Errorf("key %q: empty, . or .. path segment", key)
		}
		if strings.HasPrefix(seg, tempPrefix) {
			return fmt.Errorf("key %q: %s is reserved for temporary files", key, tempPrefix)
		}
	}
	return nil
}

// ContentType is the Content-Type for a key, by extension.
func ContentType(key string) string {
	// Licence files ship without an extension (LICENSE, NOTICE, LICENSE-d3): shown as text.
	if base := path.Base(key); path.Ext(base) == "" {
		for _, p := range []string{"LICENSE", "NOTICE", "COPYING"} {
			if strings.HasPrefix(base, p) {
				return "text/plain; charset=utf-8"
			}
		}
	}
	switch strings.ToLower(path.Ext(key)) {
	case ".html", ".htm":
		return "text/html; charset=utf-8"
	case ".xlsx":
		return "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
	case ".gz":
		// The events CSV (.csv.gz) is served as the compressed file it is, never with
		// Content-Encoding: gzip, which would make browsers unpack it and save plain CSV
		// under a .gz name.
		return "application/gzip"
	case ".js", ".mjs":
		return "text/javascript; charset=utf-8"
	case ".css":
		return "text/css; charset=utf-8"
	case ".png":
		return "image/png"
	case ".svg":
		return "image/svg+xml"
	case ".txt", ".md":
		return "text/plain; charset=utf-8"
	case ".json":
		return "application/json"
	default:
		return "application/octet-stream"
	}
}

// Cache lifetimes. Pages, workbooks and events CSVs are republished under the same key (a period is re-run,
// the index gains a period), so caches must come back soon. Assets change only with a release;
// a week rather than a year because their names carry no version.
const (
	PageMaxAge  = 300
	AssetMaxAge = 7 * 24 * 3600
)

// CacheControl is the Cache-Control header for a key. public says whether shared caches may keep
// it (a public base URL is configured); presigned links are for their holder only.
func CacheControl(key string, public bool) string {
	scope := "private"
	if public {
		scope = "public"
	}
	age := AssetMaxAge
	switch strings.ToLower(path.Ext(key)) {
	case ".html", ".htm", ".xlsx", ".gz":
		age = PageMaxAge
	}
	return fmt.Sprintf("%s, max-age=%d", scope, age)
}

// joinURL appends an escaped key to a base URL.
func joinURL(base, key string) string {
	return strings.TrimRight(base, "/") + "/" + escapeKey(key)
}

// escapeKey escapes each path segment and keeps the slashes.
func escapeKey(key string) string {
	segs := strings.Split(key, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return strings.Join(segs, "/")
}

// checkPublicURL accepts an empty base or an absolute http(s) URL.
func checkPublicURL(u string) error {
	if u == "" {
		return nil
	}
	p, err := url.Parse(u)
	if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
		return fmt.Errorf("public URL %q: want an absolute http:// or https:// URL", u)
	}
	if p.RawQuery != "" || p.Fragment != "" {
		return fmt.Errorf("public URL %q: must not have a query or fragment", u)
	}
	return nil
}

// Open chooses the target from the configured output: "s3://bucket/prefix" publishes to S3
// with s3cfg, anything else is a local directory ("" means "out"). publicURL, when set, is the
// address at which the site root is served; links are then built from it.
func Open(output string, s3cfg S3Config, publicURL string) (Target, error) {
	if err := checkPublicURL(publicURL); err != nil {
		return nil, fmt.Errorf("open publish target: %w", err)
	}
	if bucket, prefix, ok, err := ParseS3Output(output); err != nil {
		return nil, fmt.Errorf("open publish target: %w", err)
	} else if ok {
		s3cfg.Bucket, s3cfg.Prefix, s3cfg.PublicURL = bucket, prefix, publicURL
		s, err := NewS3(s3cfg)
		if err != nil {
			return nil, fmt.Errorf("open publish target: %w", err)
		}
		return s, nil
	}
	if output == "" {
		output = DefaultDir
	}
	return Dir{Root: output, PublicURL: publicURL}, nil
}

// ParseS3Output splits "s3://bucket/prefix" into bucket and prefix (no slashes at either end).
// ok is false for anything that is not an s3:// URL; other URL schemes are an error, so a typo
// like "gs://…" does not silently become a local directory name.
func ParseS3Output(output string) (bucket, prefix string, ok bool, err error) {
	scheme, rest, found := strings.Cut(output, "://")
	if !found {
		return "", "", false, nil
	}
	if scheme != "s3" {
		return "", "", false, fmt.Errorf("output %q: only s3:// URLs or a directory are supported", output)
	}
	bucket, prefix, _ = strings.Cut(rest, "/")
	prefix = strings.Trim(prefix, "/")
	if bucket == "" {
		return "", "", false, fmt.Errorf("output %q: want s3://bucket or s3://bucket/prefix", output)
	}
	if prefix != "" {
		if err := CheckKey(prefix); err != nil {
			return "", "", false, fmt.Errorf("output %q: prefix: %w", output, err)
		}
	}
	return bucket, prefix, true, nil
}
