package email

import (
	"strings"
	"testing"
)

func TestNewBarClamps(t *testing.T) {
	for _, c := range []struct{ in, want int }{{-5, 0}, {0, 0}, {42, 42}, {100, 100}, {250, 100}} {
		if b := newBar(c.in, "#000000"); b.Percent != c.want || b.Rest() != 100-c.want || b.Height != 14 {
			t.Errorf("newBar(%d) = %+v", c.in, b)
		}
	}
}

// Ensures the alert and the digest draw their bars with the one shared partial, from table
// cells with background colours.
func TestProgressBarSharedByAlertAndDigest(t *testing.T) {
	const bar = `<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" style="border-collapse:collapse;">
<tr><td width="42%" height="14" style="height:14px;background-color:#b45309;font-size:0;line-height:0;">&nbsp;</td><td width="58%" height="14" style="height:14px;background-color:#e5e7eb;font-size:0;line-height:0;">&nbsp;</td>
</tr>
</table>`
	_, _, alert, err := renderAlert(alertView{Budget: "b", Severity: "WARNING", BarPercent: 42})
	if err != nil {
		t.Fatal(err)
	}
	_, _, dg, err := renderDigest(digestView{Kind: "Daily", Period: "2025-06-01", TimeZone: "UTC",
		Budgets: []digestBudget{{Name: "b", State: "warning", Filled: 42}}})
	if err != nil {
		t.Fatal(err)
	}
	for name, h := range map[string]string{"alert": alert, "digest": dg} {
		if !strings.Contains(h, bar) {
			t.Errorf("%s lacks the shared bar:\n%s", name, h)
		}
	}
	if strings.Contains(alert, "BarRest") || strings.Count(alert, "progress_bar") > 0 {
		t.Error("template names leak into the output")
	}
}
