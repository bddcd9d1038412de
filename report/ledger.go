package report

import (
	"time"

	"github.com/shopspring/decimal"
)

// Alert ledger statuses.
const (
	StatusPending = "pending"
	StatusSent    = "sent"
)

// LedgerEntry is one row of the alert ledger: a claimed alert and what became of it.
type LedgerEntry struct {
	Breach
	PeriodKind    PeriodKind
	PeriodEnd     time.Time
	Spent         decimal.Decimal // at claim time
	Amount        decimal.Decimal
	Projected     decimal.NullDecimal
	Status        string // pending | sent
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
