package pgquery_test

import (
	"context"
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/shopspring/decimal"

	"github.com/aispend/aispend/collect"
	"github.com/aispend/aispend/collect/demodata"
	"github.com/aispend/aispend/collect/pgstore"
	"github.com/aispend/aispend/collect/testkit/eventtest"
	"github.com/aispend/aispend/collect/testkit/pgtest"
	"github.com/aispend/aispend/report"
	"github.com/aispend/aispend/report/pgquery"
)

// anomalyDemoEnd is where the demo data of the anomaly tests end: a Wednesday 09:00 in Seoul.
var anomalyDemoEnd = time.Date(2026, 11, 25, 9, 0, 0, 0, seoul)

// demoAnomalyConfig is the anomaly configuration the README documents for the demo's scale (a
// weekday costs about ₩40,000).
func demoAnomalyConfig() *report.AnomalyConfig {
	return &report.AnomalyConfig{
		Scopes:    []string{"service", "model", "provider", "org_id", "user_id", "tag:feature"},
		MinImpact: decimal.NewFromInt(2000),
	}
}

// loadAnomalyDemo loads the demo's 30 days (the default size) ending at anomalyDemoEnd, with a seed
// that puts the demo's own retry storm on the last day, after its end, and so (one day in 30) on
// the first day, which has no history to be judged against: the days judged hold no spike but
// what a test injects. Then it builds the aggregates, as a run does.
func loadAnomalyDemo(t *testing.T) (*pgxpool.Pool, *pgquery.Store) {
	t.Helper()
	ctx := context.Background()
	pool := pgtest.Pool(t)
	day := time.Date(anomalyDemoEnd.Year(), anomalyDemoEnd.Month(), anomalyDemoEnd.Day(), 0, 0, 0, 0, time.UTC).Unix() / 86400
	seed := uint64((demodata.Days - day%demodata.Days) % demodata.Days)
	g, err := demodata.New(demodata.Options{Seed: seed, End: anomalyDemoEnd, Location: seoul})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range g.Days()[1:] {
		if d.Spike && d.Complete {
			t.Fatalf("the demo's spike falls on %s, a complete day", d.Date)
		}
	}
	ins := pgstore.New(pool, pgstore.Options{})
	defer ins.Close()
	if _, err := demodata.Load(ctx, g, ins, 5000, nil); err != nil {
		t.Fatal(err)
	}
	store := pgquery.New(pool)
	if _, err := store.Refresh(ctx, g.Start(), anomalyDemoEnd, 0); err != nil {
		t.Fatal(err)
	}
	return pool, store
}

func anomalyJob(store *pgquery.Store, cfg *report.AnomalyConfig) *report.Job {
	return &report.Job{Store: store, Anomalies: store, Anomaly: cfg, Location: seoul, Currency: "KRW"}
}

// Over the demo's 30 days without a spike, judging every hour and every day as a run would
// (each hour's run judges the hour before it; each day's first run judges the day before),
// anomalies stay rare: at most one per scope key and week. Prints the count the README states.
func TestAnomalyFalsePositivesOnDemo(t *testing.T) {
	ctx := context.Background()
	_, store := loadAnomalyDemo(t)
	cfg := demoAnomalyConfig()
	type week struct {
		scope string
		y, w  int
	}
	perWeek := map[week][]string{}
	seen := map[string]bool{}
	start := anomalyDemoEnd.AddDate(0, 0, -demodata.Days).Truncate(time.Hour)
	judge := func(now time.Time, kind report.WindowKind) {
		c := *cfg
		c.Windows = []report.WindowKind{kind}
		found, err := anomalyJob(store, &c).DetectAnomalies(ctx, now)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range found {
			if seen[a.Key()] {
				continue
			}
			seen[a.Key()] = true
			y, w := a.Window.Start.ISOWeek()
			k := week{a.Scope, y, w}
			perWeek[k] = append(perWeek[k], a.Summary("KRW", seoul))
		}
	}
	judged := 0
	for now := start.Add(time.Hour); !now.After(anomalyDemoEnd); now = now.Add(time.Hour) {
		judge(now, report.WindowHour)
		if now.In(seoul).Hour() == 0 {
			judge(now, report.WindowDay)
		}
		judged++
	}
	keys := make([]week, 0, len(perWeek))
	for k := range perWeek {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return fmt.Sprint(keys[i]) < fmt.Sprint(keys[j]) })
	for _, k := range keys {
		for _, s := range perWeek[k] {
			t.Logf("%s %d-W%02d: %s", k.scope, k.y, k.w, s)
		}
	}
	t.Logf("false positives over the demo's 30 days (%d hourly runs): %d", judged, len(seen))
	for _, k := range keys {
		if n := len(perWeek[k]); n > 1 {
			t.Errorf("%s in %d-W%02d: %d anomalies, want at most 1", k.scope, k.y, k.w, n)
		}
	}
}

// insertSpike adds one user's runaway afternoon to the demo data: n requests of claude-opus-4-1
// in QA_CHAT at cost each, spread over [from, from + 1h).
func insertSpike(t *testing.T, pool *pgxpool.Pool, user, org string, from time.Time, n int, cost string) {
	t.Helper()
	rows := make([]collect.Row, n)
	for i := range rows {
		r := eventtest.Row(eventtest.ID(t), from.Add(time.Duration(i)*time.Hour/time.Duration(n)))
		r.Model, r.UserID, r.OrgID = "claude-opus-4-1", user, org
		r.Tags = []byte(`{"env":"prod","feature":"assistant","region":"ap-northeast-2"}`)
		eventtest.Price(&r, cost)
		rows[i] = r
	}
	eventtest.Insert(t, pool, rows...)
}

// busiestUser is the user who spent most over the demo's data, with their organisation.
func busiestUser(t *testing.T, pool *pgxpool.Pool) (string, string) {
	t.Helper()
	var user, org string
	if err := pool.QueryRow(context.Background(), `SELECT user_id, min(org_id) FROM events WHERE user_id IS NOT NULL
		GROUP BY user_id ORDER BY sum(cost) DESC LIMIT 1`).Scan(&user, &org); err != nil {
		t.Fatal(err)
	}
	return user, org
}

// A spike injected into one user's afternoon of the demo is found in that user's scope for the
// hour and explained with that user; in the service's scope the same user drives it.
func TestAnomalySpikeFoundAndExplained(t *testing.T) {
	ctx := context.Background()
	pool, store := loadAnomalyDemo(t)
	user, org := busiestUser(t, pool)
	// Tuesday 14:00–15:00, the day before the data end.
	at := time.Date(2026, 11, 24, 14, 0, 0, 0, seoul)
	insertSpike(t, pool, user, org, at, 60, "50")
	found, err := anomalyJob(store, demoAnomalyConfig()).DetectAnomalies(ctx, at.Add(time.Hour+5*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	var got *report.Anomaly
	for i, a := range found {
		t.Log(a.Summary("KRW", seoul))
		if a.Scope == "user_id" && a.Value == user && a.Window.Kind == report.WindowHour {
			got = &found[i]
		}
	}
	if got == nil {
		t.Fatalf("no hourly anomaly of user %s among %d", user, len(found))
	}
	if !got.Window.Start.Equal(at) || got.Baseline != report.BaselineWeekday {
		t.Errorf("window %s baseline %s, want %s weekday", got.Window.Start, got.Baseline, at)
	}
	if !got.Actual.Sub(got.Usual).GreaterThanOrEqual(decimal.NewFromInt(3000)) {
		t.Errorf("impact %s, want at least the ₩3,000 injected", got.Impact())
	}
	if len(got.Drivers) == 0 || got.Drivers[0].UserID != user || got.Drivers[0].Model != "claude-opus-4-1" || got.Drivers[0].Service != "QA_CHAT" {
		t.Fatalf("drivers %+v, want %s on claude-opus-4-1 in QA_CHAT first", got.Drivers, user)
	}
	if got.Drivers[0].Share.LessThan(decimal.NewFromInt(90)) {
		t.Errorf("share of the top driver %s %%, want ≥ 90 %% (the injected requests are all of the excess)", got.Drivers[0].Share)
	}
	for _, a := range found {
		if a.Scope == "service" && a.Value == "QA_CHAT" && a.Window.Kind == report.WindowHour && (len(a.Drivers) == 0 || a.Drivers[0].UserID != user) {
			t.Errorf("QA_CHAT's anomaly is not explained with user %s: %+v", user, a.Drivers)
		}
	}
}

// Ensures the hourly aggregate follows late events: an hour built while it was empty is rebuilt
// once a refresh consumed the change mark of events that arrived for it, so the spike they make
// is found.
func TestAnomalyHourRebuiltAfterLateEvents(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.Pool(t)
	store := pgquery.New(pool)
	at := time.Date(2026, 11, 24, 14, 0, 0, 0, seoul)
	var rows []collect.Row
	for i := 1; i <= 7; i++ {
		r := eventtest.Row(eventtest.ID(t), at.AddDate(0, 0, -i).Add(10*time.Minute))
		r.UserID = "u-1"
		eventtest.Price(&r, "10")
		rows = append(rows, r)
	}
	eventtest.Insert(t, pool, rows...)
	if _, err := store.Refresh(ctx, at.AddDate(0, 0, -8), at.AddDate(0, 0, 1), 0); err != nil {
		t.Fatal(err)
	}
	cfg := &report.AnomalyConfig{Scopes: []string{"user_id"}, MinImpact: decimal.NewFromInt(100), Windows: []report.WindowKind{report.WindowHour}}
	now := at.Add(time.Hour + 5*time.Minute)
	found, err := anomalyJob(store, cfg).DetectAnomalies(ctx, now)
	if err != nil || len(found) != 0 {
		t.Fatalf("before the late events: %v, %v", found, err)
	}
	late := eventtest.Row(eventtest.ID(t), at.Add(30*time.Minute))
	late.UserID = "u-1"
	eventtest.Price(&late, "5000")
	eventtest.Insert(t, pool, late)
	if _, err := store.Refresh(ctx, at.AddDate(0, 0, -8), at.AddDate(0, 0, 1), 0); err != nil {
		t.Fatal(err)
	}
	found, err = anomalyJob(store, cfg).DetectAnomalies(ctx, now)
	if err != nil {
		t.Fatal(err)
	}
	if len(found) != 1 || !found[0].Actual.Equal(decimal.NewFromInt(5000)) || !found[0].Usual.Equal(decimal.NewFromInt(10)) ||
		found[0].Baseline != report.BaselineRecent {
		t.Fatalf("after the late events: %+v", found)
	}
}

// Ensures a dry run finds the anomalies a real run would and writes nothing: no hour of the
// hourly aggregate, no anomaly, no delivery.
func TestAnomalyDryRunWritesNothing(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.Pool(t)
	store := pgquery.New(pool)
	at := time.Date(2026, 11, 24, 14, 0, 0, 0, seoul)
	var rows []collect.Row
	for i := 0; i <= 7; i++ {
		r := eventtest.Row(eventtest.ID(t), at.AddDate(0, 0, -i).Add(10*time.Minute))
		r.UserID = "u-1"
		eventtest.Price(&r, map[bool]string{true: "5000", false: "10"}[i == 0])
		rows = append(rows, r)
	}
	eventtest.Insert(t, pool, rows...)
	if _, err := store.Refresh(ctx, at.AddDate(0, 0, -8), at.AddDate(0, 0, 1), 0); err != nil {
		t.Fatal(err)
	}
	cfg := &report.AnomalyConfig{Scopes: []string{"user_id"}, MinImpact: decimal.NewFromInt(100)}
	j := anomalyJob(store, cfg)
	now := at.Add(time.Hour + 5*time.Minute)
	j.Now = func() time.Time { return now }
	res, err := j.Run(ctx, report.DefaultPeriod(report.Daily, now, seoul), report.RunOptions{Steps: report.StepAlerts, DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.AnomalyOutcome.Found != 1 || res.AnomalyOutcome.WouldSend != 1 {
		t.Fatalf("dry run: %+v", res.AnomalyOutcome)
	}
	var hours, anomalies int
	if err := pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM hourly_built), (SELECT count(*) FROM anomalies)`).Scan(&hours, &anomalies); err != nil {
		t.Fatal(err)
	}
	if hours != 0 || anomalies != 0 {
		t.Errorf("the dry run wrote %d built hours, %d anomalies", hours, anomalies)
	}
}
