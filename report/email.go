package report

import (
	"context"
	"net/textproto"
)

// Email is an email a run sends (an alert, the digest), rendered and ready: report/mail checks
// its addresses and headers, writes it as MIME and delivers it.
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

// Sender makes and delivers the emails of a run (report/mail): it renders alert emails with the
// email templates and sends any email through SMTP or into the outbox. The Job decides who is
// alerted about what; the markup and the transport stay behind this interface.
type Sender interface {
	// AlertEmail renders the email of an alert; ErrNoRecipients when in.To is empty.
	AlertEmail(in AlertInput) (*Email, error)
	// Send delivers one email; the caller has set its Message-ID header.
	Send(ctx context.Context, e *Email) error
}
