package email_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aispend/aispend/collect/testkit/mailtest"
	"github.com/aispend/aispend/report"
	"github.com/aispend/aispend/report/email"
	aimail "github.com/aispend/aispend/report/mail"
)

const from = "aispend@reports.example.com"

var to = []string{"cfo@example.com", "eng-leads@example.com"}

// workbookBytes stands in for an xlsx: the digest treats it as opaque bytes.
func workbookBytes(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i * 7)
	}
	return b
}

func build(t *testing.T, d email.Digest, a *email.Attachment) *report.Email {
	t.Helper()
	e, err := email.DigestEmail(d, from, to, a)
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	return e
}

// Ensures a message has both parts, the headers of automatic mail, and a Message-ID that is the
// same for the same period and run kind and differs otherwise.
func TestBuildMessage(t *testing.T) {
	d := sample()
	e := build(t, d, nil)
	if e.From != from || strings.Join(e.To, ",") != strings.Join(to, ",") {
		t.Errorf("From %q To %q", e.From, e.To)
	}
	if !strings.HasPrefix(e.Subject, "aispend · Daily digest 2025-06-01") {
		t.Errorf("subject %q", e.Subject)
	}
	if len(e.HTML) == 0 || len(e.Text) == 0 {
		t.Fatal("want an HTML and a plain-text part")
	}
	if len(e.Attachments) != 0 {
		t.Errorf("%d attachments without one asked for", len(e.Attachments))
	}
	if strings.Contains(string(e.Text), "attached") || strings.Contains(string(e.HTML), "attached") {
		t.Error("the body talks about an attachment that was not asked for")
	}
	if e.Headers.Get("Auto-Submitted") != "auto-generated" || e.Headers.Get("X-Auto-Response-Suppress") != "All" {
		t.Errorf("not marked automatic: %v", e.Headers)
	}

	id := e.Headers.Get("Message-Id")
	if id != d.MessageID(from) || !strings.HasSuffix(id, "@reports.example.com>") {
		t.Errorf("Message-ID %q, want %q", id, d.MessageID(from))
	}
	if again := build(t, sample(), nil).Headers.Get("Message-Id"); again != id {
		t.Errorf("same period and run kind: Message-ID %q, then %q", id, again)
	}
	other := sample()
	other.Period.Label = "2025-06-02"
	manual := sample()
	manual.RunKind = "manual"
	monthly := sample()
	monthly.Period.Kind = "monthly"
	for name, o := range map[string]email.Digest{"label": other, "run kind": manual, "period kind": monthly} {
		if got := build(t, o, nil).Headers.Get("Message-Id"); got == id {
			t.Errorf("another %s, same Message-ID %q", name, got)
		}
	}
	explicit := sample()
	explicit.RunKind = "scheduled" // the default spelled out
	if got := build(t, explicit, nil).Headers.Get("Message-Id"); got != id {
		t.Errorf("RunKind \"\" and \"scheduled\" differ: %q vs %q", id, got)
	}
}

func TestBuildAttachment(t *testing.T) {
	wb := workbookBytes(3000)
	t.Run("fits: attached", func(t *testing.T) {
		e := build(t, sample(), bytesAttachment("aispend-daily-2025-06-01.xlsx", wb, 3000))
		if len(e.Attachments) != 1 {
			t.Fatalf("%d attachments, want 1", len(e.Attachments))
		}
		a := e.Attachments[0]
		if a.Filename != "aispend-daily-2025-06-01.xlsx" || !bytes.Equal(a.Content, wb) {
			t.Errorf("attachment %q, %d bytes", a.Filename, len(a.Content))
		}
		if ct := a.ContentType; ct != email.XLSXType {
			t.Errorf("content type %q", ct)
		}
		want := "The workbook is attached: aispend-daily-2025-06-01.xlsx (2.9 KB)."
		if !strings.Contains(string(e.Text), want) || !strings.Contains(string(e.HTML), want) {
			t.Errorf("body does not say %q", want)
		}
	})
	t.Run("over the cap: not attached, body says so and links", func(t *testing.T) {
		e := build(t, sample(), bytesAttachment("aispend-daily-2025-06-01.xlsx", wb, 2999))
		if len(e.Attachments) != 0 {
			t.Fatalf("%d attachments over the cap", len(e.Attachments))
		}
		want := "The workbook aispend-daily-2025-06-01.xlsx (2.9 KB) is larger than the 2.9 KB attachment limit, so it is not attached: download it with the link above."
		if !strings.Contains(string(e.Text), want) || !strings.Contains(string(e.HTML), want) {
			t.Errorf("body does not say %q\n%s", want, e.Text)
		}
		if !strings.Contains(string(e.Text), workbookURL) {
			t.Error("the plain text lacks the workbook link")
		}
	})
	t.Run("over the cap without a link", func(t *testing.T) {
		d := sample()
		d.WorkbookURL = ""
		e := build(t, d, bytesAttachment("w.xlsx", wb, 100))
		if len(e.Attachments) != 0 || !strings.Contains(string(e.Text), "so it is not attached: find it with the published report.") {
			t.Errorf("attachments %d, text:\n%s", len(e.Attachments), e.Text)
		}
	})
	t.Run("default cap is 5 MiB", func(t *testing.T) {
		if email.DefaultAttachMaxBytes != 5242880 {
			t.Fatalf("DefaultAttachMaxBytes = %d", email.DefaultAttachMaxBytes)
		}
		big := &email.Attachment{Filename: "big.xlsx", Size: 5242881, Open: func() (io.ReadCloser, error) {
			t.Error("a workbook over the cap was opened")
			return nil, errors.New("unreachable")
		}}
		e := build(t, sample(), big)
		if len(e.Attachments) != 0 || !strings.Contains(string(e.Text), "big.xlsx (5 MB) is larger than the 5 MB attachment limit") {
			t.Errorf("attachments %d, text:\n%s", len(e.Attachments), e.Text)
		}
		exact := bytesAttachment("exact.xlsx", workbookBytes(5242880), 0)
		if e := build(t, sample(), exact); len(e.Attachments) != 1 {
			t.Error("a workbook of exactly the cap is not attached")
		}
	})
	t.Run("file grown past its stated size: not attached", func(t *testing.T) {
		a := bytesAttachment("w.xlsx", wb, 2000)
		a.Size = 10 // stale
		e := build(t, sample(), a)
		if len(e.Attachments) != 0 || !strings.Contains(string(e.Text), "w.xlsx (over 2 KB) is larger than the 2 KB attachment limit") {
			t.Errorf("attachments %d, text:\n%s", len(e.Attachments), e.Text)
		}
	})
	t.Run("from a file", func(t *testing.T) {
		p := filepath.Join(t.TempDir(), "aispend-daily-2025-06-01.xlsx")
		if err := os.WriteFile(p, wb, 0o600); err != nil {
			t.Fatal(err)
		}
		a, err := email.FileAttachment(p, 0)
		if err != nil {
			t.Fatal(err)
		}
		e := build(t, sample(), a)
		if len(e.Attachments) != 1 || !bytes.Equal(e.Attachments[0].Content, wb) {
			t.Fatal("file not attached")
		}
		if _, err := email.FileAttachment(filepath.Join(t.TempDir(), "missing.xlsx"), 0); err == nil {
			t.Error("missing file: no error")
		}
	})
}

func TestBuildRejectsBadInput(t *testing.T) {
	for _, c := range []struct {
		name   string
		d      email.Digest
		to     []string
		attach *email.Attachment
		want   string
	}{
		{"no recipients", sample(), nil, nil, "no recipients"},
		{"invalid digest", email.Digest{}, to, nil, "invalid digest"},
		{"file name with a quote", sample(), to, bytesAttachment(`a".xlsx`, nil, 0), "file name"},
		{"file name with a line break", sample(), to, bytesAttachment("a\r\nX-Evil: 1.xlsx", nil, 0), "file name"},
		{"no file name", sample(), to, bytesAttachment("", nil, 0), "no file name"},
		{"no Open", sample(), to, &email.Attachment{Filename: "a.xlsx"}, "no Open"},
		{"unreadable", sample(), to, &email.Attachment{Filename: "a.xlsx", Open: func() (io.ReadCloser, error) {
			return nil, errors.New("disk on fire")
		}}, "read workbook a.xlsx: disk on fire"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := email.DigestEmail(c.d, from, c.to, c.attach)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want one mentioning %q", err, c.want)
			}
		})
	}
}

// part is one leaf of a received MIME message, decoded.
type part struct {
	mediaType string
	filename  string
	body      []byte
}

// leaves walks a raw RFC 5322 message and returns its leaf parts and the top media type.
func leaves(t *testing.T, raw []byte) (string, []part) {
	t.Helper()
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("parse received message: %v", err)
	}
	top, _, _ := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	var out []part
	var walk func(h func(string) string, body io.Reader)
	walk = func(h func(string) string, body io.Reader) {
		mt, params, err := mime.ParseMediaType(h("Content-Type"))
		if err != nil {
			t.Fatalf("content type %q: %v", h("Content-Type"), err)
		}
		if strings.HasPrefix(mt, "multipart/") {
			mr := multipart.NewReader(body, params["boundary"])
			for {
				p, err := mr.NextPart() // decodes quoted-printable itself
				if err == io.EOF {
					return
				}
				if err != nil {
					t.Fatalf("read part: %v", err)
				}
				walk(p.Header.Get, p)
			}
		}
		b, err := io.ReadAll(body)
		if err != nil {
			t.Fatal(err)
		}
		if strings.EqualFold(h("Content-Transfer-Encoding"), "base64") {
			if b, err = base64.StdEncoding.DecodeString(strings.NewReplacer("\r", "", "\n", "").Replace(string(b))); err != nil {
				t.Fatalf("base64 part: %v", err)
			}
		}
		_, dp, _ := mime.ParseMediaType(h("Content-Disposition"))
		out = append(out, part{mediaType: mt, filename: dp["filename"], body: b})
	}
	walk(msg.Header.Get, msg.Body)
	return top, out
}

// Ensures the digest arrives through real SMTP (Mailpit) with both parts, safe HTML, and links
// that resolve; with the workbook attached when asked and under the cap, and not over it.
func TestDeliveredThroughMailpit(t *testing.T) {
	// The published site: the page, and the workbook only with its exact presigned query, as a
	// bucket checking a signature would.
	const pagePath = "/aispend/daily/2025-06-01/"
	const wbPath = "/aispend/daily/2025-06-01/aispend-daily-2025-06-01.xlsx"
	const csvPath = "/aispend/daily/2025-06-01/aispend-daily-2025-06-01-events.csv.gz"
	wantQuery := workbookURL[strings.IndexByte(workbookURL, '?')+1:]
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+pagePath, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != pagePath {
			http.NotFound(w, r)
			return
		}
		io.WriteString(w, "<!DOCTYPE html><title>report</title>")
	})
	mux.HandleFunc("GET "+wbPath, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.RawQuery != wantQuery {
			http.Error(w, "SignatureDoesNotMatch", http.StatusForbidden)
			return
		}
		w.Write(workbookBytes(10))
	})
	mux.HandleFunc("GET "+csvPath, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.RawQuery != wantQuery {
			http.Error(w, "SignatureDoesNotMatch", http.StatusForbidden)
			return
		}
		w.Write([]byte{0x1f, 0x8b})
	})
	site := httptest.NewServer(mux)
	t.Cleanup(site.Close)

	d := sample()
	d.PageURL = site.URL + pagePath
	d.WorkbookURL = site.URL + wbPath + "?" + wantQuery
	d.EventsURL = site.URL + csvPath + "?" + wantQuery

	smtp := mailtest.Start(t)
	sender, err := aimail.New(aimail.Config{Host: smtp.SMTPHost, Port: smtp.SMTPPort, TLS: aimail.TLSNone, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	// A tampered signature is refused: the 200s below mean the link arrived intact.
	if resp, err := http.Get(strings.Replace(d.WorkbookURL, "X-Amz-Signature=3f", "X-Amz-Signature=4f", 1)); err != nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("tampered link: %v %v", resp, err)
	}

	send := func(t *testing.T, a *email.Attachment) (mailtest.Detail, []part) {
		t.Helper()
		smtp.DeleteAll(t)
		e, err := email.DigestEmail(d, from, to, a)
		if err != nil {
			t.Fatal(err)
		}
		if err := sender.Send(context.Background(), e); err != nil {
			t.Fatalf("send: %v", err)
		}
		list := smtp.WaitFor(t, 1, 30*time.Second)
		m := smtp.Message(t, list[0].ID)
		top, parts := leaves(t, m.Raw)
		if a == nil && top != "multipart/alternative" {
			t.Errorf("top media type %s, want multipart/alternative", top)
		}
		return m, parts
	}

	t.Run("arrives with both parts and working links", func(t *testing.T) {
		m, parts := send(t, nil)
		if m.Subject != build(t, d, nil).Subject {
			t.Errorf("subject %q", m.Subject)
		}
		if "<"+m.MessageID+">" != d.MessageID(from) {
			t.Errorf("Message-ID %q, want %s", m.MessageID, d.MessageID(from))
		}
		if len(m.To) != 2 || m.To[0].Address != to[0] || m.To[1].Address != to[1] {
			t.Errorf("To %v", m.To)
		}
		var types []string
		for _, p := range parts {
			types = append(types, p.mediaType)
		}
		if strings.Join(types, ",") != "text/plain,text/html" {
			t.Fatalf("parts %v, want text/plain,text/html", types)
		}
		if m.HTML == "" || m.Text == "" {
			t.Fatal("Mailpit shows an empty HTML or text body")
		}
		lower := strings.ToLower(m.HTML)
		if strings.Contains(lower, "<script") || strings.Contains(lower, "src=") {
			t.Error("received HTML has <script or src=")
		}
		checkSafeHTML(t, m.HTML)
		links := hrefs(m.HTML)
		if len(links) != 3 || links[0] != d.PageURL || links[1] != d.WorkbookURL || links[2] != d.EventsURL {
			t.Fatalf("received links %q, want %q, %q and %q", links, d.PageURL, d.WorkbookURL, d.EventsURL)
		}
		for _, l := range links {
			resp, err := http.Get(l)
			if err != nil {
				t.Fatalf("GET %s: %v", l, err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Errorf("GET %s: %s", l, resp.Status)
			}
		}
		// The plain text keeps the long link whole once its transfer encoding is undone.
		for _, s := range []string{"Total cost:          ₩1,234,568", "Full report: " + d.PageURL + "\n", "Workbook:    " + d.WorkbookURL + "\n", "Events CSV:  " + d.EventsURL + "\n"} {
			if !strings.Contains(strings.ReplaceAll(m.Text, "\r\n", "\n"), s) {
				t.Errorf("received text lacks %q", s)
			}
		}
	})

	t.Run("keeps the Outlook ghost table", func(t *testing.T) {
		m, _ := send(t, nil)
		if n := strings.Count(m.HTML, "<!--[if mso]>"); n == 0 || n != strings.Count(m.HTML, "<![endif]-->") {
			t.Fatalf("received HTML has %d MSO conditional comments opened, %d closed; want the ghost table", n, strings.Count(m.HTML, "<![endif]-->"))
		}
		checkOutlookKPIs(t, m.HTML)
	})

	wb := workbookBytes(64 << 10)
	t.Run("workbook attached", func(t *testing.T) {
		m, parts := send(t, bytesAttachment("aispend-daily-2025-06-01.xlsx", wb, 1<<20))
		var got *part
		for i := range parts {
			if parts[i].filename != "" {
				got = &parts[i]
			}
		}
		if got == nil || got.filename != "aispend-daily-2025-06-01.xlsx" || got.mediaType != email.XLSXType || !bytes.Equal(got.body, wb) {
			t.Fatalf("attachment not received intact: %+v", got)
		}
		if !strings.Contains(m.Text, "The workbook is attached") {
			t.Error("text does not say the workbook is attached")
		}
	})
	t.Run("workbook over the cap", func(t *testing.T) {
		m, parts := send(t, bytesAttachment("aispend-daily-2025-06-01.xlsx", wb, 32<<10))
		for _, p := range parts {
			if p.filename != "" {
				t.Fatalf("attachment %s received over the cap", p.filename)
			}
		}
		if !strings.Contains(m.Text, "is larger than the 32 KB attachment limit, so it is not attached") ||
			!strings.Contains(m.HTML, "is larger than the 32 KB attachment limit, so it is not attached") {
			t.Errorf("body does not say why the workbook is missing:\n%s", m.Text)
		}
		if links := hrefs(m.HTML); len(links) != 3 || links[1] != d.WorkbookURL {
			t.Errorf("links %q", links)
		}
	})
}

// bytesAttachment offers a workbook held in memory, capped at maxBytes (0: the default).
func bytesAttachment(filename string, b []byte, maxBytes int64) *email.Attachment {
	return &email.Attachment{
		Filename: filename,
		Size:     int64(len(b)),
		Open:     func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil },
		MaxBytes: maxBytes,
	}
}
