package artifact_test

import (
	"bytes"
	"context"
	"encoding/json"
	netmail "net/mail"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	jemail "github.com/jordan-wright/email"
	"github.com/shopspring/decimal"
	"github.com/xuri/excelize/v2"

	"github.com/aispend/aispend/collect"
	"github.com/aispend/aispend/collect/testkit"
	"github.com/aispend/aispend/collect/testkit/eventtest"
	"github.com/aispend/aispend/collect/testkit/mailtest"
	"github.com/aispend/aispend/collect/testkit/sheettest"
	"github.com/aispend/aispend/report"
	"github.com/aispend/aispend/report/artifact"
	"github.com/aispend/aispend/report/mail"
	"github.com/aispend/aispend/report/pgquery"
	"github.com/aispend/aispend/report/publish"
	"github.com/aispend/aispend/report/sheet"
)

// october is the month the statement tests report, in Seoul; the run is on 2 November.
var october = report.PeriodContaining(report.Monthly, time.Date(2026, 10, 15, 0, 0, 0, 0, seoul), seoul)

// chargebackJob is a job whose outputs send the statements of cb through Mailpit (srv) and no
// digest.
func chargebackJob(t *testing.T, e *env, srv *mailtest.Server, cb artifact.Chargeback) *report.Job {
	t.Helper()
	sender, err := mail.New(mail.Config{Host: srv.SMTPHost, Port: srv.SMTPPort, TLS: mail.TLSNone, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	st := pgquery.New(e.pool)
	o, err := artifact.New(artifact.Config{
		Store: st, Target: publish.Dir{Root: t.TempDir()}, Sender: sender, Location: seoul,
		From: "aispend@example.com", Chargeback: &cb, Now: func() time.Time { return e.now },
	})
	if err != nil {
		t.Fatal(err)
	}
	e.now = october.End.Add(9 * time.Hour)
	return &report.Job{Store: st, Sender: sender, Location: seoul, Currency: "USD", From: "aispend@example.com",
		MessageIDDomain: "example.com", Outputs: o, Now: func() time.Time { return e.now }}
}

// row is an October (or, with prev, September) event of org and user costing cost ("":
// unpriced), with tags.
func row(t *testing.T, at time.Time, org, user, service, cost string, tags map[string]string) collect.Row {
	r := eventtest.Row(eventtest.ID(t), at)
	r.OrgID, r.UserID, r.Service = org, user, service
	eventtest.Price(&r, cost)
	if tags != nil {
		b, err := json.Marshal(tags)
		if err != nil {
			t.Fatal(err)
		}
		r.Tags = b
	}
	return r
}

// statement is one statement as Mailpit received it, with its workbook saved to a file.
type statement struct {
	to, subject, text, html string
	workbook                string // path; "" when none was attached
}

// statements are the messages Mailpit holds, by recipient.
func statements(t *testing.T, srv *mailtest.Server) map[string]statement {
	t.Helper()
	out := map[string]statement{}
	for _, m := range srv.Messages(t) {
		d := srv.Message(t, m.ID)
		parsed, err := jemail.NewEmailFromReader(bytes.NewReader(d.Raw))
		if err != nil {
			t.Fatal(err)
		}
		var to []string
		for _, a := range parsed.To {
			addr, err := netmail.ParseAddress(a)
			if err != nil {
				t.Fatal(err)
			}
			to = append(to, addr.Address)
		}
		s := statement{to: strings.Join(to, ","), subject: parsed.Subject, text: string(parsed.Text), html: string(parsed.HTML)}
		for _, a := range parsed.Attachments {
			s.workbook = filepath.Join(t.TempDir(), a.Filename)
			if err := os.WriteFile(s.workbook, a.Content, 0o600); err != nil {
				t.Fatal(err)
			}
		}
		if _, dup := out[s.to]; dup {
			t.Errorf("a second statement to %s: %q", s.to, s.subject)
		}
		out[s.to] = s
	}
	return out
}

// cells is every non-empty cell text of every sheet of a workbook.
func cells(t *testing.T, path string) map[string][][]string {
	t.Helper()
	f, err := excelize.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string][][]string{}
	for _, name := range f.GetSheetList() {
		rows, err := f.GetRows(name, excelize.Options{RawCellValue: true})
		if err != nil {
			t.Fatal(err)
		}
		out[name] = rows
	}
	return out
}

// costByName reads a breakdown sheet's Cost column by the first column's name, without the
// total row.
func costByName(t *testing.T, rows [][]string) map[string]decimal.Decimal {
	t.Helper()
	col := -1
	for i, h := range rows[0] {
		if h == "Cost" {
			col = i
		}
	}
	if col < 0 {
		t.Fatalf("no Cost column in %q", rows[0])
	}
	out := map[string]decimal.Decimal{}
	for _, r := range rows[1:] {
		if len(r) <= col || r[0] == "" || r[0] == "Total" {
			continue
		}
		out[r[0]] = testkit.Dec(r[col])
	}
	return out
}

// dbCostBy is SELECT key, sum(cost) … GROUP BY key over October's events of org.
func dbCostBy(t *testing.T, e *env, key, org string) map[string]decimal.Decimal {
	t.Helper()
	rows, err := e.pool.Query(context.Background(), "SELECT coalesce("+key+", ''), coalesce(sum(cost), 0)::text FROM events "+
		"WHERE org_id = $1 AND occurred_at >= $2 AND occurred_at < $3 GROUP BY 1", org, october.Start, october.End)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]decimal.Decimal{}
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			t.Fatal(err)
		}
		out[k] = testkit.Dec(v)
	}
	return out
}

// Ensures each of two organisations gets one statement, to its own address, with only its lines:
// the workbook of org-a (read back cell by cell) names no user, org or event of org-b nor any
// event without an org; its Summary total, its Events sheet and its By service and By user sheets
// equal SELECT … GROUP BY on org-a's October events to the last unit; and the email states the
// total and the change against org-a's September. A second run sends nothing more.
func TestChargebackStatementHoldsOnlyTheOwnersLines(t *testing.T) {
	e := newEnv(t)
	srv := mailtest.Start(t)
	job := chargebackJob(t, e, srv, artifact.Chargeback{By: report.Per{Field: report.PerOrgID},
		Recipients: map[string]string{"org-a": "a@example.com", "org-b": "b@example.com"}})
	d := october.Start.Add(36 * time.Hour)
	eventtest.Insert(t, e.pool,
		row(t, d, "org-a", "alice", "QA_CHAT", "1.25", nil),
		row(t, d.Add(time.Hour), "org-a", "alice", "SUMMARY", "2.000001", nil),
		row(t, d.Add(48*time.Hour), "org-a", "bob", "QA_CHAT", "0.333333", nil),
		row(t, d.Add(50*time.Hour), "org-a", "bob", "QA_CHAT", "", nil), // unpriced
		row(t, d.Add(2*time.Hour), "org-b", "carol", "QA_CHAT", "7.77", nil),
		row(t, d.Add(3*time.Hour), "org-b", "dave", "TRANSLATE", "100", nil),
		row(t, d.Add(4*time.Hour), "", "erin", "QA_CHAT", "55", nil),
		row(t, october.Start.Add(-48*time.Hour), "org-a", "alice", "QA_CHAT", "2", nil), // September
	)
	ctx := context.Background()
	if _, err := job.Run(ctx, october, report.RunOptions{}); err != nil {
		t.Fatal(err)
	}
	got := statements(t, srv)
	if len(got) != 2 || got["a@example.com"].workbook == "" || got["b@example.com"].workbook == "" {
		t.Fatalf("statements: %+v; want one to each owner with its workbook", got)
	}
	a := got["a@example.com"]
	if !strings.Contains(a.subject, "org-a") || !strings.Contains(a.subject, "$3.58") {
		t.Errorf("subject %q: want the owner and its total $3.58", a.subject)
	}
	for _, want := range []string{"Total cost:  $3.58", "+79.1 % (+$1.58) vs September 2026 ($2.00)", "1 request without a price",
		"- alice: $3.25", "- bob: $0.33"} {
		if !strings.Contains(a.text, want) {
			t.Errorf("text part lacks %q:\n%s", want, a.text)
		}
	}
	for _, s := range []string{a.text, a.html} {
		for _, other := range []string{"org-b", "carol", "dave", "erin", "TRANSLATE"} {
			if strings.Contains(s, other) {
				t.Errorf("org-a's email names %q", other)
			}
		}
	}
	book := cells(t, a.workbook)
	for name, rows := range book {
		for _, r := range rows {
			for _, c := range r {
				for _, other := range []string{"org-b", "carol", "dave", "erin", "TRANSLATE", "(none)"} {
					if strings.Contains(c, other) {
						t.Errorf("org-a's workbook, sheet %s: cell %q names %q", name, c, other)
					}
				}
			}
		}
	}
	summary, events, n := sheettest.Totals(t, a.workbook)
	want := dbCostBy(t, e, "org_id", "org-a")["org-a"]
	if !summary.Equal(want) || !events.Equal(want) || n != 4 {
		t.Errorf("org-a's workbook: summary %s, events %s over %d rows; the database: %s over 4", summary, events, n, want)
	}
	for _, c := range []struct {
		sheet, key string
	}{{sheet.SheetServices, "service"}, {sheet.SheetUsers, "user_id"}, {sheet.SheetOrgs, "org_id"}} {
		gotCost, wantCost := costByName(t, book[c.sheet]), dbCostBy(t, e, c.key, "org-a")
		if len(gotCost) != len(wantCost) {
			t.Errorf("%s: %v; the database: %v", c.sheet, gotCost, wantCost)
		}
		for k, w := range wantCost {
			if g, ok := gotCost[k]; !ok || !g.Equal(w) {
				t.Errorf("%s %q: %s; the database: %s", c.sheet, k, g, w)
			}
		}
	}
	// org-b's workbook holds org-b's total and nothing of org-a.
	bsum, _, bn := sheettest.Totals(t, got["b@example.com"].workbook)
	if !bsum.Equal(testkit.Dec("107.77")) || bn != 2 {
		t.Errorf("org-b's workbook: %s over %d events; want 107.77 over 2", bsum, bn)
	}

	if _, err := job.Run(ctx, october, report.RunOptions{}); err != nil {
		t.Fatal(err)
	}
	if n := len(srv.Messages(t)); n != 2 {
		t.Errorf("after a second run: %d messages; want the 2 statements only", n)
	}
}

// Ensures two runs of the month at once send each owner's statement once between them, and a
// third run none; and that an owner without spend in the month gets a statement saying 0.
func TestChargebackStatementOnceWithConcurrentRuns(t *testing.T) {
	e := newEnv(t)
	srv := mailtest.Start(t)
	cb := artifact.Chargeback{By: report.Per{Field: report.PerOrgID},
		Recipients: map[string]string{"org-a": "a@example.com", "org-idle": "idle@example.com"}}
	jobs := []*report.Job{chargebackJob(t, e, srv, cb), chargebackJob(t, e, srv, cb)}
	eventtest.Insert(t, e.pool, row(t, october.Start.Add(time.Hour), "org-a", "alice", "QA_CHAT", "4.5", nil))
	var wg sync.WaitGroup
	errs := make([]error, len(jobs))
	for i, j := range jobs {
		wg.Go(func() { _, errs[i] = j.Run(context.Background(), october, report.RunOptions{}) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if _, err := jobs[0].Run(context.Background(), october, report.RunOptions{}); err != nil {
		t.Fatal(err)
	}
	got := statements(t, srv)
	if len(got) != 2 {
		t.Fatalf("%d statements after two concurrent runs and a third: %v; want one per owner", len(got), got)
	}
	idle := got["idle@example.com"]
	if !strings.Contains(idle.text, "Total cost:  $0.00") || !strings.Contains(idle.text, "nothing to charge") {
		t.Errorf("the idle owner's statement does not say 0:\n%s", idle.text)
	}
	if s, _, n := sheettest.Totals(t, idle.workbook); !s.IsZero() || n != 0 {
		t.Errorf("the idle owner's workbook: %s over %d events; want 0 over none", s, n)
	}
}

// Ensures a statement whose send fails stays pending, with its attempt and error recorded, and
// the next run sends it, once.
func TestChargebackStatementRetriedAfterFailedSend(t *testing.T) {
	e := newEnv(t)
	srv := mailtest.Start(t)
	job := chargebackJob(t, e, srv, artifact.Chargeback{By: report.Per{Field: report.PerOrgID},
		Recipients: map[string]string{"org-a": "a@example.com"}})
	eventtest.Insert(t, e.pool, row(t, october.Start.Add(time.Hour), "org-a", "alice", "QA_CHAT", "4.5", nil))
	srv.Stop()
	res, err := job.Run(context.Background(), october, report.RunOptions{})
	if err == nil || !strings.Contains(err.Error(), "chargeback: statement of org_id org-a") {
		t.Fatalf("run with the SMTP server down: %v; want the chargeback step to fail naming the owner", err)
	}
	_ = res
	var status string
	var attempts int
	var lastErr *string
	if err := e.pool.QueryRow(context.Background(), "SELECT status, attempts, last_error FROM chargeback_log WHERE by_key = 'org_id' AND owner = 'org-a' AND period = '2026-10'").
		Scan(&status, &attempts, &lastErr); err != nil {
		t.Fatal(err)
	}
	if status != "pending" || attempts != 1 || lastErr == nil || *lastErr == "" {
		t.Errorf("ledger after the failed send: %s, %d attempts, error %v; want pending, 1, the error", status, attempts, lastErr)
	}
	srv.Restart(t)
	if _, err := job.Run(context.Background(), october, report.RunOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := job.Run(context.Background(), october, report.RunOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := statements(t, srv); len(got) != 1 || got["a@example.com"].workbook == "" {
		t.Errorf("after the server came back: %v; want the one statement", got)
	}
}

// Ensures owners by tag get their statements, and that hostile text — an owner value that is
// markup and a user id that is a formula — is escaped in the HTML part, stays text in the plain
// part, and is stored inert in the workbook.
func TestChargebackStatementByTagEscapesHostileText(t *testing.T) {
	e := newEnv(t)
	srv := mailtest.Start(t)
	const owner, formula = `<script>alert(1)</script>`, `=HYPERLINK("http://evil.example","x")`
	job := chargebackJob(t, e, srv, artifact.Chargeback{By: report.Per{Field: report.PerTag, TagKey: "team"},
		Recipients: map[string]string{owner: "x@example.com", "search": "s@example.com"}})
	d := october.Start.Add(time.Hour)
	eventtest.Insert(t, e.pool,
		row(t, d, "org-a", formula, "QA_CHAT", "1.5", map[string]string{"team": owner}),
		row(t, d, "org-a", "sam", "QA_CHAT", "2.25", map[string]string{"team": "search", "project": "faq"}),
		row(t, d, "org-a", "nobody", "QA_CHAT", "9", nil),
	)
	if _, err := job.Run(context.Background(), october, report.RunOptions{}); err != nil {
		t.Fatal(err)
	}
	got := statements(t, srv)
	x := got["x@example.com"]
	if strings.Contains(x.html, "<script") || !strings.Contains(x.html, "&lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Errorf("HTML part does not escape the owner value:\n%s", x.html)
	}
	if !strings.Contains(x.text, "team "+owner) || !strings.Contains(x.text, "- "+formula+": $1.50") {
		t.Errorf("text part lacks the owner or the user as text:\n%s", x.text)
	}
	users := cells(t, x.workbook)[sheet.SheetUsers]
	if len(users) < 2 || users[1][0] != "'"+formula {
		t.Errorf("By user: %q; want the formula stored inert (with a leading apostrophe)", users)
	}
	if s, _, n := sheettest.Totals(t, x.workbook); !s.Equal(testkit.Dec("1.5")) || n != 1 {
		t.Errorf("the tag owner's workbook: %s over %d events; want 1.5 over 1", s, n)
	}
	if s, _, n := sheettest.Totals(t, got["s@example.com"].workbook); !s.Equal(testkit.Dec("2.25")) || n != 1 {
		t.Errorf("search's workbook: %s over %d events; want 2.25 over 1", s, n)
	}
}
