// Command screenshots renders the README's screenshots from a demo's output with headless
// Chromium (collect/testkit/browsertest): the latest daily page, a CRITICAL alert email and the latest
// digest, each at desktop width and at 390 px (a phone). Run it through `make screenshots`,
// which runs the demo first:
//
//	go run ./report/screenshots -out report/screenshots out
package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/aispend/aispend/collect/testkit/browsertest"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "screenshots:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("screenshots", flag.ContinueOnError)
	out := fs.String("out", "report/screenshots", "directory the PNG files are written to")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return errors.New("usage: screenshots [-out DIR] DEMO_OUTPUT_DIR")
	}
	site, err := filepath.Abs(fs.Arg(0))
	if err != nil {
		return err
	}
	page, err := latest(filepath.Join(site, "daily"))
	if err != nil {
		return err
	}
	alert, digest, err := emails(filepath.Join(site, "outbox"))
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "aispend-screenshots-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	alertPath, digestPath := filepath.Join(tmp, "alert.html"), filepath.Join(tmp, "digest.html")
	if err := os.WriteFile(alertPath, alert, 0o600); err != nil {
		return err
	}
	if err := os.WriteFile(digestPath, digest, 0o600); err != nil {
		return err
	}

	bin, err := browsertest.Find()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	b, err := browsertest.Start(ctx, bin)
	if err != nil {
		return err
	}
	defer b.Close()
	for _, s := range []struct {
		file, path string
		width      int
		charts     bool
	}{
		{"report-page.png", filepath.Join(page, "index.html"), 1400, true},
		{"report-page-390.png", filepath.Join(page, "index.html"), 390, true},
		{"alert-email.png", alertPath, 640, false},
		{"alert-email-390.png", alertPath, 390, false},
		{"digest-email.png", digestPath, 640, false},
		{"digest-email-390.png", digestPath, 390, false},
	} {
		if err := shoot(ctx, b, s.path, s.width, s.charts, filepath.Join(*out, s.file)); err != nil {
			return fmt.Errorf("%s: %w", s.file, err)
		}
		fmt.Println("wrote", filepath.Join(*out, s.file))
	}
	return nil
}

// latest is the newest period directory under dir.
func latest(dir string) (string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return "", fmt.Errorf("read the demo's pages (run `make demo` first): %w", err)
	}
	var names []string
	for _, e := range entries {
		if e.IsDir() {
			names = append(names, e.Name())
		}
	}
	if len(names) == 0 {
		return "", fmt.Errorf("no period page under %s", dir)
	}
	slices.Sort(names)
	return filepath.Join(dir, names[len(names)-1]), nil
}

// emails returns the HTML of the last CRITICAL alert and of the last digest in the outbox.
func emails(dir string) (alert, digest []byte, err error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, nil, fmt.Errorf("read the demo's outbox: %w", err)
	}
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".eml") {
			continue
		}
		raw, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, nil, err
		}
		m, err := mail.ReadMessage(bytes.NewReader(raw))
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", e.Name(), err)
		}
		subject, _ := new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject"))
		isAlert := m.Header.Get("X-Aispend-Alert") != ""
		if isAlert && !strings.Contains(subject, "CRITICAL") {
			continue
		}
		html, err := htmlPart(m.Header.Get("Content-Type"), m.Header.Get("Content-Transfer-Encoding"), m.Body)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", e.Name(), err)
		}
		// Files are named so that a later message sorts later; keep the last of each.
		if isAlert {
			alert = html
		} else {
			digest = html
		}
	}
	if alert == nil || digest == nil {
		return nil, nil, fmt.Errorf("%s: want a CRITICAL alert and a digest", dir)
	}
	return alert, digest, nil
}

// htmlPart finds the text/html part of a MIME body, decoded.
func htmlPart(contentType, encoding string, body io.Reader) ([]byte, error) {
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return nil, err
	}
	if strings.HasPrefix(mt, "multipart/") {
		r := multipart.NewReader(body, params["boundary"])
		for {
			p, err := r.NextRawPart()
			if err == io.EOF {
				return nil, errors.New("no text/html part")
			}
			if err != nil {
				return nil, err
			}
			if h, err := htmlPart(p.Header.Get("Content-Type"), p.Header.Get("Content-Transfer-Encoding"), p); err == nil {
				return h, nil
			}
		}
	}
	if mt != "text/html" {
		return nil, errors.New("not html")
	}
	switch strings.ToLower(encoding) {
	case "quoted-printable":
		body = quotedprintable.NewReader(body)
	case "base64":
		body = base64.NewDecoder(base64.StdEncoding, body)
	}
	return io.ReadAll(body)
}

// shoot writes a full-page screenshot of path at width.
func shoot(ctx context.Context, b *browsertest.Browser, path string, width int, charts bool, dst string) error {
	p, err := b.NewPage(ctx, width, 900)
	if err != nil {
		return err
	}
	defer p.Close(ctx)
	if err := p.Navigate(ctx, (&url.URL{Scheme: "file", Path: path}).String()); err != nil {
		return err
	}
	if charts {
		if err := p.WaitFor(ctx, "document.querySelectorAll('.chart').length > 0 && document.querySelectorAll('.chart canvas').length === document.querySelectorAll('.chart').length"); err != nil {
			return err
		}
	}
	if err := p.Eval(ctx, "new Promise(r => requestAnimationFrame(() => requestAnimationFrame(() => r(true))))", nil); err != nil {
		return err
	}
	png, err := p.Screenshot(ctx)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, png, 0o644)
}
