package report

import (
	"time"

	"github.com/shopspring/decimal"
)

// Alert ledger statuses.
const (
	StatusPending = "pending"
	StatusSent    = "sent"
	// StatusStale: recorded and listed, never sent; its budget period had ended longer ago than
	// the grace (Job.AlertGrace) when a run found it or tried to send it again.
	StatusStale = "stale"
)

// DefaultAlertGrace is how long after its budget period ended an alert is still sent: a run the
// morning after (or a retry over a weekend) still alerts; a backfill of older periods does not.
const DefaultAlertGrace = 48 * time.Hour

// LedgerEntry is one row of the alert ledger: a claimed alert and what became of it.
type LedgerEntry struct {
	Breach
	PeriodKind    PeriodKind
	PeriodEnd     time.Time
	Spent         decimal.Decimal // at claim time
	Amount        decimal.Decimal
	Projected     decimal.NullDecimal
	Status        string // pending | sent | stale
	Attempts      int
	LastError     string
	MessageID     string
	CreatedAt     time.Time
	LastAttemptAt *time.Time
	SentAt        *time.Time
}

// Period is the entry's budget period in loc.
func (e LedgerEntry) Period(loc *time.Location) Period {
	return Period{Kind: e.PeriodKind, Start: e.PeriodStart.In(loc), End: e.PeriodEnd.In(loc)}
}

// Stale reports whether an alert of a period that ended at end is too late to send at now, after
// grace (0: DefaultAlertGrace).
func Stale(end, now time.Time, grace time.Duration) bool {
	if grace <= 0 {
		grace = DefaultAlertGrace
	}
	return now.Sub(end) > grace
}

// NewLedgerEntry is the claim made for a breach of a status in an installation.
func NewLedgerEntry(st Status, b Breach, installation, msgIDDomain string) LedgerEntry {
	e := LedgerEntry{
		Breach: b, PeriodKind: st.Period.Kind, PeriodEnd: st.Period.End,
		Spent: st.Spent, Amount: st.Limit, Status: StatusPending,
		MessageID: b.MessageID(installation, msgIDDomain),
	}
	if b.Kind == Forecast {
		e.Projected = decimal.NewNullDecimal(st.Projected)
	}
	return e
}
