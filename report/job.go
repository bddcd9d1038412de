package report

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/aispend/aispend/report/format"
)

// Outputs make what a run leaves behind from its report (report/artifact): the pages, the
// workbooks, publishing them and the digest email. They run after the alerts, and only when the
// statistics step produced a report. Write returns the outcome of each of its steps, in order,
// which the run records as its own steps. With res.DryRun they render but publish and send
// nothing. Write adds the keys it published to res.Published.
type Outputs interface {
	Write(ctx context.Context, res *Result) []StepResult
}

// Job is one batch run's dependencies. Run it with Run; the scheduler, the demo and
// `aispend run` all do.
type Job struct {
	Store Store
	// ComposeAlert composes alert emails (report/email.AlertEmail) and Sender delivers them
	// (report/mail); with either nil, alerts are claimed but fail to send (they stay pending).
	ComposeAlert AlertComposer
	// ComposeEntityAlert composes the one email per period of an envelope budget's entity
	// alerts (report/email.EntityAlertEmail; envelope_alert.go).
	ComposeEntityAlert EntityAlertComposer
	Sender             Sender
	Budgets            []Budget
	Location           *time.Location
	Currency           string
	From               string   // the alert sender address
	Recipients         []string // default recipients of budgets that name none
	// Links, when set, gives the links of alert emails to a period's published page and
	// workbook (public, presigned, or file:// for a local directory without a public URL);
	// nil: alert emails link nothing.
	Links         func(ctx context.Context, p Period) (Links, error)
	RetentionDays int // 0: no retention step
	TopN          int // breakdown rows before "other"; default 10
	// CacheSaving prices prompt-cache savings for the report (the price table); nil: none stated.
	CacheSaving *CacheSaving
	// Installation is the installation's id (pgstore.InstallationID), in every Message-ID so
	// that no other installation sends the same one.
	Installation    string
	MessageIDDomain string
	// AlertGrace is how long after its budget period ended an alert is still sent (0:
	// DefaultAlertGrace); a later one is recorded as stale and listed, never sent.
	AlertGrace time.Duration
	Outputs    Outputs // nil: none
	// Channels are the configured alert channels by name, Deliveries their delivery ledger
	// (channels.go); either empty: alerts go by email only.
	Channels   map[string]Notifier
	Deliveries DeliveryStore
	// Anomaly configures anomaly alerts (anomaly.go), Anomalies is their hourly aggregate and
	// ledger and ComposeAnomaly composes their email; Anomaly nil: no anomaly detection.
	Anomaly        *AnomalyConfig
	Anomalies      AnomalyStore
	ComposeAnomaly AnomalyComposer
	Now            func() time.Time
	Logger         *slog.Logger
}

// Steps selects the steps of a run; the zero value runs them all.
type Steps uint8

// The steps of a run. Budget statuses are computed whenever statistics or alerts run.
const (
	StepStatistics Steps = 1 << iota // rebuild aggregates, statistics, budget statuses, outputs
	StepAlerts
	StepRetention
)

func (s Steps) has(x Steps) bool { return s == 0 || s&x != 0 }

// RunOptions change what a run does.
type RunOptions struct {
	// Steps limits the run to some steps, e.g. StepAlerts for a frequent budget check or
	// StepRetention alone; zero runs every step.
	Steps Steps
	// DryRun computes and renders everything but sends, publishes and writes nothing: the
	// aggregate rebuild is rolled back, no alert is claimed, no partition dropped.
	DryRun bool
}

// AlertOutcome counts what the alert step did.
type AlertOutcome struct {
	Breaches  int // thresholds crossed in the periods evaluated
	Claimed   int // new ledger keys claimed by this run
	Sent      int
	Failed    int // sends that failed; they stay pending
	Skipped   int // pending alerts held by another run, or of budgets no longer configured
	WouldSend int // dry run: emails a real run would send (one per budget period and kind)
	Covered   int // thresholds recorded as alerted without an email of their own: a higher one's email named them
	Stale     int // alerts recorded as stale (their period ended longer ago than AlertGrace): never sent
}

// Result is what a run did, step by step.
type Result struct {
	Period Period
	DryRun bool
	Report *Report // nil when the statistics step failed
	Alerts AlertOutcome
	// SentAlerts are the alerts this run sent (its own and pending ones of earlier runs), in the
	// order sent; in a dry run, every threshold a real run would record as sent (the emails'
	// and those they name). The digest lists them with the ledger's alerts of the period.
	SentAlerts []LedgerEntry
	// Channels is what the deliveries to alert channels did.
	Channels ChannelOutcome
	// AnomalyOutcome is what the anomaly step did, Anomalies the anomalies it found (every
	// output lists the recorded ones of its period, Job.Anomalies.Anomalies).
	AnomalyOutcome AnomalyOutcome
	Anomalies      []Anomaly
	// Published are the keys the outputs published (site-relative, e.g. "daily/2025-10-01/index.html").
	Published []string
	Dropped   []string // event partitions dropped (or, dry run, that would be)
	Steps     []StepResult
	Duration  time.Duration
}

// StepResult is the outcome of one step of a run.
type StepResult struct {
	Name string
	Err  error
}

// Err joins the errors of every failed step, on one line ("publish: …; digest: …") so that the
// command's error stays one line on stderr and in logs; errors.Is and errors.As see each of them.
func (r *Result) Err() error {
	var errs []error
	for _, s := range r.Steps {
		if s.Err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", s.Name, s.Err))
		}
	}
	if len(errs) == 0 {
		return nil
	}
	return stepErrors(errs)
}

// stepErrors is errors.Join written on one line: a step's own joined errors (several alerts
// failing) are separated by "; " too.
type stepErrors []error

func (e stepErrors) Error() string {
	parts := make([]string, len(e))
	for i, err := range e {
		parts[i] = strings.Join(strings.Split(strings.TrimSpace(err.Error()), "\n"), "; ")
	}
	return strings.Join(parts, "; ")
}

func (e stepErrors) Unwrap() []error { return e }

// Summary is the one-line outcome of a run, e.g.
// "daily 2025-10-01: ₩1,234 over 567 requests (99.1 % ok), alerts 2 sent 0 failed, 1 partition dropped, 1.2s, ok".
func (r *Result) Summary(currency string) string {
	var b strings.Builder
	b.WriteString(r.Period.String())
	b.WriteString(": ")
	if r.Report != nil {
		t := r.Report.Totals
		if t.Requests == 0 {
			b.WriteString("no requests") // not "$0.00 over 0 requests (0.0 % ok)"
		} else {
			fmt.Fprintf(&b, "%s over %s (%s ok", format.Format(t.Cost, currency), format.Counted(t.Requests, "request"), format.Percent(t.SuccessRate()))
			if t.Unpriced > 0 {
				fmt.Fprintf(&b, ", %s unpriced", format.Count(t.Unpriced))
			}
			b.WriteString(")")
		}
	} else {
		b.WriteString("no statistics")
	}
	if r.DryRun {
		fmt.Fprintf(&b, ", alerts %d would be sent", r.Alerts.WouldSend)
	} else {
		fmt.Fprintf(&b, ", alerts %d sent %d failed", r.Alerts.Sent, r.Alerts.Failed)
	}
	if r.Alerts.Stale > 0 {
		fmt.Fprintf(&b, " %d too late to send", r.Alerts.Stale)
	}
	if c := r.Channels; c.Sent+c.Failed+c.WouldSend > 0 {
		if r.DryRun {
			fmt.Fprintf(&b, ", channel messages %d would be sent", c.WouldSend)
		} else {
			fmt.Fprintf(&b, ", channel messages %d sent %d failed", c.Sent, c.Failed)
		}
	}
	if a := r.AnomalyOutcome; a.Found+a.Sent+a.Failed > 0 {
		if r.DryRun {
			fmt.Fprintf(&b, ", anomalies %d found", a.Found)
		} else {
			fmt.Fprintf(&b, ", anomalies %d found, messages %d sent %d failed", a.Found, a.Sent, a.Failed)
		}
	}
	verb := "dropped"
	if r.DryRun {
		verb = "to drop"
	}
	if len(r.Published) > 0 {
		fmt.Fprintf(&b, ", %s published", format.Counted(int64(len(r.Published)), "file"))
	}
	fmt.Fprintf(&b, ", %s %s, %s", format.Counted(int64(len(r.Dropped)), "partition"), verb, r.Duration.Round(time.Millisecond))
	var failed []string
	for _, s := range r.Steps {
		if s.Err != nil {
			failed = append(failed, s.Name)
		}
	}
	if len(failed) > 0 {
		b.WriteString(", FAILED: " + strings.Join(failed, ", "))
	} else {
		b.WriteString(", ok")
	}
	if r.DryRun {
		b.WriteString(" (dry run: nothing sent or published)")
	}
	return b.String()
}

func (j *Job) now() time.Time {
	if j.Now != nil {
		return j.Now()
	}
	return time.Now()
}

func (j *Job) log() *slog.Logger {
	if j.Logger != nil {
		return j.Logger
	}
	return slog.New(slog.DiscardHandler)
}

func (j *Job) loc() *time.Location {
	if j.Location != nil {
		return j.Location
	}
	return time.UTC
}

// DefaultPeriod is the period of the kind that ended last before now: yesterday for daily.
func DefaultPeriod(kind PeriodKind, now time.Time, loc *time.Location) Period {
	return PeriodContaining(kind, now, loc).Previous()
}

// Run runs the batch for period p: rebuild aggregates and compute statistics → budget statuses →
// alerts → outputs (pages, workbooks, publish, digest) → retention. Alerts come before the
// outputs so that the page's alert history and the digest include the alerts this run sent. A
// failed step does not undo the ones before it, and the independent steps after it still run;
// Result.Err joins every failure.
func (j *Job) Run(ctx context.Context, p Period, opts RunOptions) (*Result, error) {
	began := time.Now()
	now := j.now()
	log := j.log().With("period", p.String(), "dry_run", opts.DryRun)
	res := &Result{Period: p, DryRun: opts.DryRun}
	// The report's event snapshot stays open while the outputs read it, and no longer: retention
	// cannot detach a partition that an open snapshot reads.
	closeEvents := func() {
		if res.Report != nil && res.Report.Events != nil {
			res.Report.Events.Close()
		}
	}
	defer closeEvents()
	// Step errors are returned (joined, each named), not logged here: the caller logs them once.
	step := func(name string, fn func() error) error {
		err := fn()
		res.Steps = append(res.Steps, StepResult{Name: name, Err: err})
		return err
	}

	if opts.Steps.has(StepStatistics) {
		_ = step("statistics", func() (err error) {
			res.Report, err = j.statistics(ctx, p, now, opts.DryRun, log)
			return err
		})
	}
	if opts.Steps.has(StepAlerts) && !opts.Steps.has(StepStatistics) && !opts.DryRun {
		j.refreshForCheck(ctx, p, now, opts.Steps, log)
	}
	statuses := newStatusCache(j, now)
	if opts.Steps.has(StepStatistics) || opts.Steps.has(StepAlerts) {
		// Every (budget, period) the run evaluates, read at once; a failure here is reported by
		// the steps, which read each again.
		bs, ps := j.evaluated(p, now, opts.Steps)
		statuses.prefetch(ctx, bs, ps)
	}
	if opts.Steps.has(StepStatistics) {
		_ = step("budgets", func() error {
			sts, sums, asOf, err := j.reportBudgets(ctx, p, now, statuses)
			if res.Report != nil {
				res.Report.Budgets, res.Report.BudgetSummaries, res.Report.BudgetsAsOf = sts, sums, asOf
				var envErr error
				res.Report.Envelopes, envErr = j.envelopes(ctx, p, asOf)
				err = errors.Join(err, envErr)
			}
			return err
		})
	}
	if opts.Steps.has(StepAlerts) {
		_ = step("alerts", func() error {
			out, sent, err := j.alerts(ctx, p, now, statuses, opts.DryRun)
			res.Alerts, res.SentAlerts = out, sent
			return err
		})
		if len(j.Channels) > 0 {
			_ = step("channels", func() (err error) {
				res.Channels, err = j.deliverChannels(ctx, p, now, statuses, opts.DryRun)
				return err
			})
		}
		if j.Anomaly != nil && j.Anomalies != nil {
			_ = step("anomalies", func() (err error) {
				res.AnomalyOutcome, res.Anomalies, err = j.alertAnomalies(ctx, now, opts.DryRun)
				return err
			})
		}
	}
	if res.Report != nil && j.Anomaly != nil && j.Anomalies != nil {
		_ = step("anomaly history", func() (err error) {
			res.Report.Anomalies, err = j.Anomalies.Anomalies(ctx, p.Start, p.End, j.loc())
			return err
		})
	}
	if res.Report != nil && j.Outputs != nil {
		res.Steps = append(res.Steps, j.Outputs.Write(ctx, res)...)
	}
	closeEvents()
	if j.RetentionDays > 0 && opts.Steps.has(StepRetention) {
		_ = step("retention", func() error {
			cutoff := now.Add(-time.Duration(j.RetentionDays) * 24 * time.Hour)
			dropped, err := j.Store.DropPartitionsBefore(ctx, cutoff, j.loc(), opts.DryRun)
			res.Dropped = dropped
			if len(dropped) > 0 {
				log.Info("retention", "partitions", dropped, "cutoff", cutoff)
			}
			return err
		})
	}
	res.Duration = time.Since(began)
	return res, res.Err()
}

// statistics is the report of p, its days and those of the budgets' periods brought up to date.
func (j *Job) statistics(ctx context.Context, p Period, now time.Time, dryRun bool, log *slog.Logger) (*Report, error) {
	// The outputs list the events of the report's own snapshot.
	req := ReportRequest{Period: p, TopN: j.TopN, DryRun: dryRun, AsOf: now, CacheSaving: j.CacheSaving,
		Events: j.Outputs != nil}
	// Bring the days of the budgets' periods up to date too, today included: their spend is then
	// read from aggregates, and only what arrives after from the events. Once a day is built, a
	// refresh only adds the events that arrived since.
	_, ps := j.evaluated(p, now, StepStatistics|StepAlerts)
	req.RefreshFrom, req.RefreshTo = refreshRange(ps, now, j.loc())
	rep, err := j.Store.Report(ctx, req)
	if err != nil {
		return nil, err
	}
	rep.Currency = j.Currency
	log.Info("statistics", "requests", rep.Totals.Requests, "cost", rep.Totals.Cost.String(), "refreshed_days", len(rep.RefreshedDays))
	return rep, nil
}

// refreshForCheck keeps the aggregates of the budgets' periods current for a budget check (a run
// without a report), so that it reads at most CheckRefreshLag of new events from the events
// table; a failure leaves the spend to be read from the events, exact either way.
func (j *Job) refreshForCheck(ctx context.Context, p Period, now time.Time, steps Steps, log *slog.Logger) {
	_, ps := j.evaluated(p, now, steps)
	if from, to := refreshRange(ps, now, j.loc()); from.Before(to) {
		if _, err := j.Store.Refresh(ctx, from, to, CheckRefreshLag); err != nil {
			log.Warn("aggregates not refreshed before the budget check; spend read from the events", "error", err)
		}
	}
}

// reportBudgets are the budgets as the report of p states them: as they stood at the end of p
// (or now, while p is in progress; asOf), so that a monthly budget on the 28th's daily report is
// the spend of 1–28, not of the whole month. A budget of a shorter period than the report's is
// summed up over the report's period instead of shown for the one period holding its end.
func (j *Job) reportBudgets(ctx context.Context, p Period, now time.Time, statuses *statusCache) (sts []Status, sums []BudgetSummary, asOf time.Time, err error) {
	asOf = ReportAsOf(p, now)
	ps := PeriodsContaining(j.Budgets, p.End.Add(-time.Nanosecond), j.loc())
	var errs []error
	var all []Status
	if asOf.Before(now) {
		if all, err = BudgetStatusesAsOf(ctx, j.Store, j.Budgets, ps, asOf); err != nil {
			errs = append(errs, err)
		}
	} else {
		for i, b := range j.Budgets {
			st, err := statuses.get(ctx, b, ps[i])
			if err != nil {
				errs = append(errs, err)
				continue
			}
			all = append(all, st)
		}
	}
	for _, st := range all {
		if !Shorter(st.Budget.Period, p.Kind) {
			sts = append(sts, st)
			continue
		}
		sum, err := j.summarize(ctx, st.Budget, p, asOf, now)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		sums = append(sums, sum)
	}
	return sts, sums, asOf, errors.Join(errs...)
}

// summarize counts the periods of budget b within the report's period p that were exceeded, as
// of asOf. While p is in progress (asOf is now) they are evaluated as a budget check evaluates
// them, over whole periods: the one in progress is then read from its aggregates and what is
// pending, where its spend up to now was read from the events of the day so far (1.3 s of each
// monthly run at 100 million events a month, for each daily budget); the two differ only by
// events stamped later than now, which the budget check counts too.
func (j *Job) summarize(ctx context.Context, b Budget, p Period, asOf, now time.Time) (BudgetSummary, error) {
	subs, begun := SubPeriods(b.Period, p, asOf)
	bs := make([]Budget, begun)
	for i := range bs {
		bs[i] = b
	}
	var subSts []Status
	var err error
	if asOf.Before(now) {
		subSts, err = BudgetStatusesAsOf(ctx, j.Store, bs, subs[:begun], asOf)
	} else {
		subSts, err = BudgetStatuses(ctx, j.Store, bs, subs[:begun], now)
	}
	if err != nil {
		return BudgetSummary{}, err
	}
	sum := BudgetSummary{Budget: b, Periods: begun, Total: len(subs)}
	for _, s := range subSts {
		if s.State == StateExceeded {
			sum.Exceeded++
		}
	}
	return sum, nil
}

// statusCache computes each (budget, period) status once per run.
type statusCache struct {
	j   *Job
	now time.Time
	m   map[string]Status
}

func newStatusCache(j *Job, now time.Time) *statusCache {
	return &statusCache{j: j, now: now, m: map[string]Status{}}
}

func statusKey(b Budget, p Period) string {
	return b.Name + "|" + p.Start.UTC().Format(time.RFC3339Nano)
}

// prefetch computes the statuses of budget bs[i] over ps[i] in one read (BudgetStatuses).
func (c *statusCache) prefetch(ctx context.Context, bs []Budget, ps []Period) {
	var nb []Budget
	var np []Period
	seen := map[string]bool{}
	for i, b := range bs {
		if k := statusKey(b, ps[i]); !seen[k] {
			if _, ok := c.m[k]; !ok {
				seen[k] = true
				nb, np = append(nb, b), append(np, ps[i])
			}
		}
	}
	if len(nb) == 0 {
		return
	}
	sts, err := BudgetStatuses(ctx, c.j.Store, nb, np, c.now)
	if err != nil {
		return
	}
	for i, st := range sts {
		c.m[statusKey(nb[i], np[i])] = st
	}
}

func (c *statusCache) get(ctx context.Context, b Budget, p Period) (Status, error) {
	k := statusKey(b, p)
	if st, ok := c.m[k]; ok {
		return st, nil
	}
	st, err := BudgetStatusFor(ctx, c.j.Store, b, p, c.now)
	if err != nil {
		return Status{}, err
	}
	c.m[k] = st
	return st, nil
}

// evaluated lists every (budget, period) a run for p with these steps evaluates: each budget's
// period holding p's last instant (the budgets step) and the periods its alerts check
// (budgetPeriods).
func (j *Job) evaluated(p Period, now time.Time, steps Steps) (bs []Budget, ps []Period) {
	ends := PeriodsContaining(j.Budgets, p.End.Add(-time.Nanosecond), j.loc())
	for i, b := range j.Budgets {
		if steps.has(StepStatistics) {
			bs, ps = append(bs, b), append(ps, ends[i])
		}
		if steps.has(StepAlerts) {
			for _, bp := range j.budgetPeriods(b, p, now) {
				bs, ps = append(bs, b), append(ps, bp)
			}
		}
	}
	return bs, ps
}

// CheckRefreshLag is how long the events that arrived since the last refresh may wait before a
// budget check refreshes the aggregates: until then a check reads them from the events (a few
// milliseconds for an hour of events), which costs less than adding them to the aggregates at
// every check (merging every touched user's latency histogram: about 0.3 s for 5 minutes of the
// 10-million-event demo); so the refresh is paid about once an hour, by one check.
const CheckRefreshLag = time.Hour

// refreshRange is the smallest range holding the days of ps up to today's end (in loc); zero
// when there are none.
func refreshRange(ps []Period, now time.Time, loc *time.Location) (from, to time.Time) {
	y, m, d := now.In(loc).Date()
	tomorrow := StartOfDay(y, m, d+1, loc)
	for _, p := range ps {
		end := p.End
		if end.After(tomorrow) {
			end = tomorrow
		}
		if !p.Start.Before(end) {
			continue
		}
		if from.IsZero() || p.Start.Before(from) {
			from = p.Start
		}
		if end.After(to) {
			to = end
		}
	}
	return from, to
}

// budgetPeriods are the periods of b that a run for p evaluates: the one holding p's last
// instant (so yesterday's daily budget is checked after midnight) and the one in progress now
// (so a run alerts while the money is still being spent). Periods that have not begun are
// skipped.
func (j *Job) budgetPeriods(b Budget, p Period, now time.Time) []Period {
	a := PeriodContaining(b.Period, p.End.Add(-time.Nanosecond), j.loc())
	c := PeriodContaining(b.Period, now, j.loc())
	var out []Period
	if !a.Start.After(now) {
		out = append(out, a)
	}
	if !c.Start.Equal(a.Start) {
		out = append(out, c)
	}
	return out
}

func (j *Job) recipients(b Budget) []string {
	if len(b.Recipients) > 0 {
		return b.Recipients
	}
	return j.Recipients
}

// Links are the links an email gives to a period's published files.
type Links struct {
	Page, Workbook string // absolute URLs; empty: no link
	// Local: the links are file:// URLs of a local output directory, because no public URL
	// is configured; they work only on the machine that made them, and the email says so.
	Local bool
}

// links is the links of period p for an alert email.
func (j *Job) links(ctx context.Context, p Period) (Links, error) {
	if j.Links == nil {
		return Links{}, nil
	}
	return j.Links(ctx, p)
}

// alerts claims every new breach, then delivers every pending alert (this run's and those left by
// earlier runs) in the ledger order: claim → compose → send under the row lock → mark sent. A
// dry run claims nothing: it adds the breaches a real run would claim to the pending ones and
// goes through the same loop, composing every email, but sends none (deliverGroup). It returns
// the entries sent (dry run: every threshold a real run would record as sent).
func (j *Job) alerts(ctx context.Context, p Period, now time.Time, statuses *statusCache, dryRun bool) (AlertOutcome, []LedgerEntry, error) {
	var out AlertOutcome
	var errs []error
	unsent := j.claimBreaches(ctx, p, now, statuses, dryRun, &out, &errs)
	pending, err := j.Store.PendingAlerts(ctx)
	if err != nil {
		return out, nil, errors.Join(append(errs, err)...)
	}
	if dryRun {
		pending = withUnsent(pending, unsent)
	}
	sent := j.sendPending(ctx, p, now, pending, statuses, dryRun, &out, &errs)
	j.entityAlerts(ctx, p, now, dryRun, &out, &errs)
	return out, sent, errors.Join(errs...)
}

// withUnsent is pending followed by the breaches of unsent not among them: the ledger's order in
// which a real run sends them, the claims of earlier runs first.
func withUnsent(pending, unsent []LedgerEntry) []LedgerEntry {
	seen := map[string]bool{}
	for _, e := range pending {
		seen[e.Key()] = true
	}
	for _, e := range unsent {
		if !seen[e.Key()] {
			pending = append(pending, e)
		}
	}
	return pending
}

// claimBreaches claims in the ledger every breach of the budget periods a run for p evaluates;
// those of a period that ended longer ago than the grace are recorded as stale, never to be sent
// (a backfill does not email about last month). A dry run claims nothing: it returns the
// breaches not sent yet, which a real run would claim and send.
func (j *Job) claimBreaches(ctx context.Context, p Period, now time.Time, statuses *statusCache, dryRun bool, out *AlertOutcome, errs *[]error) (unsent []LedgerEntry) {
	for _, b := range j.Budgets {
		for _, bp := range j.budgetPeriods(b, p, now) {
			st, err := statuses.get(ctx, b, bp)
			if err != nil {
				*errs = append(*errs, err)
				continue
			}
			stale := Stale(bp.End, now, j.AlertGrace)
			var sent map[string]bool
			if dryRun && len(st.Breaches) > 0 {
				if sent, err = j.sentKeys(ctx, bp); err != nil {
					*errs = append(*errs, err)
					continue
				}
			}
			for _, br := range st.Breaches {
				out.Breaches++
				entry := NewLedgerEntry(st, br, j.Installation, j.MessageIDDomain)
				if stale {
					entry.Status = StatusStale
				}
				if dryRun {
					if stale {
						continue
					}
					if !sent[br.Key()] {
						unsent = append(unsent, entry)
					}
					continue
				}
				claimed, err := j.Store.ClaimAlert(ctx, entry)
				if err != nil {
					*errs = append(*errs, err)
					continue
				}
				if claimed {
					out.Claimed++
					if stale {
						out.Stale++
						j.log().Info("alert too late to send", "budget", br.Budget, "period", bp.String(), "threshold", br.Threshold, "kind", br.Kind)
					}
				}
			}
		}
	}
	return unsent
}

// budgetsByName indexes the configured budgets by name.
func (j *Job) budgetsByName() map[string]Budget {
	byName := map[string]Budget{}
	for _, b := range j.Budgets {
		byName[b.Name] = b
	}
	return byName
}

// sendPending sends one email per group of pending alerts (groupPending), for its highest
// threshold naming the others, and records the others as covered (a dry run counts what it
// would record); a group whose period ended longer ago than the grace is recorded as stale
// instead. It returns the entries sent.
func (j *Job) sendPending(ctx context.Context, p Period, now time.Time, pending []LedgerEntry, statuses *statusCache, dryRun bool, out *AlertOutcome, errs *[]error) (sent []LedgerEntry) {
	byName := j.budgetsByName()
	for _, g := range groupPending(pending) {
		top := g[0]
		b, ok := byName[top.Budget]
		if !ok {
			out.Skipped += len(g)
			j.log().Warn("pending alert of a budget no longer configured", "budget", top.Budget, "key", top.Key())
			continue
		}
		bp := top.Period(j.loc())
		if Stale(bp.End, now, j.AlertGrace) {
			// Left pending (failed sends) until its period ended longer ago than the grace:
			// recorded as stale, not retried any more.
			out.Stale += j.markStale(ctx, g, dryRun, errs)
			continue
		}
		// Thresholds the budget routes to channels only are recorded as alerted without an
		// email (deliverChannels delivers them); the email goes for the others.
		if g = j.emailed(ctx, b, g, dryRun, out, errs); len(g) == 0 {
			continue
		}
		top = g[0]
		// A run that stopped between sending a higher threshold's email and recording the
		// thresholds it covered leaves them pending: that email already named them.
		higher, err := j.sentAbove(ctx, b, top, bp)
		if err != nil {
			*errs = append(*errs, err)
			continue
		}
		if higher {
			out.Covered += j.markCovered(ctx, g, dryRun, errs)
			continue
		}
		st, err := statuses.get(ctx, b, bp)
		if err != nil {
			*errs = append(*errs, err)
			continue
		}
		sent = append(sent, j.deliverGroup(ctx, b, st, g, p, dryRun, out, errs)...)
	}
	return sent
}

// deliverGroup composes the email of a group of pending alerts of one budget period (highest
// threshold first), sends it and records the lower thresholds as covered. It returns the entries
// recorded as sent by it: the top one; in a dry run, which sends nothing, every entry of the group,
// as a real run would record them.
func (j *Job) deliverGroup(ctx context.Context, b Budget, st Status, g []LedgerEntry, p Period, dryRun bool, out *AlertOutcome, errs *[]error) []LedgerEntry {
	top := g[0]
	var also []int
	for _, e := range g[1:] {
		also = append(also, e.Threshold)
	}
	msg, buildErr := j.alertEmail(ctx, b, st, top, p, also)
	if buildErr != nil && !sendFailure(buildErr) {
		*errs = append(*errs, buildErr)
		return nil
	}
	if dryRun {
		out.WouldSend++
		j.log().Info("would alert", "budget", top.Budget, "period", top.Period(j.loc()).String(), "threshold", top.Threshold,
			"also", also, "kind", top.Kind, "severity", top.Severity)
		return asSent(g)
	}
	sent, err := j.Store.SendAlert(ctx, top.Breach, func(ctx context.Context, _ LedgerEntry) error {
		if buildErr != nil {
			return buildErr
		}
		return j.mailAlert(ctx, msg)
	})
	switch {
	case err != nil:
		out.Failed++
		*errs = append(*errs, fmt.Errorf("send alert %s: %w", top.Key(), err))
		return nil
	case sent:
		out.Sent++
		j.log().Info("alert sent", "budget", top.Budget, "threshold", top.Threshold, "also", also, "kind", top.Kind, "severity", top.Severity, "message_id", top.MessageID)
		// The lower thresholds were named by this email: record them as alerted so that
		// none is sent later.
		out.Covered += j.markCovered(ctx, g[1:], false, errs)
		return asSent(g[:1])
	default:
		out.Skipped++ // another run is sending it, or already has
		return nil
	}
}

// asSent is a copy of entries with the status sent.
func asSent(entries []LedgerEntry) []LedgerEntry {
	out := make([]LedgerEntry, len(entries))
	for i, e := range entries {
		e.Status = StatusSent
		out[i] = e
	}
	return out
}

// mailAlert hands an alert email to the Sender: errNoTransport without one, so that the ledger
// keeps the alert pending for a run that has one.
func (j *Job) mailAlert(ctx context.Context, msg *Email) error {
	if j.Sender == nil {
		return errNoTransport
	}
	return j.Sender.Send(ctx, msg)
}

var (
	// errNoTransport is the failure of every alert send of a Job without a Sender.
	errNoTransport = errors.New("no mail transport configured")
	// errNoComposer is the failure of every alert of a Job without ComposeAlert.
	errNoComposer = errors.New("no alert composer configured")
)

// sendFailure reports whether an alert email that could not be made fails as its send does
// (recorded in the ledger as an attempt, the alert left pending) rather than as an error of the
// run: nowhere to send it, or nothing to make it with.
func sendFailure(err error) bool {
	return errors.Is(err, ErrNoRecipients) || errors.Is(err, errNoComposer)
}

// groupPending groups pending entries by budget, period and kind (actual or forecast), each
// group highest threshold first, groups in the order of their first entry: one email goes per
// group, for its highest threshold, naming the others.
func groupPending(pending []LedgerEntry) [][]LedgerEntry {
	return groupHighestFirst(pending, func(e LedgerEntry) (string, int) {
		return e.Budget + "|" + e.PeriodStart.UTC().Format(time.RFC3339Nano) + "|" + string(e.Kind), e.Threshold
	})
}

// groupHighestFirst groups items by the key of of, in the order of each key's first item, and
// sorts each group by threshold, highest first (stable): the first of a group is the one message
// sent, the others are named in it.
func groupHighestFirst[T any](items []T, of func(T) (key string, threshold int)) [][]T {
	var groups [][]T
	at := map[string]int{}
	for _, it := range items {
		k, _ := of(it)
		i, ok := at[k]
		if !ok {
			i = len(groups)
			at[k] = i
			groups = append(groups, nil)
		}
		groups[i] = append(groups[i], it)
	}
	for _, g := range groups {
		slices.SortStableFunc(g, func(a, b T) int {
			_, ta := of(a)
			_, tb := of(b)
			return cmp.Compare(tb, ta)
		})
	}
	return groups
}

// sentAbove reports whether an alert of e's budget b, period and kind with a higher threshold
// than e's was sent already by email (one routed to channels only named no lower threshold).
func (j *Job) sentAbove(ctx context.Context, b Budget, e LedgerEntry, bp Period) (bool, error) {
	entries, err := j.Store.Alerts(ctx, bp.Start, bp.End)
	if err != nil {
		return false, err
	}
	for _, x := range entries {
		if x.Status == StatusSent && x.Budget == e.Budget && x.PeriodStart.Equal(e.PeriodStart) && x.Kind == e.Kind && x.Threshold > e.Threshold &&
			b.Routes.Email(x.Threshold, x.Kind) {
			return true, nil
		}
	}
	return false, nil
}

// markCovered records entries as sent without an email (a higher threshold's email named
// them), and returns how many it recorded; a dry run records nothing and counts them all.
func (j *Job) markCovered(ctx context.Context, entries []LedgerEntry, dryRun bool, errs *[]error) int {
	if dryRun {
		return len(entries)
	}
	n := 0
	for _, e := range entries {
		ok, err := j.Store.SendAlert(ctx, e.Breach, func(context.Context, LedgerEntry) error { return nil })
		if err != nil {
			*errs = append(*errs, fmt.Errorf("record covered alert %s: %w", e.Key(), err))
			continue
		}
		if ok {
			n++
		}
	}
	return n
}

// markStale records pending entries as stale (never sent) and returns how many it recorded; a dry
// run records nothing and counts them all.
func (j *Job) markStale(ctx context.Context, entries []LedgerEntry, dryRun bool, errs *[]error) int {
	if dryRun {
		return len(entries)
	}
	n := 0
	for _, e := range entries {
		ok, err := j.Store.StaleAlert(ctx, e.Breach)
		if err != nil {
			*errs = append(*errs, err)
			continue
		}
		if ok {
			n++
			j.log().Info("pending alert too late to send", "budget", e.Budget, "key", e.Key(), "attempts", e.Attempts)
		}
	}
	return n
}

// sentKeys lists the alert keys of period bp already sent.
func (j *Job) sentKeys(ctx context.Context, bp Period) (map[string]bool, error) {
	entries, err := j.Store.Alerts(ctx, bp.Start, bp.End)
	if err != nil {
		return nil, err
	}
	m := map[string]bool{}
	for _, e := range entries {
		if e.Status == StatusSent {
			m[Breach{Budget: e.Budget, PeriodStart: e.PeriodStart.In(bp.Start.Location()), Threshold: e.Threshold, Kind: e.Kind}.Key()] = true
		}
	}
	return m, nil
}

// alertEmail composes the email of ledger entry e with the budget's current status.
// also are the lower thresholds of the same period this email covers.
func (j *Job) alertEmail(ctx context.Context, b Budget, st Status, e LedgerEntry, runPeriod Period, also []int) (*Email, error) {
	drivers, err := j.Store.BudgetDrivers(ctx, b.Scope, st.Period.Start, st.Period.End, AlertDimensions, 5)
	if err != nil {
		return nil, err
	}
	links, err := j.links(ctx, runPeriod)
	if err != nil {
		return nil, fmt.Errorf("link report %s: %w", runPeriod, err)
	}
	if j.ComposeAlert == nil {
		return nil, errNoComposer
	}
	return j.ComposeAlert(AlertInput{
		Status: st, Breach: e.Breach, MessageID: e.MessageID, Drivers: drivers, Currency: j.Currency,
		From: j.From, To: j.recipients(b), ReportURL: links.Page, WorkbookURL: links.Workbook, LocalLinks: links.Local,
		Also: also, AsOf: j.now(), Location: j.loc(),
	})
}
