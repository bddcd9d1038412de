package report

import (
	"context"
	"net/textproto"
)

// Email is an email a run sends (an alert, the digest), composed and ready: report/email makes
// it, report/mail checks its addresses and headers, writes it as MIME and delivers it.
type Email struct {
	From    string
	Sender  string // the envelope sender, when it is not From
	To      []string
	Cc      []string
	Bcc     []string // delivered to, never named in the header
	ReplyTo []string
	Subject string
	Text    []byte
	HTML    []byte
	// Headers are the further header fields: Message-Id (which the caller sets), Auto-Submitted,
	// X-Aispend-Alert. The fields above are never set here.
	Headers     textproto.MIMEHeader
	Attachments []Attachment
}

// NewEmail is an empty email with its header map made.
func NewEmail() *Email { return &Email{Headers: textproto.MIMEHeader{}} }

// Attachment is a file attached to an email.
type Attachment struct {
	Filename    string
	ContentType string
	Content     []byte
}

// Sender delivers the emails of a run (report/mail: SMTP or the outbox). It only sends what was
// composed (report/email); the Job decides who is alerted about what.
type Sender interface {
	// Send delivers one email; the caller has set its Message-ID header.
	Send(ctx context.Context, e *Email) error
}

// AlertComposer composes the email of an alert (report/email.AlertEmail); ErrNoRecipients when
// in.To is empty.
type AlertComposer func(in AlertInput) (*Email, error)
