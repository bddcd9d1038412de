package digest

import (
	"github.com/aispend/aispend/report"
)

// FromReport fills a digest with what a batch run's report holds: the period and its time zone,
// the currency, the KPIs, every budget's status and the top services, models and users. The
// caller adds what the report does not: Previous, Alerts, GeneratedAt, RunKind and the links.
func FromReport(rep *report.Report) Digest {
	p := rep.Period
	d := Digest{
		Period:   Period{Kind: string(p.Kind), Label: p.Label(), Start: p.Start, End: p.End},
		Currency: rep.Currency,
		TimeZone: p.Start.Location().String(),
		KPIs:     kpisOf(rep.Totals),
	}
	for _, st := range rep.Budgets {
		d.Budgets = append(d.Budgets, Budget{
			Name:     st.Budget.Name,
			Period:   st.Period.String(),
			Spent:    st.Spent,
			Limit:    st.Limit,
			Percent:  st.Percent,
			State:    State(st.State),
			ResetsAt: st.Period.End,
			AsOf:     st.AsOf,
		})
	}
	tops := func(dim report.Dimension) []Top {
		rows := rep.Breakdowns[dim]
		out := make([]Top, 0, min(TopN, len(rows)))
		for _, r := range rows[:min(TopN, len(rows))] {
			out = append(out, Top{Name: r.Label(), Cost: r.Cost, Requests: r.Requests, Unpriced: r.Requests > 0 && r.Unpriced == r.Requests})
		}
		return out
	}
	d.TopServices, d.TopModels, d.TopUsers = tops(report.ByService), tops(report.ByModel), tops(report.ByUser)
	return d
}

// KPIsOf are the digest KPIs of a report's totals, e.g. the previous period's for Previous.
func KPIsOf(t report.Totals) KPIs { return kpisOf(t) }

func kpisOf(t report.Totals) KPIs {
	return KPIs{Cost: t.Cost, Requests: t.Requests, Failures: t.Failures, CacheHits: t.CacheHits, Unpriced: t.Unpriced}
}
