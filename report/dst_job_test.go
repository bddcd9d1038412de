package report_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/shopspring/decimal"

	"github.com/aispend/aispend/collect/testkit/pgtest"
	"github.com/aispend/aispend/report"
	"github.com/aispend/aispend/report/pgquery"
)

// dstChildDB names, in the environment of a child test process, the database it runs in.
const dstChildDB = "AISPEND_TEST_DST_CHILD_DB"

// watchdog ends the process when a run spins: a day loop that never advances cannot be stopped
// by a context (it never looks at one) and appends a day per turn, gigabytes a second. Past the
// deadline, or once the heap passes 256 MiB, it prints why and every goroutine's stack (showing
// the loop) and exits. It only runs in a child process, which holds no database cluster.
func watchdog(d time.Duration) (stop func()) {
	done := make(chan struct{})
	go func() {
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		deadline := time.After(d)
		why := ""
		for why == "" {
			select {
			case <-done:
				return
			case <-tick.C:
				var ms runtime.MemStats
				runtime.ReadMemStats(&ms)
				if ms.HeapAlloc > 256<<20 {
					why = fmt.Sprintf("heap %d MiB and growing", ms.HeapAlloc>>20)
				}
			case <-deadline:
				why = fmt.Sprintf("not finished after %s", d)
			}
		}
		buf := make([]byte, 1<<20)
		n := runtime.Stack(buf, true)
		fmt.Fprintf(os.Stderr, "RUN DID NOT FINISH: %s: a day loop does not advance\n%s\n", why, buf[:n])
		os.Exit(3)
	}()
	return func() { close(done) }
}

// Ensures daily, weekly and monthly runs over a day without a midnight (8 March 2026 in Havana:
// the clocks go from 23:59:59 to 01:00) finish, with each event counted in the day it happened
// on the wall clock, and budget spend to match.
//
// The runs happen in a child process with a watchdog, so that a run that spins (as report/pgquery's
// own time.Date day loops do until they use report.StartOfDay) fails this test quickly, naming
// the loop, instead of hanging or exhausting memory.
func TestRunsOverDayWithoutMidnight(t *testing.T) {
	if url := os.Getenv(dstChildDB); url != "" {
		defer watchdog(60 * time.Second)()
		runsOverDayWithoutMidnight(t, url)
		return
	}
	url := pgtest.URL(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestRunsOverDayWithoutMidnight$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), dstChildDB+"="+url)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the runs over 8 March 2026 in Havana failed: %v\n%s", err, out)
	}
}

func runsOverDayWithoutMidnight(t *testing.T, url string) {
	havana := mustLoc("America/Havana")
	pool, err := pgxpool.New(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	f := &fixture{url: url, pool: pool, store: pgquery.New(pool)}
	at := func(d, hh, mm int) time.Time { return time.Date(2026, 3, d, hh, mm, 0, 0, havana) }
	day := report.StartOfDay(2026, 3, 8, havana) // 01:00 CDT
	if day.Format(time.RFC3339) != "2026-03-08T01:00:00-04:00" {
		t.Fatalf("8 March starts at %s", day)
	}
	insert(t, f.pool,
		ev{at: time.Date(2026, 2, 28, 23, 59, 0, 0, havana), cost: "32"}, // February
		ev{at: at(1, 0, 0), cost: "64"},                                  // March, the week before
		ev{at: at(2, 0, 0), cost: "512"},                                 // Monday: week 10 begins
		ev{at: at(7, 12, 0), cost: "1"},
		ev{at: at(7, 23, 30), cost: "2"},                               // the last half hour of 7 March (CST)
		ev{at: day, cost: "4"},                                         // the first instant of 8 March
		ev{at: at(8, 23, 59), cost: "8"},                               // the last minute of 8 March (CDT)
		ev{at: at(9, 0, 0), cost: "16"},                                // 9 March: week 11
		ev{at: at(31, 23, 59), cost: "128"},                            // the last minute of March
		ev{at: time.Date(2026, 4, 1, 0, 0, 0, 0, havana), cost: "256"}, // April
	)
	f.now = time.Date(2026, 4, 2, 9, 0, 0, 0, havana)
	amount := decimal.NewFromInt(1_000_000)
	job := &report.Job{
		Store: f.store, Location: havana, Currency: "USD",
		Budgets: []report.Budget{
			{Name: "day", Period: report.Daily, Amount: amount},
			{Name: "week", Period: report.Weekly, Amount: amount},
			{Name: "month", Period: report.Monthly, Amount: amount},
		},
		From: "aispend@example.com", Recipients: []string{"finance@example.com"}, MessageIDDomain: "example.com",
		Now: func() time.Time { return f.now },
	}
	for _, tc := range []struct {
		kind     report.PeriodKind
		label    string
		length   time.Duration
		cost     string
		requests int64
		budgets  map[string]string // budget name → spent in the budget period holding the run's last instant, up to the run's period end
	}{
		{report.Daily, "2026-03-08", 23 * time.Hour, "12", 2, map[string]string{"day": "12", "week": "527", "month": "591"}},
		{report.Weekly, "2026-W10", 7*24*time.Hour - time.Hour, "527", 5, map[string]string{"day": "12", "week": "527", "month": "591"}},
		{report.Monthly, "2026-03", 31*24*time.Hour - time.Hour, "735", 8, map[string]string{"day": "128", "week": "128", "month": "735"}},
	} {
		t.Run(string(tc.kind), func(t *testing.T) {
			p, err := report.ParsePeriod(tc.kind, "2026-03-08", havana)
			if err != nil {
				t.Fatal(err)
			}
			if p.Label() != tc.label || p.Length() != tc.length {
				t.Fatalf("--date 2026-03-08: %v, %s long; want %s, %s", p, p.Length(), tc.label, tc.length)
			}
			res, err := job.Run(context.Background(), p, report.RunOptions{})
			if err != nil {
				t.Fatalf("run %v: %v", p, err)
			}
			if got := res.Report.Totals; !got.Cost.Equal(decimal.RequireFromString(tc.cost)) || got.Requests != tc.requests {
				t.Errorf("%v: %s over %d requests; want %s over %d", p, got.Cost, got.Requests, tc.cost, tc.requests)
			}
			for _, st := range res.Report.Budgets {
				if want := tc.budgets[st.Budget.Name]; !st.Spent.Equal(decimal.RequireFromString(want)) {
					t.Errorf("%v: budget %s (%v) spent %s; want %s", p, st.Budget.Name, st.Period, st.Spent, want)
				}
			}
			// The daily series: one entry per date, 8 March among them with its own spend.
			seen := map[string]bool{}
			var mar8 *report.Day
			for i, d := range res.Report.Series {
				label := d.Date.In(havana).Format(time.DateOnly)
				if seen[label] {
					t.Errorf("%v: the series has %s twice", p, label)
				}
				seen[label] = true
				if label == "2026-03-08" {
					mar8 = &res.Report.Series[i]
				}
			}
			if mar8 == nil || !mar8.Cost.Equal(decimal.RequireFromString("12")) {
				t.Errorf("%v: 8 March in the series: %+v; want 12", p, mar8)
			}
		})
	}
}
