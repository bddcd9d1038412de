package pgquery_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/aispend/aispend/collect/testkit/pgtest"
	"github.com/aispend/aispend/report"
	"github.com/aispend/aispend/report/pgquery"
)

// Ensures a report's chargeback breakdowns (by endpoint and by each configured tag key) hold the
// top N by cost, an "(other)" row and the untagged events, sum exactly to the total, and list in
// All exactly a GROUP BY over the events; and that configuring another key rebuilds only the
// breakdowns of the days already built.
func TestChargebackBreakdowns(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.Pool(t)
	day := time.Date(2026, 10, 7, 0, 0, 0, 0, seoul)
	var evs []ev
	for i := range 40 {
		e := ev{at: day.Add(time.Duration(i) * 30 * time.Minute), cost: fmt.Sprintf("0.%07d", 1+i*13), ms: 5}
		if i%5 != 0 {
			e.endpoint = fmt.Sprintf("/chat/%d", i%4)
		}
		switch {
		case i%6 == 0: // untagged
		case i%6 == 1:
			e.tags = map[string]string{"team": ""} // an empty value is untagged too
		default:
			e.tags = map[string]string{"team": fmt.Sprintf("team-%d", i%5), "project": fmt.Sprintf("p-%d", i%3)}
		}
		evs = append(evs, e)
	}
	evs = append(evs, ev{at: day.Add(time.Hour), cost: "", endpoint: "/chat/0", tags: map[string]string{"team": "team-1"}})
	insert(t, pool, evs...)
	st := pgquery.New(pool)
	st.TagKeys = []string{"team"}
	p := report.PeriodContaining(report.Daily, day, seoul)
	rep, err := st.Report(ctx, report.ReportRequest{Period: p, TopN: 2})
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(rep.Chargeback) != "[endpoint tag:team]" {
		t.Fatalf("chargeback dimensions %v", rep.Chargeback)
	}
	for _, d := range rep.Chargeback {
		rows := rep.Breakdowns[d]
		if len(rows) != 3 || !rows[2].Other || rows[2].Members == 0 {
			t.Fatalf("%s: %d rows %+v; want the top 2 and (other)", d, len(rows), rows)
		}
		for _, sum := range [][]report.Row{rows, rep.All[d]} {
			if got := sumRows(sum); !got.Cost.Equal(rep.Totals.Cost) || got.Requests != rep.Totals.Requests ||
				got.Unpriced != rep.Totals.Unpriced || got.InputTokens != rep.Totals.InputTokens {
				t.Fatalf("%s sums to %s in %d requests; total %s in %d", d, got.Cost, got.Requests, rep.Totals.Cost, rep.Totals.Requests)
			}
		}
	}
	field := map[report.Dimension]string{report.ByEndpoint: "coalesce(endpoint, '')", report.ByTag("team"): "coalesce(tags ->> 'team', '')"}
	for d, f := range field {
		got := map[string]string{}
		for _, r := range rep.All[d] {
			got[r.Key] = fmt.Sprintf("%s/%d/%d", r.Cost, r.Requests, r.Unpriced)
		}
		rows, err := pool.Query(ctx, fmt.Sprintf(`SELECT %s, coalesce(sum(cost), 0)::text, count(*), count(*) FILTER (WHERE cost IS NULL)
			FROM events WHERE occurred_at >= $1 AND occurred_at < $2 GROUP BY 1`, f), p.Start, p.End)
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]string{}
		for rows.Next() {
			var k, c string
			var n, u int64
			if err := rows.Scan(&k, &c, &n, &u); err != nil {
				t.Fatal(err)
			}
			want[k] = fmt.Sprintf("%s/%d/%d", decimal.RequireFromString(c), n, u)
		}
		if rows.Err() != nil {
			t.Fatal(rows.Err())
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("%s: every row %v; the events give %v", d, got, want)
		}
	}
	if _, ok := rowOf(rep.All[report.ByTag("team")], ""); !ok {
		t.Fatal("no untagged row")
	}
	if r, _ := rowOf(rep.All[report.ByTag("team")], ""); r.LabelIn(report.ByTag("team")) != "(untagged)" {
		t.Fatalf("untagged row labelled %q", r.LabelIn(report.ByTag("team")))
	}

	// A key configured later: the day's aggregates stay, its breakdowns are rebuilt with both keys.
	st2 := pgquery.New(pool)
	st2.TagKeys = []string{"team", "project"}
	rep, err = st2.Report(ctx, report.ReportRequest{Period: p, TopN: 2})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.RefreshedDays) != 0 {
		t.Fatalf("a new tag key rebuilt the aggregates of %v", dates(rep.RefreshedDays))
	}
	if sum := sumRows(rep.All[report.ByTag("project")]); !sum.Cost.Equal(rep.Totals.Cost) || len(rep.All[report.ByTag("project")]) != 4 {
		t.Fatalf("breakdown by project after configuring it: %+v", rep.All[report.ByTag("project")])
	}
	checkBreakdowns(t, pool, seoul, p.Start, p.End, st2.TagKeys)
}

// rowOf is the row of key in rows.
func rowOf(rows []report.Row, key string) (report.Row, bool) {
	for _, r := range rows {
		if r.Key == key && !r.Other {
			return r, true
		}
	}
	return report.Row{}, false
}
