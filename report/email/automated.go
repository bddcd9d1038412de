package email

import "github.com/aispend/aispend/report"

// newAutomated is an email marked as automatic, as every email aispend composes is, so that
// out-of-office and other auto-replies are not sent back to it: Auto-Submitted (RFC 3834) and
// Exchange's X-Auto-Response-Suppress.
func newAutomated() *report.Email {
	e := report.NewEmail()
	e.Headers.Set("Auto-Submitted", "auto-generated")
	e.Headers.Set("X-Auto-Response-Suppress", "All")
	return e
}
