package artifact_test

import (
	"context"
	"fmt"
	"html"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/aispend/aispend/collect"
	"github.com/aispend/aispend/collect/pgstore"
	"github.com/aispend/aispend/collect/testkit"
	"github.com/aispend/aispend/report"
	"github.com/aispend/aispend/report/artifact"
	"github.com/aispend/aispend/report/email"
	"github.com/aispend/aispend/report/mail"
	"github.com/aispend/aispend/report/pgquery"
	"github.com/aispend/aispend/report/publish"
)

// Ensures the nightly run lists the period's anomalies, with the one explanation computed by
// package report, on the period page and in the digest (HTML and text).
func TestAnomaliesOnPageAndDigest(t *testing.T) {
	e := newEnv(t)
	sender, err := mail.NewOutbox(e.outbox, "aispend@example.com")
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	st := pgquery.New(e.pool)
	o, err := artifact.New(artifact.Config{
		Store: st, Target: publish.Dir{Root: root}, Sender: sender, Location: seoul,
		From: "aispend@example.com", Recipients: []string{"cfo@example.com"}, Now: func() time.Time { return e.now },
	})
	if err != nil {
		t.Fatal(err)
	}
	cfg := &report.AnomalyConfig{Scopes: []string{"user_id"}, MinImpact: decimal.NewFromInt(100)}
	job := &report.Job{Store: st, Anomalies: st, Anomaly: cfg, ComposeAnomaly: email.AnomalyEmail, Sender: sender, Location: seoul,
		Currency: "USD", From: "aispend@example.com", Recipients: []string{"oncall@example.com"}, Outputs: o, Now: func() time.Time { return e.now }}
	// u-17 spends $10 every afternoon for a week, then $510 on 10 October: the first of those days
	// began before the data did, so the usual level is the median of the 6 days after it.
	var rows []collect.Row
	d := day(10)
	for i := 7; i >= 0; i-- {
		cost := "10"
		if i == 0 {
			cost = "510"
		}
		rows = append(rows, collect.Row{EventID: fmt.Sprintf("ev-%d", i), OccurredAt: d.Start.AddDate(0, 0, -i).Add(14 * time.Hour),
			Service: "QA_CHAT", Model: "gpt-4o", UserID: "u-17", InputTokens: 10, OutputTokens: 5, CostSource: "provider", Success: true,
			Cost: decimal.NewNullDecimal(testkit.Dec(cost))})
	}
	s := pgstore.New(e.pool, pgstore.Options{})
	if _, _, err := s.Insert(context.Background(), rows); err != nil {
		t.Fatal(err)
	}
	s.Close()
	e.now = d.End.Add(9 * time.Hour)
	res, err := job.Run(context.Background(), d, report.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Report.Anomalies) != 1 {
		t.Fatalf("anomalies of the period: %+v", res.Report.Anomalies)
	}
	want := "Anomaly: user_id u-17 spent $510.00 on Sat 10 Oct 2026: +$500.00 (+5000.0 %) against the usual $10.00 for the previous 6 days; 100.0 % of it from user u-17 on gpt-4o in QA_CHAT"
	if got := res.Report.Anomalies[0].Summary("USD", seoul); got != want {
		t.Fatalf("summary %q, want %q", got, want)
	}
	page, err := os.ReadFile(filepath.Join(root, artifact.SitePeriod(d).Dir(), "index.html"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(html.UnescapeString(string(page)), want) {
		t.Errorf("the period page does not list the anomaly")
	}
	ds := digests(e.outboxMessages(t))
	if len(ds) != 1 {
		t.Fatalf("%d digests in the outbox", len(ds))
	}
	text, htmlPart := messageParts(t, ds[0])
	for typ, body := range map[string]string{"text/plain": text, "text/html": htmlPart} {
		if !strings.Contains(html.UnescapeString(body), want) {
			t.Errorf("the digest's %s part does not list the anomaly", typ)
		}
	}
}
