package pgquery_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/shopspring/decimal"

	"github.com/aispend/aispend/collect/testkit/pgtest"
	"github.com/aispend/aispend/report"
	"github.com/aispend/aispend/report/pgquery"
)

// rawEntitySpend is the spend of every value of per within sc straight from the events,
// costliest first; events without the field are no entity's.
func rawEntitySpend(t *testing.T, pool *pgxpool.Pool, sc report.Scope, per report.Per, start, end time.Time) []report.Driver {
	t.Helper()
	key := "coalesce(" + per.Field + ", '')"
	if per.Field == report.PerTag {
		key = "coalesce(tags ->> '" + per.TagKey + "', '')"
	}
	rows, err := pool.Query(context.Background(), fmt.Sprintf(`SELECT %s, coalesce(sum(cost), 0)::text, count(*), count(*) FILTER (WHERE cost IS NULL)
		FROM events WHERE occurred_at >= $1 AND occurred_at < $2
		AND ($3 = '' OR service = $3) AND ($4 = '' OR model = $4) AND ($5 = '' OR org_id = $5) AND ($6 = '' OR user_id = $6)
		AND ($7 = '' OR tags ->> $7 = $8)
		GROUP BY 1 HAVING %[1]s <> ''`, key),
		start, end, sc.Service, sc.Model, sc.OrgID, sc.UserID, sc.TagKey, sc.TagValue)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []report.Driver
	for rows.Next() {
		var d report.Driver
		var c string
		if err := rows.Scan(&d.Key, &c, &d.Requests, &d.Unpriced); err != nil {
			t.Fatal(err)
		}
		d.Cost = decimal.RequireFromString(c)
		out = append(out, d)
	}
	slices.SortFunc(out, report.CompareDrivers)
	return out
}

// Ensures every entity's spend of an envelope (per user, organisation, endpoint, tag) equals a
// raw sum over the events to the last unit, whatever is aggregated: current days, days with late
// events pending since their aggregation, the tail never aggregated, partial days; and that
// events without the field count toward no entity.
func TestEntitySpendEqualsRawSum(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.Pool(t)
	st := pgquery.New(pool)
	first := time.Date(2026, 10, 1, 0, 0, 0, 0, seoul)
	r := rand.New(rand.NewPCG(11, 12))
	evs := randomEvents(r, first, 20, 900)
	for i := range evs {
		if i%7 == 0 {
			evs[i].user = "" // no user: no user's envelope
		}
	}
	insert(t, pool, evs...)
	// About a tenth of the events without an endpoint and a fifth without tags, chosen by a hash
	// of the key: Citus refuses volatile functions such as random() in an UPDATE of events.
	// (and no function that is not IMMUTABLE in a CASE).
	pgtest.ChangeEvents(t, pool, `UPDATE events SET endpoint = CASE WHEN hashtext('endpoint' || event_id) % 10 = 0 THEN NULL ELSE '/ep/' || (abs(hashtext(event_id)) % 5)::text END,
		tags = CASE WHEN hashtext('tags' || event_id) % 5 = 0 THEN NULL ELSE ('{"team": "t' || (abs(hashtext(event_id)) % 4)::text || '"}')::jsonb END`)
	// Aggregate the first 15 days, then let late events arrive (pending) for two of them.
	if _, err := st.Report(ctx, report.ReportRequest{Period: report.PeriodContaining(report.Daily, first.AddDate(0, 0, 14), seoul)}); err != nil {
		t.Fatal(err)
	}
	insert(t, pool, ev{at: first.AddDate(0, 0, 3).Add(time.Hour), service: "SVC_1", model: "model-1", user: "user-1", org: "org-1", cost: "3.3000001"},
		ev{at: first.AddDate(0, 0, 8).Add(time.Hour), service: "SVC_2", user: "user-new", cost: ""})
	month := report.PeriodContaining(report.Monthly, first, seoul)
	pers := []report.Per{{Field: report.PerUserID}, {Field: report.PerOrgID}, {Field: report.PerEndpoint}, {Field: report.PerTag, TagKey: "team"}}
	scopes := []report.Scope{{}, {Service: "SVC_1"}, {Service: "SVC_2", Model: "model-1"}, {TagKey: "team", TagValue: "t1"}}
	for _, end := range []time.Time{month.End, first.AddDate(0, 0, 17).Add(90 * time.Minute)} {
		for _, start := range []time.Time{month.Start, first.AddDate(0, 0, 2).Add(30 * time.Minute)} {
			for _, per := range pers {
				for _, sc := range scopes {
					got, err := st.EntitySpend(ctx, sc, per, start, end)
					if err != nil {
						t.Fatal(err)
					}
					slices.SortFunc(got, report.CompareDrivers) // EntitySpend has no order
					want := rawEntitySpend(t, pool, sc, per, start, end)
					if len(want) == 0 {
						t.Fatalf("per %s scope %+v: no entity in the data", per, sc)
					}
					if fmt.Sprint(got) != fmt.Sprint(want) {
						t.Errorf("per %s scope %+v [%s, %s):\n got %v\nraw %v", per, sc, start, end, got, want)
					}
				}
			}
		}
	}
}
