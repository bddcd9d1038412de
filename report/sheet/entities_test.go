package sheet

import (
	"testing"

	"github.com/aispend/aispend/collect/testkit"
)

// Ensures a workbook with envelope budgets lists every entity on the Envelopes sheet, in the
// order given, with typed money and percent cells (remaining never below 0), and that a workbook
// without envelope budgets has no such sheet.
func TestEnvelopesSheet(t *testing.T) {
	wb := fixture()
	wb.Entities = []EntityRow{
		{Budget: "per-user", Per: "user_id", Period: "monthly 2025-06", Entity: "alice", Limit: testkit.Dec("20"), Spent: testkit.Dec("25.5"), State: "exceeded"},
		{Budget: "per-user", Per: "user_id", Period: "monthly 2025-06", Entity: "bob", Limit: testkit.Dec("100"), Spent: testkit.Dec("80"), State: "warning", Unpriced: 2},
	}
	f := open(t, render(t, wb, Options{}))
	if got := str(t, f, SheetEnvelopes, "D2") + "," + str(t, f, SheetEnvelopes, "D3"); got != "alice,bob" {
		t.Errorf("entities %s", got)
	}
	for ref, want := range map[string]float64{"E2": 20, "F2": 25.5, "G2": 0, "H2": 1.275, "G3": 20, "H3": 0.8, "J3": 2} {
		if got := number(t, f, SheetEnvelopes, ref); got != want {
			t.Errorf("%s = %v, want %v", ref, got, want)
		}
	}
	if str(t, f, SheetEnvelopes, "I2") != "exceeded" || str(t, f, SheetEnvelopes, "B2") != "user_id" {
		t.Errorf("state %q per %q", str(t, f, SheetEnvelopes, "I2"), str(t, f, SheetEnvelopes, "B2"))
	}
	plain := open(t, render(t, fixture(), Options{}))
	if idx, _ := plain.GetSheetIndex(SheetEnvelopes); idx >= 0 {
		t.Error("a workbook without envelope budgets has an Envelopes sheet")
	}
}
