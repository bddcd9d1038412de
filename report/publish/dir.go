package publish

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// DefaultDir is the local output directory when none is configured.
const DefaultDir = "out"

// tempPrefix starts the name of a file being written; List skips such files and CheckKey
// refuses keys that use it.
const tempPrefix = ".aispend-tmp-"

// Dir publishes to a local directory, e.g. one served by a web server.
type Dir struct {
	Root      string // "" means DefaultDir
	PublicURL string // optional: the URL at which Root is served
}

func (d Dir) root() string {
	if d.Root == "" {
		return DefaultDir
	}
	return d.Root
}

func (d Dir) path(key string) (string, error) {
	if err := CheckKey(key); err != nil {
		return "", err
	}
	return filepath.Join(d.root(), filepath.FromSlash(key)), nil
}

// Put writes the file under a temporary name in the destination directory and renames it into
// place, so a reader (or a web server) sees either the old file or the complete new one.
func (d Dir) Put(ctx context.Context, key string, body io.Reader, size int64, contentType string) error {
	dst, err := d.path(key)
	if err != nil {
		return fmt.Errorf("put %s: %w", key, err)
	}
	if size < 0 {
		return fmt.Errorf("put %s: size must be known (got %d)", key, size)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("put %s: %w", key, err)
	}
	dir := filepath.Dir(dst)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("put %s: %w", key, err)
	}
	f, err := os.CreateTemp(dir, tempPrefix+filepath.Base(dst)+"-*")
	if err != nil {
		return fmt.Errorf("put %s: %w", key, err)
	}
	tmp := f.Name()
	fail := func(err error) error {
		f.Close()
		os.Remove(tmp)
		return fmt.Errorf("put %s: %w", key, err)
	}
	n, err := io.CopyN(f, body, size)
	if err != nil {
		if errors.Is(err, io.EOF) {
			return fail(fmt.Errorf("body has %d bytes, want %d", n, size))
		}
		return fail(err)
	}
	// CreateTemp makes the file 0600; a published site is for reading.
	if err := f.Chmod(0o644); err != nil {
		return fail(err)
	}
	// Sync before rename: after a crash the new name must not point at an empty file.
	if err := f.Sync(); err != nil {
		return fail(err)
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("put %s: %w", key, err)
	}
	if err := os.Rename(tmp, dst); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("put %s: %w", key, err)
	}
	// Make the rename itself durable; best effort, some filesystems refuse fsync on directories.
	if df, err := os.Open(dir); err == nil {
		df.Sync()
		df.Close()
	}
	return nil
}

// URL is PublicURL + key when set, otherwise the file:// URL of the absolute path.
func (d Dir) URL(ctx context.Context, key string) (string, error) {
	p, err := d.path(key)
	if err != nil {
		return "", fmt.Errorf("url %s: %w", key, err)
	}
	if d.PublicURL != "" {
		return joinURL(d.PublicURL, key), nil
	}
	abs, err := filepath.Abs(p)
	if err != nil {
		return "", fmt.Errorf("url %s: %w", key, err)
	}
	return (&url.URL{Scheme: "file", Path: filepath.ToSlash(abs)}).String(), nil
}

// Exists reports whether a regular file is published under key.
func (d Dir) Exists(ctx context.Context, key string) (bool, error) {
	p, err := d.path(key)
	if err != nil {
		return false, fmt.Errorf("exists %s: %w", key, err)
	}
	st, err := os.Stat(p)
	switch {
	case err == nil:
		return st.Mode().IsRegular(), nil
	case errors.Is(err, fs.ErrNotExist):
		return false, nil
	default:
		return false, fmt.Errorf("exists %s: %w", key, err)
	}
}

// List walks the directory that holds prefix and returns the keys that start with it, without
// files still being written. A missing root is an empty listing, not an error.
func (d Dir) List(ctx context.Context, prefix string) ([]string, error) {
	root := d.root()
	start := root
	if i := strings.LastIndexByte(prefix, '/'); i >= 0 {
		if err := CheckKey(prefix[:i]); err != nil {
			return nil, fmt.Errorf("list %s: %w", prefix, err)
		}
		start = filepath.Join(root, filepath.FromSlash(prefix[:i]))
	}
	var keys []string
	err := filepath.WalkDir(start, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if !e.Type().IsRegular() || strings.HasPrefix(e.Name(), tempPrefix) {
			return nil
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		if key := filepath.ToSlash(rel); strings.HasPrefix(key, prefix) {
			keys = append(keys, key)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", prefix, err)
	}
	slices.Sort(keys)
	return keys, nil
}
