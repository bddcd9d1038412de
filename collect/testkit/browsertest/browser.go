// Package browsertest drives a real headless Chromium (Debian package "chromium") through
// chromedp, for tests that must see a page as a browser does: scripts run, canvases drawn,
// console errors, the requests a page makes, and screenshots.
//
// Chromium runs with a fresh profile, background networking off and every proxied request sent
// to a closed port (127.0.0.1:9), so a page that tries to reach the network fails visibly in
// Requests and Messages instead of silently succeeding.
package browsertest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// InstallHint is what to do when Chromium is missing.
const InstallHint = "install Chromium: run `make tools`, or `apt-get install -y --no-install-recommends chromium`"

// Find returns the Chromium binary: /usr/bin/chromium, else chromium, chromium-browser,
// google-chrome or google-chrome-stable on PATH.
func Find() (string, error) {
	if fi, err := os.Stat("/usr/bin/chromium"); err == nil && !fi.IsDir() {
		return "/usr/bin/chromium", nil
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", errors.New("chromium not found (looked for /usr/bin/chromium and chromium on PATH): " + InstallHint)
}

// New starts a browser for a test and closes it at the end. A missing Chromium fails the test
// with the install command; it never skips.
func New(t testing.TB) *Browser {
	t.Helper()
	bin, err := Find()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	b, err := Start(ctx, bin)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := b.Close(); err != nil {
			t.Logf("close chromium: %v", err)
		}
	})
	return b
}

// Browser is one running headless Chromium.
type Browser struct {
	ctx         context.Context // chromedp's context of the browser (and its first tab)
	cancel      context.CancelFunc
	cancelAlloc context.CancelFunc
}

// Start launches Chromium (bin from Find); ctx bounds the start only, not the browser's life.
func Start(ctx context.Context, bin string) (*Browser, error) {
	out := &lockedWriter{w: &bytes.Buffer{}}
	// Our own flag list instead of chromedp's defaults, which add flags (a forced colour
	// profile, automation mode) that the screenshots and measurements were not made with.
	// chromedp adds a fresh profile directory, which it removes at the end, and the pipe it
	// talks over.
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(bin), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("force-device-scale-factor", "1"),
		chromedp.WindowSize(1280, 900),
		// Any request that would leave the machine goes to a closed port instead.
		chromedp.ProxyServer("127.0.0.1:9"),
		chromedp.Flag("proxy-bypass-list", "<-loopback>"),
		chromedp.CombinedOutput(out),
	)
	bctx, cancel := chromedp.NewContext(allocCtx)
	b := &Browser{ctx: bctx, cancel: cancel, cancelAlloc: cancelAlloc}
	// The first action on a chromedp context starts the browser and ties the browser's life to
	// the context it is given, so it gets bctx itself and ctx only limits how long we wait.
	started := make(chan error, 1)
	go func() { started <- chromedp.Do(bctx) }()
	select {
	case err := <-started:
		if err != nil {
			b.Close()
			return nil, fmt.Errorf("start %s: %w; output: %s", bin, err, tail(out.String()))
		}
		return b, nil
	case <-ctx.Done():
		b.Close()
		<-started
		return nil, fmt.Errorf("start %s: %w; output: %s", bin, ctx.Err(), tail(out.String()))
	}
}

// NewPage opens a tab of the given viewport width and height, with console, log and network
// recording on.
func (b *Browser) NewPage(ctx context.Context, width, height int) (*Page, error) {
	p := &Page{width: width, height: height}
	// A listener added with the context sees every event of the tab from its first command on,
	// in the order they arrive.
	p.ctx, p.cancel = chromedp.NewContext(b.ctx, chromedp.WithListener(p.event))
	// As in Start: the tab's first action binds the tab to the context it runs with.
	opened := make(chan error, 1)
	go func() { opened <- chromedp.Do(p.ctx) }()
	select {
	case err := <-opened:
		if err != nil {
			p.cancel()
			return nil, fmt.Errorf("open tab: %w", err)
		}
	case <-ctx.Done():
		p.cancel()
		<-opened
		return nil, fmt.Errorf("open tab: %w", ctx.Err())
	}
	if _, err := run(ctx, p, "set viewport", p.viewport(width, height)); err != nil {
		p.cancel()
		return nil, err
	}
	return p, nil
}

// OpenHTML writes html to a file of t's temporary directory and opens it (file://) in a tab
// width px wide and 900 high, closed when t ends; a failure fails t.
func (b *Browser) OpenHTML(ctx context.Context, t testing.TB, html []byte, width int) *Page {
	t.Helper()
	f, err := os.CreateTemp(t.TempDir(), "*.html")
	if err == nil {
		_, err = f.Write(html)
		err = errors.Join(err, f.Close())
	}
	if err != nil {
		t.Fatal(err)
	}
	p, err := b.NewPage(ctx, width, 900)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close(context.WithoutCancel(ctx)) })
	if err := p.Navigate(ctx, "file://"+f.Name()); err != nil {
		t.Fatal(err)
	}
	return p
}

// Close shuts Chromium down and removes its profile.
func (b *Browser) Close() error {
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	err := chromedp.Cancel(ctx) // asks the browser to close, then waits for it
	b.cancel()
	b.cancelAlloc() // waits for the process to exit and its profile to be removed
	return err
}

// Message is one console call, uncaught exception or browser log entry of a page.
type Message struct {
	Source string // "console", "exception", "dialog" or "log/<source>" (network, security, …)
	Level  string // "log", "info", "warning", "error", …
	Text   string
}

func (m Message) String() string { return m.Source + " " + m.Level + ": " + m.Text }

// Page is one tab.
type Page struct {
	ctx           context.Context // chromedp's context of the tab
	cancel        context.CancelFunc
	width, height int

	mu       sync.Mutex
	messages []Message
	requests []string
}

// run runs a chromedp action on the tab of p until ctx (the caller's deadline) ends. chromedp
// finds the tab through the context's values, so the action gets a child of the tab's context
// that ctx cancels; cancelling a child ends the call, not the tab.
func run[T any](ctx context.Context, p *Page, what string, action chromedp.Action[T]) (T, error) {
	cctx, cancel := context.WithCancel(p.ctx)
	defer cancel()
	defer context.AfterFunc(ctx, cancel)()
	v, err := chromedp.Run(cctx, action)
	if err != nil {
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		return v, fmt.Errorf("%s: %w", what, err)
	}
	return v, nil
}

// event records what the page does. It runs in chromedp's read loop, so it only appends.
func (p *Page) event(ev any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch e := ev.(type) {
	case *runtime.EventConsoleAPICalled:
		var parts []string
		for _, a := range e.Args {
			var v any
			if len(a.Value) > 0 && json.Unmarshal(a.Value, &v) == nil {
				parts = append(parts, fmt.Sprint(v))
			} else {
				parts = append(parts, a.Description)
			}
		}
		p.messages = append(p.messages, Message{Source: "console", Level: string(e.Type), Text: strings.Join(parts, " ")})
	case *runtime.EventExceptionThrown:
		text := e.ExceptionDetails.Text
		if ex := e.ExceptionDetails.Exception; ex != nil {
			text += " " + ex.Description
		}
		p.messages = append(p.messages, Message{Source: "exception", Level: "error", Text: strings.TrimSpace(text)})
	case *log.EventEntryAdded:
		p.messages = append(p.messages, Message{Source: "log/" + string(e.Entry.Source), Level: string(e.Entry.Level),
			Text: strings.TrimSpace(e.Entry.Text + " " + e.Entry.URL)})
	case *page.EventJavascriptDialogOpening:
		// An alert/confirm/prompt means page script ran that should not have: record it as an
		// error and dismiss the dialog so the page does not block (from another goroutine: a
		// command sent from the read loop would wait for a reply only this loop can read).
		p.messages = append(p.messages, Message{Source: "dialog", Level: "error", Text: string(e.Type) + ": " + e.Message})
		go func() {
			ctx, cancel := context.WithTimeout(p.ctx, 10*time.Second)
			defer cancel()
			_, _ = chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: false})
		}()
	case *network.EventRequestWillBeSent:
		p.requests = append(p.requests, e.Request.URL)
	}
}

// Navigate loads url and waits for its load event (all scripts of the page have run).
func (p *Page) Navigate(ctx context.Context, url string) error {
	_, err := run(ctx, p, "navigate to "+url, chromedp.Navigate(url))
	return err
}

// Eval evaluates a JavaScript expression in the page (promises are awaited) and decodes its
// JSON-serialisable result into out (which may be nil).
func (p *Page) Eval(ctx context.Context, expr string, out any) error {
	res, err := run(ctx, p, fmt.Sprintf("evaluate %q", expr),
		chromedp.Evaluate[*runtime.RemoteObject](expr, chromedp.EvalAsValue, chromedp.EvalAwaitPromise))
	if err != nil || out == nil {
		return err
	}
	if len(res.Value) == 0 {
		return fmt.Errorf("evaluate %q: result of type %s has no JSON value", expr, res.Type)
	}
	return json.Unmarshal(res.Value, out)
}

// WaitFor evaluates cond until it is true, or ctx ends.
func (p *Page) WaitFor(ctx context.Context, cond string) error {
	for {
		var ok bool
		if err := p.Eval(ctx, "Boolean("+cond+")", &ok); err != nil {
			return err
		}
		if ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for %s: %w", cond, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Messages returns the console calls, uncaught exceptions and log entries so far.
func (p *Page) Messages() []Message {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Message(nil), p.messages...)
}

// Errors returns the messages at level error or warning: a clean page has none.
func (p *Page) Errors() []Message {
	var out []Message
	for _, m := range p.Messages() {
		if m.Level == "error" || m.Level == "warning" || m.Level == "assert" {
			out = append(out, m)
		}
	}
	return out
}

// Requests returns the URL of every request the page made (documents, scripts, styles, …).
func (p *Page) Requests() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.requests...)
}

func (p *Page) viewport(width, height int) chromedp.Action[chromedp.Void] {
	return chromedp.EmulateViewport(int64(width), int64(height))
}

// Screenshot returns a PNG of the whole page at the page's viewport width.
func (p *Page) Screenshot(ctx context.Context) ([]byte, error) {
	var height int
	if err := p.Eval(ctx, "Math.ceil(document.documentElement.scrollHeight)", &height); err != nil {
		return nil, err
	}
	// The window grows to the page's height, so the whole page is laid out and painted as in a
	// window that tall.
	if _, err := run(ctx, p, "set viewport", p.viewport(p.width, max(height, 1))); err != nil {
		return nil, err
	}
	// Let a resize (and echarts' redraw after it) reach the screen.
	if err := p.Eval(ctx, "new Promise(r => requestAnimationFrame(() => requestAnimationFrame(() => r(true))))", nil); err != nil {
		return nil, err
	}
	png, err := run(ctx, p, "capture screenshot", chromedp.CaptureScreenshot())
	if err != nil {
		return nil, err
	}
	_, err = run(ctx, p, "set viewport", p.viewport(p.width, p.height))
	return png, err
}

// Close closes the tab.
func (p *Page) Close(ctx context.Context) error {
	done := make(chan struct{})
	go func() { p.cancel(); close(done) }() // detaches and closes the tab, and waits for it
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("close tab: %w", ctx.Err())
	}
}

type lockedWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.w.Len() > 1<<20 { // keep the first MiB of chatter; enough to diagnose a failed start
		return len(p), nil
	}
	return l.w.Write(p)
}

func (l *lockedWriter) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.String()
}

func tail(s string) string {
	if len(s) > 2000 {
		return "…" + s[len(s)-2000:]
	}
	return s
}
