package artifact_test

import (
	"context"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aispend/aispend/collect/testkit"
	"github.com/aispend/aispend/collect/testkit/mailtest"
	"github.com/aispend/aispend/report"
	"github.com/aispend/aispend/report/artifact"
	"github.com/aispend/aispend/report/email"
	"github.com/aispend/aispend/report/mail"
	"github.com/aispend/aispend/report/pgquery"
	"github.com/aispend/aispend/report/publish"
)

// Ensures that with no public URL and a local output directory, the alert and the digest
// link the period page and its workbook, in the HTML and in the text part, by absolute file://
// URLs of the files published, and say that no public URL is configured; and that with a public
// URL both link under it and say nothing of the kind.
func TestEmailLinksPageAndWorkbook(t *testing.T) {
	for _, tc := range []struct {
		name, publicURL string
	}{{"local directory", ""}, {"public URL", "https://reports.example.com/ai"}} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			dir := t.TempDir()
			seed(t, e.pool, day(2).Start, 60)
			srv := mailtest.Start(t)
			sender, err := mail.New(mail.Config{Host: srv.SMTPHost, Port: srv.SMTPPort, TLS: mail.TLSNone, Timeout: 5 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			target := publish.Dir{Root: dir, PublicURL: tc.publicURL}
			budgets := []report.Budget{{Name: "daily-total", Period: report.Daily, Amount: testkit.Dec("100"), Thresholds: []int{50}}}
			o, err := artifact.New(artifact.Config{
				Store: store{Store: pgquery.New(e.pool)}, Target: target, Sender: sender, Budgets: budgets, Location: seoul,
				From: "aispend@example.com", Recipients: []string{"cfo@example.com"}, Now: func() time.Time { return e.now },
			})
			if err != nil {
				t.Fatal(err)
			}
			job := &report.Job{Store: pgquery.New(e.pool), ComposeAlert: email.AlertEmail, Sender: sender, Budgets: budgets, Location: seoul, Currency: "USD",
				From: "aispend@example.com", Recipients: []string{"finance@example.com"}, MessageIDDomain: "example.com",
				Outputs: o, Links: artifact.PeriodLinks(target), Now: func() time.Time { return e.now }}
			if _, err := job.Run(context.Background(), day(2), report.RunOptions{}); err != nil {
				t.Fatal(err)
			}
			msgs := srv.WaitFor(t, 2, 10*time.Second)
			if len(msgs) != 2 {
				t.Fatalf("Mailpit received %d messages; want the alert and the digest", len(msgs))
			}
			pageKey, bookKey := "daily/2026-10-02/index.html", "daily/2026-10-02/aispend-daily-2026-10-02.xlsx"
			for _, m := range msgs {
				d := srv.Message(t, m.ID)
				for _, key := range []string{pageKey, bookKey} {
					var want string
					if tc.publicURL == "" {
						want = (&url.URL{Scheme: "file", Path: dir + "/" + key}).String()
						if _, err := os.Stat(dir + "/" + key); err != nil {
							t.Errorf("%s links %s, which was not published: %v", m.Subject, want, err)
						}
					} else {
						want = tc.publicURL + "/" + key
					}
					if !strings.Contains(d.HTML, `href="`+want+`"`) {
						t.Errorf("%s: HTML has no link to %s", m.Subject, want)
					}
					if !strings.Contains(d.Text, want) {
						t.Errorf("%s: text has no link to %s:\n%s", m.Subject, want, d.Text)
					}
				}
				const note = "No public URL is configured"
				if got := strings.Contains(d.HTML, note) && strings.Contains(d.Text, note); got != (tc.publicURL == "") {
					t.Errorf("%s: says %q: %v; want %v", m.Subject, note, got, tc.publicURL == "")
				}
			}
		})
	}
}
