package artifact_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/aispend/aispend/collect"
	"github.com/aispend/aispend/collect/pgstore"
	"github.com/aispend/aispend/collect/testkit"
	"github.com/aispend/aispend/report"
	"github.com/aispend/aispend/report/api"
	"github.com/aispend/aispend/report/artifact"
)

// compareOf reads the comparison of a published period's report.json.
func compareOf(t *testing.T, dir string, p report.Period) *api.Compare {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, artifact.SitePeriod(p).File(artifact.ReportJSONName)))
	if err != nil {
		t.Fatal(err)
	}
	var doc api.Document
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	return doc.Compare
}

// Ensures a month whose previous month's same days have data only from 11:02 on 7 October is
// compared with that part alone, and that the page (Chromium), the landing page's headline, the
// digest (Mailpit) and report.json say so alike: the amount, no percentage (it would be a percentage of three and a
// half days, not of ten), and "vs 7 Oct 11:02 – 10 Oct 24:00, since data begin".
func TestComparisonWhenDataBeginMidPeriod(t *testing.T) {
	f := newMonthFixture(t, time.Date(2026, 11, 10, 12, 0, 0, 0, seoul))
	begin := time.Date(2026, 10, 7, 11, 2, 0, 0, seoul)
	if _, err := f.env.pool.Exec(context.Background(), `DELETE FROM events WHERE occurred_at < $1`, begin); err != nil {
		t.Fatal(err)
	}
	s := pgstore.New(f.env.pool, pgstore.Options{})
	if _, _, err := s.Insert(context.Background(), []collect.Row{{EventID: "first", OccurredAt: begin, Service: "QA_CHAT",
		Model: "claude-sonnet-4-5", Provider: "anthropic", CostSource: "provider", Cost: decimal.NewNullDecimal(testkit.Dec("2")), Success: true}}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	nov := report.PeriodContaining(report.Monthly, time.Date(2026, 11, 1, 0, 0, 0, 0, seoul), seoul)
	page, _, digest := f.run(t, nov)
	const label = "vs 7 Oct 11:02 – 10 Oct 24:00, since data begin"

	ctx, p := openPage(t, page)
	if got := pageText(t, ctx, p, ".kpi .kpi-change"); !regexp.MustCompile(`^\+₩\d+ ` + label + `$`).MatchString(got) {
		t.Errorf("page: total cost change %q, want the amount without a percentage %s", got, label)
	}
	// The landing page's headline is the month in progress, stated on the same terms.
	ctx, ip := openPage(t, filepath.Join(f.dir, "index.html"))
	if head := pageText(t, ctx, ip, ".spend"); !regexp.MustCompile(`(?s)November 2026 in progress\s+₩\d+\s+month to date, 10 of 30 days\s+\+₩\d+ ` + label).MatchString(head) {
		t.Errorf("landing page headline:\n%s\nwant November to date with the amount %s", head, label)
	}
	if got, want := pageText(t, ctx, ip, ".spend .kpi-change"), pageText(t, ctx, p, ".kpi .kpi-change"); got != want {
		t.Errorf("landing page says %q, the month's page %q", got, want)
	}
	if c := compareOf(t, f.dir, nov); c == nil || c.Basis != "partial" || c.Label != label {
		t.Errorf("report.json compare %+v, want partial %q", c, label)
	}
	if !strings.Contains(digest.Text, label) {
		t.Errorf("digest does not name the comparison %q:\n%s", label, digest.Text)
	}
	for _, line := range strings.Split(digest.Text, "\n") {
		if strings.Contains(line, label) && strings.Contains(line, "%") {
			t.Errorf("digest states a percentage of part of a period: %q", line)
		}
	}
}

// Ensures a fresh installation's first day is compared with nothing: the page states "nothing
// to compare with: data begin 1 Oct 00:30" and shows no change (not "+₩3 vs 30 Sep"), and the
// digest and report.json say the same.
func TestComparisonOfFreshInstall(t *testing.T) {
	f := newMonthFixture(t, time.Date(2026, 10, 2, 9, 0, 0, 0, seoul))
	first := report.PeriodContaining(report.Daily, time.Date(2026, 10, 1, 0, 0, 0, 0, seoul), seoul)
	page, _, digest := f.run(t, first)
	const label = "nothing to compare with: data begin 1 Oct 00:30"

	ctx, p := openPage(t, page)
	if got := pageText(t, ctx, p, ".meta.compare"); got != label {
		t.Errorf("page states %q, want %q", got, label)
	}
	if got := pageText(t, ctx, p, ".kpi-change"); got != "" {
		t.Errorf("page shows a change against nothing: %q", got)
	}
	if got := pageText(t, ctx, p, "main"); strings.Contains(got, "CHANGE") || strings.Contains(got, "vs 30 Sep") {
		t.Errorf("page has a change column or compares with 30 Sep:\n%s", got)
	}
	if c := compareOf(t, f.dir, first); c == nil || c.Basis != "none" || c.Label != label {
		t.Errorf("report.json compare %+v, want none %q", c, label)
	}
	if !strings.Contains(digest.Text, label) || strings.Contains(digest.Text, "vs the previous period") {
		t.Errorf("digest does not say there is nothing to compare with:\n%s", digest.Text)
	}
}
