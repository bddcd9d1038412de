package email

import (
	"sort"
	"time"

	"github.com/shopspring/decimal"

	"github.com/aispend/aispend/report"
)

// This file maps a batch run's report onto the digest, as report/artifact maps it onto the page
// and the workbook: each takes its amounts from the same report.Totals.

// DigestOf is the digest of a report: its numbers (the period and its time zone, the
// currency, the KPIs, every budget's status, the top services, models and users), its alerts
// (each recorded threshold of the budget periods overlapping it, as report/artifact lists them), the
// change from the previous period when the report's daily series covers it, and the links
// (absolute http(s) URLs, or "" for none).
func DigestOf(rep *report.Report, alerts []report.LedgerEntry, generatedAt time.Time, pageURL, workbookURL string) Digest {
	p := rep.Period
	d := Digest{
		Period:      Period{Kind: string(p.Kind), Label: p.Label(), Start: p.Start, End: p.End},
		Currency:    rep.Currency,
		TimeZone:    p.Start.Location().String(),
		KPIs:        digestKPIs(rep.Totals),
		Progress:    report.Progress(p, rep.AsOf),
		GeneratedAt: generatedAt,
		PageURL:     pageURL,
		WorkbookURL: workbookURL,
		TopServices: digestTops(rep.Breakdowns[report.ByService]),
		TopModels:   digestTops(rep.Breakdowns[report.ByModel]),
		TopUsers:    digestTops(rep.Breakdowns[report.ByUser]),
	}
	for _, st := range rep.Budgets {
		b := Budget{
			Name: st.Budget.Name, Period: st.Period.String(), Spent: st.Spent, Limit: st.Limit, Percent: st.Percent,
			State: st.State, ResetsAt: st.Period.End, AsOf: st.AsOf,
		}
		if pr, ok := st.Projection(); ok && st.Open() {
			b.Forecast, b.ForecastEstimate = decimal.NewNullDecimal(pr.Amount), pr.Estimate
		}
		if st.HasRunway {
			b.Runway = st.Runway
		}
		d.Budgets = append(d.Budgets, b)
	}
	for _, env := range rep.Envelopes {
		d.Envelopes = append(d.Envelopes, Envelope{Budget: env.Budget.Name, Per: env.Budget.Per.String(), Noun: env.Budget.Per.Noun(),
			Period: env.Period.String(), EntitySummary: report.SummarizeEntities(env.Entities)})
	}
	if rep.Previous != nil {
		k := digestKPIs(rep.Previous.Totals)
		d.Previous = &k
		d.Compare = report.VersusOf(p, rep.Previous)
		if d.Compare.Basis != report.BasisNone {
			d.Movers = movers(rep)
		}
	} else if prev, ok := previousTotals(rep); ok {
		k := digestKPIs(prev)
		d.Previous = &k
	}
	d.Spikes = report.Spikes(rep.History, rep.Series)
	d.Anomalies = rep.Anomalies
	for _, s := range rep.BudgetSummaries {
		d.BudgetSummaries = append(d.BudgetSummaries, s.String())
	}
	d.UnpricedModels = rep.UnpricedModels
	if rep.CacheSavings.Valid {
		s := rep.CacheSavings.Decimal
		d.CacheSavings = &s
	}
	loc := rep.Period.Start.Location()
	for _, e := range alerts {
		d.Alerts = append(d.Alerts, Alert{
			Budget: e.Budget, Severity: string(e.Severity), Threshold: e.Threshold,
			Forecast: e.Kind == report.Forecast, BurnRate: e.Kind == report.BurnRate, Period: e.Period(loc).String(), Pending: e.Status == report.StatusPending,
			Stale: e.Status == report.StatusStale,
		})
	}
	return d
}

// digestKPIs are the digest's key numbers of a period's totals.
func digestKPIs(t report.Totals) KPIs {
	return KPIs{Cost: t.Cost, Requests: t.Requests, Failures: t.Failures, CacheHits: t.CacheHits, Unpriced: t.Unpriced}
}

// digestTops are the first TopN rows of a breakdown.
func digestTops(rows []report.Row) []Top {
	out := make([]Top, 0, min(TopN, len(rows)))
	for _, r := range rows[:min(TopN, len(rows))] {
		out = append(out, Top{Name: r.Label(), Cost: r.Cost, Requests: r.Requests, Unpriced: r.Requests > 0 && r.Unpriced == r.Requests})
	}
	return out
}

// previousTotals sums the previous period's days from the report's daily series: a day's or a
// week's predecessor is always in the 30 days shown; a month's is not, and then ok is false.
func previousTotals(rep *report.Report) (report.Totals, bool) {
	byDay := make(map[string]report.Totals, len(rep.Series))
	for _, d := range rep.Series {
		byDay[d.Date.Format(time.DateOnly)] = d.Totals
	}
	var sum report.Totals
	for _, day := range rep.Period.Previous().Days() {
		t, ok := byDay[day.Format(time.DateOnly)]
		if !ok {
			return report.Totals{}, false
		}
		sum.Add(t)
	}
	return sum, true
}

// movers are the breakdown values (services, models, users, orgs; not "other") whose cost moved
// most against the previous period, largest absolute change first, at most MaxMovers.
func movers(rep *report.Report) []Mover {
	var out []Mover
	for _, dim := range []struct {
		d    report.Dimension
		name string
	}{{report.ByService, "service"}, {report.ByModel, "model"}, {report.ByUser, "user"}, {report.ByOrg, "org"}} {
		for _, r := range rep.Breakdowns[dim.d] {
			if r.Other {
				continue
			}
			prev, ok := rep.Previous.ByKey[dim.d][r.Key]
			if ok && prev.Cost.Equal(r.Cost) || !ok && r.Cost.IsZero() {
				continue
			}
			out = append(out, Mover{Dimension: dim.name, Name: r.Label(), Cost: r.Cost, Previous: prev.Cost, New: !ok})
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		return out[i].Cost.Sub(out[i].Previous).Abs().GreaterThan(out[j].Cost.Sub(out[j].Previous).Abs())
	})
	return out[:min(len(out), MaxMovers)]
}
