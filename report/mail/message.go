package mail

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/mail"
	"net/textproto"
	"strings"
	"time"
	"unicode"

	"github.com/jordan-wright/email"

	"github.com/aispend/aispend/report"
)

// message is an email checked and rendered for sending: the envelope and the RFC 5322 bytes.
type message struct {
	from      string   // envelope sender (bare address)
	rcpts     []string // envelope recipients: To + Cc + Bcc (bare addresses)
	messageID string   // as in the header, with angle brackets
	date      time.Time
	raw       []byte
}

// Headers that must come from the Email fields: jordan-wright copies Headers verbatim and lets
// them override the fields, so a "Bcc" or "To" there would leak or split header from envelope.
var fieldHeaders = map[string]string{
	"To": "To", "Cc": "Cc", "Bcc": "Bcc", "From": "From", "Reply-To": "ReplyTo",
	"Subject": "Subject", "Sender": "Sender",
}

// prepare validates e and renders it without modifying it. defaultFrom is used when e.From is
// empty. Addresses and header values with line breaks are refused (header injection); the
// subject is display text, so line breaks and other control characters in it become spaces.
func prepare(e *report.Email, defaultFrom string, now time.Time) (*message, error) {
	if e == nil {
		return nil, errors.New("nil message")
	}
	c := *e // shallow copy: the caller's Email is left as given
	m := &message{date: now}
	if err := m.addresses(&c, defaultFrom); err != nil {
		return nil, err
	}
	c.Subject = cleanSubject(c.Subject)
	h, err := m.header(c.Headers)
	if err != nil {
		return nil, err
	}
	c.Headers = h
	if m.raw, err = render(&c); err != nil {
		return nil, err
	}
	return m, nil
}

// addresses checks and normalises the addresses of c, and sets the envelope of m from them.
func (m *message) addresses(c *report.Email, defaultFrom string) error {
	if c.From == "" {
		c.From = defaultFrom
	}
	if c.From == "" {
		return errors.New("message has no From and no default from address is configured")
	}
	from, err := parseAddress("from", c.From)
	if err != nil {
		return err
	}
	c.From = from.String()
	m.from = from.Address
	if c.Sender != "" {
		s, err := parseAddress("sender", c.Sender)
		if err != nil {
			return err
		}
		c.Sender = s.String()
		m.from = s.Address
	}
	list := func(field string, in []string) ([]string, error) {
		out := make([]string, 0, len(in))
		for _, a := range in {
			p, err := parseAddress(field, a)
			if err != nil {
				return nil, err
			}
			out = append(out, p.String())
			if field != "reply-to" {
				m.rcpts = append(m.rcpts, p.Address)
			}
		}
		return out, nil
	}
	if c.To, err = list("to", c.To); err != nil {
		return err
	}
	if c.Cc, err = list("cc", c.Cc); err != nil {
		return err
	}
	if c.Bcc, err = list("bcc", c.Bcc); err != nil {
		return err
	}
	if c.ReplyTo, err = list("reply-to", c.ReplyTo); err != nil {
		return err
	}
	if len(m.rcpts) == 0 {
		return errors.New("message has no recipients")
	}
	return nil
}

// header checks the further header fields of a message and completes them: a Message-ID (the
// given one checked, or a random one) and a Date. It sets m's Message-ID and date.
func (m *message) header(given textproto.MIMEHeader) (textproto.MIMEHeader, error) {
	h := make(textproto.MIMEHeader, len(given)+2)
	for k, vs := range given {
		ck := textproto.CanonicalMIMEHeaderKey(k)
		if !validFieldName(ck) {
			return nil, fmt.Errorf("header name %q is invalid", k)
		}
		if f, ok := fieldHeaders[ck]; ok {
			return nil, fmt.Errorf("header %s: set Email.%s instead of Headers", ck, f)
		}
		for _, v := range vs {
			if strings.ContainsAny(v, "\r\n\x00") {
				return nil, fmt.Errorf("header %s: value %q contains a line break", ck, v)
			}
			h[ck] = append(h[ck], v)
		}
	}
	// jordan-wright looks up the canonical "Message-Id"; any other spelling would be written
	// as a second Message-ID next to a generated one, so the keys are canonical above.
	switch ids := h["Message-Id"]; len(ids) {
	case 0:
		id, err := randomMessageID(m.from)
		if err != nil {
			return nil, err
		}
		h.Set("Message-Id", id)
	case 1:
		id := strings.TrimSpace(ids[0])
		if !strings.HasPrefix(id, "<") {
			id = "<" + id + ">"
		}
		if !validMessageID(id) {
			return nil, fmt.Errorf("header Message-ID %q is not <left@right>", ids[0])
		}
		h.Set("Message-Id", id)
	default:
		return nil, fmt.Errorf("header Message-ID given %d times", len(ids))
	}
	m.messageID = h.Get("Message-Id")
	if h.Get("Date") == "" {
		h.Set("Date", m.date.Format(time.RFC1123Z))
	} else if d, err := mail.ParseDate(h.Get("Date")); err == nil {
		m.date = d
	}
	return h, nil
}

// render writes a checked email as RFC 5322 bytes with the library.
func render(c *report.Email) ([]byte, error) {
	le := &email.Email{
		From: c.From, Sender: c.Sender, To: c.To, Cc: c.Cc, Bcc: c.Bcc, ReplyTo: c.ReplyTo,
		Subject: c.Subject, Text: c.Text, HTML: c.HTML, Headers: c.Headers,
	}
	for _, a := range c.Attachments {
		if _, err := le.Attach(bytes.NewReader(a.Content), a.Filename, a.ContentType); err != nil {
			return nil, fmt.Errorf("attach %s: %w", a.Filename, err)
		}
	}
	raw, err := le.Bytes()
	if err != nil {
		return nil, fmt.Errorf("render message: %w", err)
	}
	// Belt and braces: the rendered header must not carry Bcc, whatever the library does.
	hdr, err := textproto.NewReader(bufio.NewReader(bytes.NewReader(raw))).ReadMIMEHeader()
	if err != nil {
		return nil, fmt.Errorf("read back rendered header: %w", err)
	}
	if _, ok := hdr["Bcc"]; ok {
		return nil, errors.New("rendered message carries a Bcc header")
	}
	return raw, nil
}

// parseAddress accepts exactly one address, refusing line breaks before net/mail sees them.
func parseAddress(field, a string) (*mail.Address, error) {
	if strings.ContainsAny(a, "\r\n\x00") {
		return nil, fmt.Errorf("%s address %q contains a line break", field, a)
	}
	p, err := mail.ParseAddress(a)
	if err != nil {
		return nil, fmt.Errorf("%s address %q: %w", field, a, err)
	}
	return p, nil
}

// cleanSubject turns every run of control characters (CR, LF, tab, ...) into one space.
func cleanSubject(s string) string {
	var b strings.Builder
	ctl := false
	for _, r := range s {
		if unicode.IsControl(r) {
			if !ctl {
				b.WriteByte(' ')
			}
			ctl = true
			continue
		}
		ctl = false
		b.WriteRune(r)
	}
	return b.String()
}

func validFieldName(k string) bool {
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		if c := k[i]; c <= ' ' || c >= 0x7f || c == ':' {
			return false
		}
	}
	return true
}

// validMessageID checks the shape <left@right> with printable ASCII and no spaces.
func validMessageID(id string) bool {
	if len(id) < 5 || id[0] != '<' || id[len(id)-1] != '>' {
		return false
	}
	inner := id[1 : len(id)-1]
	at := strings.LastIndexByte(inner, '@')
	if at <= 0 || at == len(inner)-1 {
		return false
	}
	for i := 0; i < len(inner); i++ {
		if c := inner[i]; c <= ' ' || c >= 0x7f || c == '<' || c == '>' {
			return false
		}
	}
	return true
}

func randomMessageID(from string) (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("generate Message-ID: %w", err)
	}
	return "<" + hex.EncodeToString(b[:]) + "@" + MessageIDDomain(from) + ">", nil
}

// Domain is the domain of the one address a ("ops@example.com" or "Ops <ops@example.com>"),
// as written; ok is false when a is not an address. It is the one place an address is split.
func Domain(a string) (domain string, ok bool) {
	p, err := mail.ParseAddress(a)
	if err != nil {
		return "", false
	}
	i := strings.LastIndexByte(p.Address, '@')
	if i < 0 {
		return "", false
	}
	return p.Address[i+1:], true
}

// MessageIDDomain is the right side of the Message-IDs of mail from the address from: its
// domain, or "aispend.invalid" when it has none a Message-ID can carry (letters, digits, dots
// and hyphens).
func MessageIDDomain(from string) string {
	d, ok := Domain(from)
	if !ok {
		if i := strings.LastIndexByte(from, '@'); i >= 0 {
			d = from[i+1:]
		}
	}
	for j := 0; j < len(d); j++ {
		c := d[j]
		if !(c == '.' || c == '-' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return "aispend.invalid"
		}
	}
	if d == "" {
		return "aispend.invalid"
	}
	return d
}
