// Package browsertest drives a real headless Chromium (Debian package "chromium") over the
// DevTools protocol, for tests that must see a page as a browser does: scripts run, canvases
// drawn, console errors, the requests a page makes, and screenshots.
//
// Chromium runs with a fresh profile, background networking off and every proxied request sent
// to a closed port (127.0.0.1:9), so a page that tries to reach the network fails visibly in
// Requests and Messages instead of silently succeeding.
package browsertest

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

var timeZero time.Time

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
	cmd    *exec.Cmd
	dir    string
	ws     *wsConn
	output *lockedWriter
	exited chan struct{}

	mu       sync.Mutex
	nextID   int64
	pending  map[int64]chan message
	sessions map[string]*Page
	readErr  error
	done     chan struct{}
}

type message struct {
	ID        int64           `json:"id,omitempty"`
	Method    string          `json:"method,omitempty"`
	Params    json.RawMessage `json:"params,omitempty"`
	Result    json.RawMessage `json:"result,omitempty"`
	SessionID string          `json:"sessionId,omitempty"`
	Error     *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"error,omitempty"`
}

// Start launches Chromium (bin from Find) and connects to its DevTools endpoint.
func Start(ctx context.Context, bin string) (*Browser, error) {
	dir, err := os.MkdirTemp("", "aispend-chromium-")
	if err != nil {
		return nil, fmt.Errorf("create chromium profile dir: %w", err)
	}
	args := []string{
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--disable-extensions", "--disable-default-apps", "--mute-audio", "--hide-scrollbars",
		"--disable-dev-shm-usage", "--force-device-scale-factor=1", "--window-size=1280,900",
		// Any request that would leave the machine goes to a closed port instead.
		"--proxy-server=127.0.0.1:9", "--proxy-bypass-list=<-loopback>",
		"--user-data-dir=" + dir, "--remote-debugging-port=0", "about:blank",
	}
	cmd := exec.Command(bin, args...)
	out := &lockedWriter{w: &bytes.Buffer{}}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	b := &Browser{cmd: cmd, dir: dir, output: out, exited: make(chan struct{}),
		pending: map[int64]chan message{}, sessions: map[string]*Page{}, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(b.exited) }()

	// Chromium writes the port it picked and the browser endpoint to DevToolsActivePort.
	var port, path string
	for {
		data, err := os.ReadFile(filepath.Join(dir, "DevToolsActivePort"))
		if lines := strings.Split(string(data), "\n"); err == nil && len(lines) >= 2 && lines[1] != "" {
			port, path = strings.TrimSpace(lines[0]), strings.TrimSpace(lines[1])
			break
		}
		select {
		case <-b.exited:
			b.cleanup()
			return nil, fmt.Errorf("chromium exited during startup: %s", tail(out.String()))
		case <-ctx.Done():
			b.kill()
			return nil, fmt.Errorf("chromium did not open its DevTools port: %w; output: %s", ctx.Err(), tail(out.String()))
		case <-time.After(50 * time.Millisecond):
		}
	}
	ws, err := dialWS(ctx, "127.0.0.1:"+port, path)
	if err != nil {
		b.kill()
		return nil, err
	}
	b.ws = ws
	go b.readLoop()
	return b, nil
}

func (b *Browser) readLoop() {
	defer close(b.done)
	for {
		data, err := b.ws.ReadMessage()
		if err != nil {
			b.mu.Lock()
			b.readErr = err
			for id, ch := range b.pending {
				close(ch)
				delete(b.pending, id)
			}
			b.mu.Unlock()
			return
		}
		var m message
		if err := json.Unmarshal(data, &m); err != nil {
			continue
		}
		b.mu.Lock()
		if m.ID != 0 {
			if ch, ok := b.pending[m.ID]; ok {
				ch <- m
				delete(b.pending, m.ID)
			}
			b.mu.Unlock()
			continue
		}
		page := b.sessions[m.SessionID]
		b.mu.Unlock()
		if page != nil {
			page.event(m.Method, m.Params)
		}
	}
}

// call sends one DevTools command (to the browser when session is "") and waits for its reply.
func (b *Browser) call(ctx context.Context, session, method string, params any, result any) error {
	if params == nil {
		params = struct{}{}
	}
	raw, err := json.Marshal(params)
	if err != nil {
		return fmt.Errorf("devtools %s: marshal params: %w", method, err)
	}
	ch := make(chan message, 1)
	b.mu.Lock()
	if b.readErr != nil {
		b.mu.Unlock()
		return fmt.Errorf("devtools %s: connection closed: %w", method, b.readErr)
	}
	b.nextID++
	id := b.nextID
	b.pending[id] = ch
	b.mu.Unlock()
	req, _ := json.Marshal(message{ID: id, Method: method, Params: raw, SessionID: session})
	if err := b.ws.WriteText(req); err != nil {
		return fmt.Errorf("devtools %s: send: %w", method, err)
	}
	select {
	case m, ok := <-ch:
		if !ok {
			return fmt.Errorf("devtools %s: connection closed", method)
		}
		if m.Error != nil {
			return fmt.Errorf("devtools %s: %s (%d)", method, m.Error.Message, m.Error.Code)
		}
		if result != nil {
			if err := json.Unmarshal(m.Result, result); err != nil {
				return fmt.Errorf("devtools %s: decode result: %w", method, err)
			}
		}
		return nil
	case <-ctx.Done():
		b.mu.Lock()
		delete(b.pending, id)
		b.mu.Unlock()
		return fmt.Errorf("devtools %s: %w", method, ctx.Err())
	}
}

// NewPage opens a tab of the given viewport width and height, with console, log and network
// recording on.
func (b *Browser) NewPage(ctx context.Context, width, height int) (*Page, error) {
	var target struct {
		TargetID string `json:"targetId"`
	}
	if err := b.call(ctx, "", "Target.createTarget", map[string]any{"url": "about:blank"}, &target); err != nil {
		return nil, err
	}
	var attached struct {
		SessionID string `json:"sessionId"`
	}
	if err := b.call(ctx, "", "Target.attachToTarget", map[string]any{"targetId": target.TargetID, "flatten": true}, &attached); err != nil {
		return nil, err
	}
	p := &Page{b: b, session: attached.SessionID, target: target.TargetID, width: width, height: height}
	b.mu.Lock()
	b.sessions[p.session] = p
	b.mu.Unlock()
	for _, domain := range []string{"Page", "Runtime", "Log", "Network"} {
		if err := p.call(ctx, domain+".enable", nil, nil); err != nil {
			return nil, err
		}
	}
	if err := p.setViewport(ctx, width, height); err != nil {
		return nil, err
	}
	return p, nil
}

// Close shuts Chromium down and removes its profile.
func (b *Browser) Close() error {
	if b.ws != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_ = b.call(ctx, "", "Browser.close", nil, nil)
		cancel()
		_ = b.ws.Close()
	}
	select {
	case <-b.exited:
	case <-time.After(10 * time.Second):
		_ = b.cmd.Process.Kill()
		<-b.exited
	}
	return b.cleanup()
}

func (b *Browser) kill() {
	_ = b.cmd.Process.Kill()
	<-b.exited
	b.cleanup()
}

func (b *Browser) cleanup() error { return os.RemoveAll(b.dir) }

// Output is what Chromium printed (for diagnosing a failed test).
func (b *Browser) Output() string { return b.output.String() }

// Message is one console call, uncaught exception or browser log entry of a page.
type Message struct {
	Source string // "console", "exception", "dialog" or "log/<source>" (network, security, …)
	Level  string // "log", "info", "warning", "error", …
	Text   string
}

func (m Message) String() string { return m.Source + " " + m.Level + ": " + m.Text }

// Page is one tab.
type Page struct {
	b             *Browser
	session       string
	target        string
	width, height int

	mu       sync.Mutex
	messages []Message
	requests []string
	loads    int
	loaded   chan struct{}
}

func (p *Page) call(ctx context.Context, method string, params, result any) error {
	return p.b.call(ctx, p.session, method, params, result)
}

func (p *Page) event(method string, params json.RawMessage) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch method {
	case "Page.loadEventFired":
		p.loads++
		if p.loaded != nil {
			close(p.loaded)
			p.loaded = nil
		}
	case "Runtime.consoleAPICalled":
		var e struct {
			Type string `json:"type"`
			Args []struct {
				Value       any    `json:"value"`
				Description string `json:"description"`
			} `json:"args"`
		}
		_ = json.Unmarshal(params, &e)
		var parts []string
		for _, a := range e.Args {
			if a.Value != nil {
				parts = append(parts, fmt.Sprint(a.Value))
			} else {
				parts = append(parts, a.Description)
			}
		}
		p.messages = append(p.messages, Message{Source: "console", Level: e.Type, Text: strings.Join(parts, " ")})
	case "Runtime.exceptionThrown":
		var e struct {
			Details struct {
				Text      string `json:"text"`
				Exception struct {
					Description string `json:"description"`
				} `json:"exception"`
			} `json:"exceptionDetails"`
		}
		_ = json.Unmarshal(params, &e)
		p.messages = append(p.messages, Message{Source: "exception", Level: "error",
			Text: strings.TrimSpace(e.Details.Text + " " + e.Details.Exception.Description)})
	case "Log.entryAdded":
		var e struct {
			Entry struct {
				Source string `json:"source"`
				Level  string `json:"level"`
				Text   string `json:"text"`
				URL    string `json:"url"`
			} `json:"entry"`
		}
		_ = json.Unmarshal(params, &e)
		p.messages = append(p.messages, Message{Source: "log/" + e.Entry.Source, Level: e.Entry.Level,
			Text: strings.TrimSpace(e.Entry.Text + " " + e.Entry.URL)})
	case "Page.javascriptDialogOpening":
		// An alert/confirm/prompt means page script ran that should not have: record it as an
		// error and dismiss the dialog so the page does not block (not from this goroutine,
		// which must keep reading replies).
		var e struct {
			Type    string `json:"type"`
			Message string `json:"message"`
		}
		_ = json.Unmarshal(params, &e)
		p.messages = append(p.messages, Message{Source: "dialog", Level: "error", Text: e.Type + ": " + e.Message})
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_ = p.call(ctx, "Page.handleJavaScriptDialog", map[string]any{"accept": false}, nil)
		}()
	case "Network.requestWillBeSent":
		var e struct {
			Request struct {
				URL string `json:"url"`
			} `json:"request"`
		}
		_ = json.Unmarshal(params, &e)
		p.requests = append(p.requests, e.Request.URL)
	}
}

// Navigate loads url and waits for its load event (all scripts of the page have run).
func (p *Page) Navigate(ctx context.Context, url string) error {
	loaded := make(chan struct{})
	p.mu.Lock()
	p.loaded = loaded
	p.mu.Unlock()
	var res struct {
		ErrorText string `json:"errorText"`
	}
	if err := p.call(ctx, "Page.navigate", map[string]any{"url": url}, &res); err != nil {
		return err
	}
	if res.ErrorText != "" {
		return fmt.Errorf("navigate to %s: %s", url, res.ErrorText)
	}
	select {
	case <-loaded:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("navigate to %s: no load event: %w", url, ctx.Err())
	}
}

// Eval evaluates a JavaScript expression in the page (promises are awaited) and decodes its
// JSON-serialisable result into out (which may be nil).
func (p *Page) Eval(ctx context.Context, expr string, out any) error {
	var res struct {
		Result struct {
			Type  string          `json:"type"`
			Value json.RawMessage `json:"value"`
		} `json:"result"`
		ExceptionDetails *struct {
			Text      string `json:"text"`
			Exception struct {
				Description string `json:"description"`
			} `json:"exception"`
		} `json:"exceptionDetails"`
	}
	err := p.call(ctx, "Runtime.evaluate", map[string]any{
		"expression": expr, "returnByValue": true, "awaitPromise": true,
	}, &res)
	if err != nil {
		return err
	}
	if d := res.ExceptionDetails; d != nil {
		return fmt.Errorf("evaluate %q: %s %s", expr, d.Text, d.Exception.Description)
	}
	if out == nil {
		return nil
	}
	if len(res.Result.Value) == 0 {
		return fmt.Errorf("evaluate %q: result of type %s has no JSON value", expr, res.Result.Type)
	}
	return json.Unmarshal(res.Result.Value, out)
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

func (p *Page) setViewport(ctx context.Context, width, height int) error {
	return p.call(ctx, "Emulation.setDeviceMetricsOverride", map[string]any{
		"width": width, "height": height, "deviceScaleFactor": 1, "mobile": false,
	}, nil)
}

// Screenshot returns a PNG of the whole page at the page's viewport width.
func (p *Page) Screenshot(ctx context.Context) ([]byte, error) {
	var height int
	if err := p.Eval(ctx, "Math.ceil(document.documentElement.scrollHeight)", &height); err != nil {
		return nil, err
	}
	if err := p.setViewport(ctx, p.width, max(height, 1)); err != nil {
		return nil, err
	}
	// Let a resize (and echarts' redraw after it) reach the screen.
	if err := p.Eval(ctx, "new Promise(r => requestAnimationFrame(() => requestAnimationFrame(() => r(true))))", nil); err != nil {
		return nil, err
	}
	var shot struct {
		Data string `json:"data"`
	}
	if err := p.call(ctx, "Page.captureScreenshot", map[string]any{"format": "png"}, &shot); err != nil {
		return nil, err
	}
	png, err := base64.StdEncoding.DecodeString(shot.Data)
	if err != nil {
		return nil, fmt.Errorf("decode screenshot: %w", err)
	}
	return png, p.setViewport(ctx, p.width, p.height)
}

// Close closes the tab.
func (p *Page) Close(ctx context.Context) error {
	p.b.mu.Lock()
	delete(p.b.sessions, p.session)
	p.b.mu.Unlock()
	return p.b.call(ctx, "", "Target.closeTarget", map[string]any{"targetId": p.target}, nil)
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
