package email

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/aispend/aispend/report"
	"github.com/aispend/aispend/report/mail"
)

// DefaultAttachMaxBytes is the default cap on an attached workbook: 5 MiB. Attachments grow by
// a third in base64, and many mail servers refuse messages over 10 to 25 MB.
const DefaultAttachMaxBytes int64 = 5 << 20

// XLSXType is the content type of an Excel workbook.
const XLSXType = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

// Attachment is the workbook offered for attaching. The digest attaches it only when it is no
// larger than MaxBytes; otherwise the body says it is not attached and points to the link.
type Attachment struct {
	Filename string // e.g. "aispend-daily-2025-06-01.xlsx"
	// Size is the workbook's size in bytes; over MaxBytes, Open is never called.
	Size int64
	// Open returns the workbook's bytes; they are read up to MaxBytes+1, so a file that grew
	// after Size was taken is still not attached over the cap.
	Open func() (io.ReadCloser, error)
	// MaxBytes caps the attachment; 0 means DefaultAttachMaxBytes.
	MaxBytes int64
}

// FileAttachment offers the workbook at path, capped at maxBytes (0: the default).
func FileAttachment(path string, maxBytes int64) (*Attachment, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("stat workbook: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("workbook %s is not a regular file", path)
	}
	return &Attachment{
		Filename: filepath.Base(path),
		Size:     fi.Size(),
		Open:     func() (io.ReadCloser, error) { return os.Open(path) },
		MaxBytes: maxBytes,
	}, nil
}

// read is the workbook's bytes when it fits under the cap (nil when a is nil or it does not),
// and what the email says about it. A workbook that does not fit is not an error: the email
// says so.
func (a *Attachment) read() (workbookNote, []byte, error) {
	if a == nil {
		return workbookNote{}, nil, nil
	}
	if err := checkFilename(a.Filename); err != nil {
		return workbookNote{}, nil, err
	}
	if a.Open == nil {
		return workbookNote{}, nil, errors.New("attachment has no Open")
	}
	limit := a.limit()
	note := workbookNote{Filename: a.Filename, Size: formatBytes(a.Size), Cap: formatBytes(limit)}
	if a.Size > limit {
		note.TooLarge = true
		return note, nil, nil
	}
	b, err := readCapped(a.Open, limit)
	switch {
	case errors.Is(err, errTooLarge):
		note.TooLarge, note.Size = true, "over "+formatBytes(limit)
		return note, nil, nil
	case err != nil:
		return workbookNote{}, nil, fmt.Errorf("read workbook %s: %w", a.Filename, err)
	}
	note.Attached, note.Size = true, formatBytes(int64(len(b)))
	return note, b, nil
}

func (a *Attachment) limit() int64 {
	if a.MaxBytes > 0 {
		return a.MaxBytes
	}
	return DefaultAttachMaxBytes
}

// MessageKey identifies a digest for its Message-ID: one per period and run kind.
func (d Digest) MessageKey() string {
	kind := d.RunKind
	if kind == "" {
		kind = "scheduled"
	}
	return "digest\x00" + d.Period.Kind + "\x00" + d.Period.Label + "\x00" + kind
}

// MessageID is the digest's Message-ID for a sender address: the same for every run of the same
// period and run kind in d's installation, so a re-sent digest is recognised as the same message.
func (d Digest) MessageID(from string) string {
	return report.MessageID(d.Installation, "aispend", d.MessageKey(), mail.MessageIDDomain(from))
}

// DigestEmail makes the digest message from `from` to `to`, with HTML and plain-text parts and, when
// attach is not nil and the workbook fits under its cap, the workbook attached. Send it with a
// report.Sender.
func DigestEmail(d Digest, from string, to []string, attach *Attachment) (*report.Email, error) {
	if len(to) == 0 {
		return nil, errors.New("build digest: no recipients")
	}
	note, content, err := attach.read()
	if err != nil {
		return nil, fmt.Errorf("build digest: %w", err)
	}
	subject, html, text, err := digestParts(d, note)
	if err != nil {
		return nil, err
	}
	e := newAutomated()
	e.From = from
	e.To = append([]string(nil), to...)
	e.Subject = subject
	e.HTML = html
	e.Text = text
	e.Headers.Set("Message-Id", d.MessageID(from))
	if content != nil {
		e.Attachments = []report.Attachment{{Filename: attach.Filename, ContentType: XLSXType, Content: content}}
	}
	return e, nil
}

var errTooLarge = errors.New("larger than the cap")

func readCapped(open func() (io.ReadCloser, error), limit int64) ([]byte, error) {
	r, err := open()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, errTooLarge
	}
	return b, nil
}

// checkFilename refuses names the library would write raw into a MIME header.
func checkFilename(name string) error {
	if name == "" {
		return errors.New("attachment has no file name")
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f || r == '"' || r == '\\' || r == '/' || r > 0x7e {
			return fmt.Errorf("attachment file name %q: use printable ASCII without quotes or slashes", name)
		}
	}
	return nil
}

// formatBytes shows a size in binary units, as file managers do: "512 bytes", "7.3 MB".
func formatBytes(n int64) string {
	const k = 1024
	switch {
	case n < k:
		return fmt.Sprintf("%d bytes", n)
	case n < k*k:
		return trimZero(fmt.Sprintf("%.1f", float64(n)/k)) + " KB"
	default:
		return trimZero(fmt.Sprintf("%.1f", float64(n)/(k*k))) + " MB"
	}
}

func trimZero(s string) string { return strings.TrimSuffix(s, ".0") }
