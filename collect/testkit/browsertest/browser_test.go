package browsertest

import (
	"context"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Ensure the harness reports what a page does: console errors, uncaught exceptions, dialogs,
// and requests to the network (which the closed proxy makes fail).
func TestPageRecordsErrorsDialogsAndRequests(t *testing.T) {
	dir := t.TempDir()
	page := `<!DOCTYPE html><html><head><title>t</title></head><body>
<p id="p">hello</p>
<img src="http://example.invalid/pixel.png">
<script>console.error("boom from console"); document.title = "ran";</script>
<script>alert("dialog shown")</script>
<script>throw new Error("uncaught here")</script>
</body></html>`
	file := filepath.Join(dir, "page.html")
	if err := os.WriteFile(file, []byte(page), 0o644); err != nil {
		t.Fatal(err)
	}
	b := New(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	p, err := b.NewPage(ctx, 800, 600)
	if err != nil {
		t.Fatal(err)
	}
	u := (&url.URL{Scheme: "file", Path: file}).String()
	if err := p.Navigate(ctx, u); err != nil {
		t.Fatal(err)
	}
	var title, text string
	if err := p.Eval(ctx, "document.title", &title); err != nil {
		t.Fatal(err)
	}
	if err := p.Eval(ctx, "document.getElementById('p').innerText", &text); err != nil {
		t.Fatal(err)
	}
	if title != "ran" || text != "hello" {
		t.Errorf("title %q, text %q; want ran, hello", title, text)
	}
	// Log entries for the failed image can arrive after the load event.
	if err := p.WaitFor(ctx, "true"); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		all := joined(p.Messages())
		ok := strings.Contains(all, "boom from console") && strings.Contains(all, "uncaught here") &&
			strings.Contains(all, "dialog shown") && strings.Contains(all, "example.invalid")
		if ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("messages incomplete:\n%s", all)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if len(p.Errors()) < 3 {
		t.Errorf("Errors() = %v; want the console error, the exception and the dialog", p.Errors())
	}
	var sawFile, sawNet bool
	for _, r := range p.Requests() {
		sawFile = sawFile || strings.HasPrefix(r, "file://")
		sawNet = sawNet || strings.HasPrefix(r, "http://example.invalid/")
	}
	if !sawFile || !sawNet {
		t.Errorf("requests %v: want the file page and the blocked http image", p.Requests())
	}
	png, err := p.Screenshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(png), "\x89PNG\r\n\x1a\n") {
		t.Errorf("screenshot is not a PNG")
	}
}

func joined(ms []Message) string {
	var b strings.Builder
	for _, m := range ms {
		b.WriteString(m.String())
		b.WriteByte('\n')
	}
	return b.String()
}
