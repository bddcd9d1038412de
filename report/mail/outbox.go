package mail

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/aispend/aispend/report"
)

// DefaultOutboxFrom is the From of outbox messages when neither the message nor the
// configuration names one.
const DefaultOutboxFrom = "aispend@localhost"

const outboxStamp = "20060102T150405Z"

// Outbox writes each message as <dir>/<UTC timestamp>-<message id>.eml, the exact bytes an SMTP
// server would have received. A message whose Message-ID is already in the outbox replaces
// that file (keeping its name), so a resend overwrites instead of duplicating.
type Outbox struct {
	dir  string
	from string
	now  func() time.Time
	mu   sync.Mutex
}

// NewOutbox creates dir if needed. from is the default From; empty means DefaultOutboxFrom.
func NewOutbox(dir, from string) (*Outbox, error) {
	if dir == "" {
		return nil, errors.New("outbox directory is empty (set an SMTP host or an outbox directory)")
	}
	if from == "" {
		from = DefaultOutboxFrom
	}
	if _, err := parseAddress("from", from); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create outbox: %w", err)
	}
	return &Outbox{dir: dir, from: from, now: time.Now}, nil
}

// Dir is the outbox directory.
func (o *Outbox) Dir() string { return o.dir }

// Send writes e to the outbox; it returns the same validation errors as SMTP.Send.
func (o *Outbox) Send(ctx context.Context, e *report.Email) error {
	if err := ctx.Err(); err != nil {
		return &Error{Op: "write outbox message", Err: err}
	}
	m, err := prepare(e, o.from, o.now())
	if err != nil {
		return permanent("prepare message", err)
	}
	id := fileID(m.messageID)
	o.mu.Lock()
	defer o.mu.Unlock()
	name, err := o.existing(id)
	if err != nil {
		return &Error{Op: "read outbox", Err: err}
	}
	if name == "" {
		name = m.date.UTC().Format(outboxStamp) + "-" + id + ".eml"
	}
	if err := writeFileAtomic(filepath.Join(o.dir, name), m.raw); err != nil {
		return &Error{Op: "write outbox message", Err: err}
	}
	return nil
}

// existing returns the name of the file already holding id, if any.
func (o *Outbox) existing(id string) (string, error) {
	entries, err := os.ReadDir(o.dir)
	if err != nil {
		return "", err
	}
	suffix := "-" + id + ".eml"
	for _, en := range entries {
		n := en.Name()
		if len(n) != len(outboxStamp)+len(suffix) || !strings.HasSuffix(n, suffix) {
			continue
		}
		if _, err := time.Parse(outboxStamp, n[:len(outboxStamp)]); err == nil {
			return n, nil
		}
	}
	return "", nil
}

// fileID makes a Message-ID safe as a file name. When characters had to be replaced or the ID
// cut short, a hash of the whole ID keeps distinct IDs in distinct files.
func fileID(messageID string) string {
	id := strings.TrimSuffix(strings.TrimPrefix(messageID, "<"), ">")
	var b strings.Builder
	changed := false
	for i := 0; i < len(id); i++ {
		c := id[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("._@+-", c) >= 0 {
			b.WriteByte(c)
		} else {
			b.WriteByte('_')
			changed = true
		}
	}
	s := b.String()
	if len(s) > 100 {
		s, changed = s[:100], true
	}
	if changed {
		sum := sha256.Sum256([]byte(messageID))
		s += "-" + hex.EncodeToString(sum[:4])
	}
	return s
}

// writeFileAtomic writes through a temporary file and a rename, so readers never see half a
// message and a crash leaves either the old file or the new one.
func writeFileAtomic(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-*.eml")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil {
		err = f.Chmod(0o640)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
	}
	return err
}
