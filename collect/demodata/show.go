package demodata

import (
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/aispend/aispend/report"
	"github.com/aispend/aispend/report/artifact"
	"github.com/aispend/aispend/report/format"
	"github.com/aispend/aispend/report/site"
)

// reportedDays is how many complete days the demo reports, one daily run each.
const reportedDays = 7

// Periods are the periods the demo reports, in the order it runs them: the last reportedDays
// complete days, oldest first, so that alerts and the site's archive build up as they would
// day by day; then the last complete ISO week; then the month of the last complete day (the
// current month to date, or on the 1st the month that just ended), because the data set
// covers only the last 30 days and the month before would be mostly empty.
func Periods(now time.Time, loc *time.Location) []report.Period {
	yesterday := report.DefaultPeriod(report.Daily, now, loc)
	days := make([]report.Period, reportedDays)
	p := yesterday
	for i := reportedDays - 1; i >= 0; i-- {
		days[i] = p
		p = p.Previous()
	}
	return append(days,
		report.DefaultPeriod(report.Weekly, now, loc),
		report.PeriodContaining(report.Monthly, yesterday.Start, loc))
}

// AlertClock is the clock a run of p checks its alerts with: a day's alerts as the daily run at
// 09:00 the next morning would have checked them, when they are within alerts.grace and the demo
// shows them; checked now, a week of backfilled days would be too late to send (report.Stale).
// Other periods, and a day whose next 09:00 is still ahead, use now.
func AlertClock(p report.Period, now func() time.Time) func() time.Time {
	alertsAt := p.End.Add(9 * time.Hour)
	return func() time.Time {
		if n := now(); p.Kind != report.Daily || n.Before(alertsAt) {
			return n
		}
		return alertsAt
	}
}

// WriteLoadSummary prints what Load stored from g: how many events, their cost, the spike day,
// and how many complete days reached each threshold of every unscoped daily budget.
func WriteLoadSummary(w io.Writer, g *Generator, l Loaded, took time.Duration, currency string, budgets []Budget) {
	cost, n, unpriced := l.Totals.Sum()
	fmt.Fprintf(w, "Loaded %s events (%s new, %s already present) in %s: %s to %s.\n",
		group(n), group(l.Accepted), group(l.Duplicates), took.Round(100*time.Millisecond),
		g.Start().Format(time.DateOnly), g.End().Format("2006-01-02 15:04 MST"))
	fmt.Fprintf(w, "Total cost %s, %s unpriced events (model missing from the price table).\n",
		format.Format(cost, currency), group(unpriced))
	spikeDay := ""
	for _, d := range g.Days() {
		if d.Spike && d.Complete {
			spikeDay = d.Date.Format("Mon 2006-01-02")
		}
	}
	if spikeDay != "" {
		fmt.Fprintf(w, "Spike: %s, a retry loop in %s's chat integration.\n", spikeDay, g.SpikeOrg())
	}
	today := g.Days()[len(g.Days())-1].Date
	for _, b := range budgets {
		if b.Period != "daily" || len(b.Scope) > 0 {
			continue
		}
		counts, days := thresholdDays(l.Totals.Days(), today, b)
		var parts []string
		for i, t := range b.Thresholds {
			parts = append(parts, fmt.Sprintf("%d%% on %d", t, counts[i]))
		}
		fmt.Fprintf(w, "Budget %s (%s a day) reached %s of %d days.\n", b.Name, format.Format(b.Amount, currency), strings.Join(parts, ", "), days)
	}
}

// thresholdDays counts the days before today (complete days only: today is still running) on
// which daily budget b reached each of its thresholds.
func thresholdDays(totals []DayTotal, today time.Time, b Budget) (counts []int, days int) {
	counts = make([]int, len(b.Thresholds))
	for _, d := range totals {
		if !d.Date.Before(today) {
			continue
		}
		days++
		for i, t := range b.Thresholds {
			if report.Crossed(d.Cost, b.Amount, t) {
				counts[i]++
			}
		}
	}
	return counts, days
}

// Outputs is where the demo's runs wrote: the output (a directory or s3:// URL), the SMTP host
// (empty: the outbox), and how many alerts the runs sent.
type Outputs struct {
	Output   string
	MailHost string
	Alerts   int
}

// WriteOutputs says where the demo's site, pages, workbooks and emails are: the landing page,
// the page and workbook of the last day, the week and the month (the other days are beside the
// last one).
func WriteOutputs(w io.Writer, o Outputs, periods []report.Period) {
	out := o.Output
	if !strings.HasPrefix(out, "s3://") {
		if abs, err := filepath.Abs(out); err == nil {
			out = abs
		}
	}
	var shown []site.Period
	for i, p := range periods {
		if i+1 < len(periods) && periods[i+1].Kind == p.Kind {
			continue // an earlier day
		}
		shown = append(shown, artifact.SitePeriod(p))
	}
	list := func(title string, path func(site.Period) string) {
		for i, sp := range shown {
			if i == 0 {
				fmt.Fprintf(w, "  %-10s %s\n", title+":", path(sp))
			} else {
				fmt.Fprintf(w, "  %-10s %s\n", "", path(sp))
			}
		}
	}
	fmt.Fprintf(w, "\nDone. Look at:\n  site:      %s\n", join(out, "index.html"))
	list("pages", func(sp site.Period) string { return join(out, sp.PagePath()) })
	list("workbooks", func(sp site.Period) string { return join(out, sp.Dir(), sp.WorkbookName()) })
	alerts := fmt.Sprintf("%d %s sent by this run, and the digests", o.Alerts, format.Noun(int64(o.Alerts), "alert"))
	if o.MailHost != "" {
		fmt.Fprintf(w, "  emails:    sent through %s (%s)\n", o.MailHost, alerts)
		return
	}
	outbox := out
	if strings.HasPrefix(out, "s3://") {
		outbox, _ = filepath.Abs("out") // .eml files are always written locally
	}
	fmt.Fprintf(w, "  emails:    %s (%s)\n", join(outbox, "outbox", "*.eml"), alerts)
}

func join(base string, parts ...string) string {
	if strings.HasPrefix(base, "s3://") {
		return strings.TrimSuffix(base, "/") + "/" + strings.Join(parts, "/")
	}
	return filepath.Join(append([]string{base}, parts...)...)
}

func group(n int) string { return format.Group(strconv.Itoa(n)) }
