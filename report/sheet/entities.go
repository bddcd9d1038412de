package sheet

import (
	"github.com/shopspring/decimal"
)

// SheetEnvelopes lists every entity of every envelope budget (budgets with per): each user's,
// organisation's, endpoint's or tag value's spend against its own envelope. Only a workbook with
// envelope budgets has it.
const SheetEnvelopes = "Envelopes"

// EntityRow is one entity of an envelope budget in the budget period holding the report's end.
type EntityRow struct {
	Budget string
	Per    string // user_id, org_id, endpoint or tag:<key>
	Period string
	Entity string
	Limit  decimal.Decimal // the entity's envelope: its override, else the budget's amount
	Spent  decimal.Decimal
	State  string
	// Unpriced counts the entity's events without a price: not in Spent.
	Unpriced int64
}

// envelopes writes the Envelopes sheet, every entity in the order given (nearest to or over its
// envelope first within each budget); nothing without envelope budgets.
func (b *builder) envelopes() error {
	if len(b.wb.Entities) == 0 {
		return nil
	}
	cols := []column{
		{"Budget", 24, kText},
		{"Per", 14, kText},
		{"Period", 18, kText},
		{"Entity", 32, kText},
		{"Limit", 16, kMoney},
		{"Spent", 16, kMoney},
		{"Remaining", 16, kMoney},
		{"Used", 10, kPercent},
		{"State", 12, kText},
		{"Unpriced", 10, kInt},
	}
	sh, err := newSheet(b.st, SheetEnvelopes, cols, b.wb.Location)
	if err != nil {
		return err
	}
	t, err := startStream(b.f, sh)
	if err != nil {
		return err
	}
	for _, r := range b.wb.Entities {
		if err := t.add(r.Budget, r.Per, r.Period, r.Entity, r.Limit, r.Spent, decimal.Max(r.Limit.Sub(r.Spent), decimal.Zero),
			percentCell(r.Spent, r.Limit), r.State, r.Unpriced); err != nil {
			return err
		}
	}
	return t.finish(nil)
}
