package report

import (
	"errors"
	"time"
)

// ErrNoRecipients means an alert has nowhere to go: neither the budget nor the configuration
// names a recipient.
var ErrNoRecipients = errors.New("no recipients: set the budget's recipients or AISPEND_ALERT_EMAILS")

// AlertInput is what an alert email is made of.
type AlertInput struct {
	Status    Status
	Breach    Breach
	MessageID string
	Drivers   map[Dimension][]Driver // top services, models, users in the budget's scope
	Currency  string
	From      string
	To        []string
	ReportURL string // empty: no link
	// WorkbookURL is the link to the period's workbook; empty: no link.
	WorkbookURL string
	// LocalLinks: the links are file:// URLs because no public URL is configured.
	LocalLinks bool
	// Also are the lower thresholds of the same period crossed with Breach's: this email
	// stands for them too.
	Also       []int
	AsOf       time.Time
	Location   *time.Location
	IsTestSend bool // "aispend alert test": says so in the subject
}

// AlertDimensions are the dimensions of an alert's driver tables, in order.
var AlertDimensions = []Dimension{ByService, ByModel, ByUser}
