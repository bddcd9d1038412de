package collect

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/shopspring/decimal"

	"github.com/aispend/aispend/collect/pricing"
	"github.com/aispend/aispend/report"
)

// POST /v1/decide is answered from memory: the Decider keeps the spend of every enforced budget
// (and of each entity of an enforced envelope) for its current period, read from PostgreSQL in the
// background every Refresh (aggregates plus what is pending, as budget spend is computed by the
// batch job) and advanced by the events this collector commits in between. An allowed request's
// estimate is held against its budgets until its event arrives (matched by event_id) or
// EstimateTTL passes, so a burst of concurrent requests cannot all pass on the same remaining
// amount. No answer waits on the database.

// DecideSource reads the spend the Decider starts from (report/pgquery.Store.DecideSpend): a
// budget's spend per entity over [start, end) (per zero: its whole spend as entity ""), and the
// snapshot it was read in. Given since, a snapshot it returned before, only what the events
// committed between the two add; a source that returns no snapshot is read whole each time.
type DecideSource interface {
	DecideSpend(ctx context.Context, scope report.Scope, per report.Per, start, end time.Time, since string) ([]report.Driver, string, error)
}

// DecideConfig configures a Decider.
type DecideConfig struct {
	Budgets  []report.Budget // only those with Enforce are kept
	Location *time.Location
	Prices   *pricing.Table // prices estimates given as tokens; nil: such estimates are 0
	Source   DecideSource
	// Refresh is how often the spend is re-read; MaxStaleness the age of the last read past
	// which OnStale ("allow" or "deny") is the answer; EstimateTTL how long an estimate whose
	// event does not arrive is held.
	Refresh, MaxStaleness, EstimateTTL time.Duration
	OnStale                            string
	// MaxHeld is the most estimates held at once (0: no cap); past it the oldest stops counting
	// before its TTL.
	MaxHeld int
	Now     func() time.Time
	Log     *slog.Logger
}

// Decider answers POST /v1/decide. Safe for concurrent use.
type Decider struct {
	cfg      DecideConfig
	needTags bool // some enforced budget reads tags (scope or per)

	mu     sync.Mutex
	states []*budgetState // one per enforced budget, in cfg.Budgets' order
	asOf   time.Time      // when the last successful read began; zero: none yet
	holds  holds
	// warned is how many holds had been dropped for MaxHeld when that was last logged.
	warned uint64
}

// budgetState is one enforced budget's spend in its current period, per entity ("" for a budget
// without per), in acc: as read, as committed here since the read before the current one and
// since the current one began (a refresh drops the first once its read includes it), and the
// estimates of allowed requests held.
type budgetState struct {
	b      report.Budget
	period report.Period
	acc    accounts
	gen    uint32 // counts the periods rolled to: holds of an earlier one no longer count
	index  uint32 // in the Decider's states
	// snapshot is the one the spend as read (fBase) was read up to: the next read adds what was
	// committed since (DecideSource). "" when it was never read (or the source gives none): the
	// next read is whole. wholeAt is when the last whole read began.
	snapshot string
	wholeAt  time.Time
	// The envelope of every entity without an override, computed once: every decision of
	// such an entity answers with it.
	standard envelope
}

// envelope is an entity's limit in a budget, the limit as the answer states it, and the spend
// at which the limit reaches the budget's degrade_at and deny_at (report.Line); the three as
// amounts too when they fit (fits), for decisions that allocate nothing (judgeAmounts).
type envelope struct {
	limit         decimal.Decimal
	text          string
	degrade, deny decimal.Decimal
	a             struct{ limit, degrade, deny amount }
	fits          bool
}

func newEnvelope(limit decimal.Decimal, e *report.Enforce) envelope {
	env := envelope{limit: limit, text: limit.String(), degrade: report.Line(limit, e.DegradeAt), deny: report.Line(limit, e.DenyAt)}
	var ok [3]bool
	env.a.limit, ok[0] = amountOf(env.limit)
	env.a.degrade, ok[1] = amountOf(env.degrade)
	env.a.deny, ok[2] = amountOf(env.deny)
	env.fits = ok == [3]bool{true, true, true}
	return env
}

func newBudgetState(b report.Budget, p report.Period) *budgetState {
	return &budgetState{b: b, period: p, standard: newEnvelope(b.Amount, b.Enforce), acc: newAccounts()}
}

// envelope is entity's envelope: of its override (report.Budget.Limit) if it has one, else
// the standard one.
func (st *budgetState) envelope(entity string) envelope {
	if _, ok := st.b.Overrides[entity]; ok {
		return newEnvelope(st.b.Limit(entity), st.b.Enforce)
	}
	return st.standard
}

// match is an enforced budget a request falls under, and its entity there.
type match struct {
	st     *budgetState
	entity string
}

// NewDecider makes a Decider of the enforced budgets among cfg.Budgets; nil when there are none.
func NewDecider(cfg DecideConfig) *Decider {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Location == nil {
		cfg.Location = time.UTC
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	d := &Decider{cfg: cfg}
	now := cfg.Now()
	for _, b := range cfg.Budgets {
		if !b.Enforced() {
			continue
		}
		d.needTags = d.needTags || b.Scope.TagKey != "" || b.Per.Field == report.PerTag
		st := newBudgetState(b, report.PeriodContaining(b.Period, now, cfg.Location))
		st.index = uint32(len(d.states))
		d.states = append(d.states, st)
	}
	if len(d.states) == 0 {
		return nil
	}
	d.holds = newHolds(d.states, cfg.MaxHeld)
	return d
}

// Run refreshes the spend until ctx is done: the first read at once, each next one after a
// pause (refreshPause) that leaves the collector's cores to ingest and decide in between.
func (d *Decider) Run(ctx context.Context) {
	for {
		began := time.Now()
		if err := d.Refresh(ctx); err != nil && ctx.Err() == nil {
			d.cfg.Log.Warn("decide: refresh spend", "error", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(refreshPause(d.cfg.Refresh, d.cfg.MaxStaleness, time.Since(began), rand.Float64())):
		}
	}
}

// readShare is the most of its time a collector spends reading spend: a read of a month of
// 100,000 users takes a few hundred milliseconds of the collector's and the database's CPU, and
// reading again as soon as Refresh allows took a third of both cores away from ingest and
// decisions (make bench-decide).
const readShare = 5

// refreshPause is the pause after a read that took took: Refresh, or (readShare − 1) times the
// read when that is longer, so that reads take at most 1/readShare of the time; lengthened by a
// share of up to refreshSpread drawn at random (spread, in [0, 1), is that draw); but never so
// long that the spend would get older than half of maxStaleness and answers turn stale.
func refreshPause(refresh, maxStaleness, took time.Duration, spread float64) time.Duration {
	pause := max(refresh, (readShare-1)*took)
	pause += time.Duration(float64(pause) * refreshSpread * spread)
	return max(refresh, min(pause, maxStaleness/2-took))
}

// refreshSpread is how much longer than its due a pause between reads may be, at random:
// replicas started together read at the same moments otherwise, each read then taking a core of
// the database at once; in make bench-decide two collectors in step stopped every decision of
// theirs for the length of the reads (hundreds of milliseconds every two seconds).
const refreshSpread = 0.4

// Read reports whether a read of the spend has succeeded: before one, every answer is stale.
func (d *Decider) Read() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return !d.asOf.IsZero()
}

// Refresh reads every enforced budget's current spend from the source and replaces what the
// Decider held as read; what this collector committed since the read began is kept on top.
func (d *Decider) Refresh(ctx context.Context) error {
	began := d.cfg.Now()
	d.mu.Lock()
	d.holds.expire(began)
	if n := d.holds.dropped; n > d.warned {
		// Logged here, every few seconds at most, not on the path of each decision.
		d.cfg.Log.Warn("decide: decide.max_held estimates held: the oldest stopped counting before decide.estimate_ttl (send event_id with decisions and events, shorten estimate_ttl, or raise max_held)",
			"dropped", n-d.warned, "max_held", d.cfg.MaxHeld)
		d.warned = n
	}
	type read struct {
		st       *budgetState
		period   report.Period
		since    string // "": a whole read
		spend    []report.Driver
		snapshot string
	}
	reads := make([]read, len(d.states))
	for i, st := range d.states {
		d.roll(st, began)
		// Commits from here on may or may not be in the read: they stay in fLocal. Those before
		// are in it (in the last read's snapshot or committed since): fBefore is dropped once
		// the read succeeds.
		st.acc.foldLocal()
		reads[i] = read{st: st, period: st.period, since: st.snapshot}
		if began.Sub(st.wholeAt) >= wholeReadEvery {
			reads[i].since = ""
		}
	}
	d.mu.Unlock()
	var err error
	for i := range reads {
		r := &reads[i]
		if r.spend, r.snapshot, err = d.cfg.Source.DecideSpend(ctx, r.st.b.Scope, r.st.b.Per, r.period.Start, r.period.End, r.since); err != nil {
			err = fmt.Errorf("budget %s: %w", r.st.b.Name, err)
			break
		}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, r := range reads {
		st := r.st
		if err != nil || !st.period.Start.Equal(r.period.Start) || st.snapshot != r.since && r.since != "" {
			st.acc.keepBefore() // the read did not happen: keep every commit
			continue
		}
		if r.since == "" {
			st.acc.readWhole(r.spend)
			st.wholeAt = began
		} else {
			st.acc.readSince(r.spend)
		}
		st.snapshot = r.snapshot
	}
	if err != nil {
		return err
	}
	d.asOf = began
	return nil
}

// wholeReadEvery is how often the Decider reads a budget's spend whole, rather than adding what
// was committed since its last read: the reads that add see new events only, so a change to
// stored events (a re-pricing, a deletion) reaches decisions with the next whole read.
const wholeReadEvery = 5 * time.Minute

// roll moves a budget's state to the period containing now once its period ended: a new period
// starts from nothing (spend is per period), and holds of the old one no longer count.
func (d *Decider) roll(st *budgetState, now time.Time) {
	if now.Before(st.period.End) {
		return
	}
	st.period = report.PeriodContaining(st.b.Period, now, d.cfg.Location)
	st.acc = newAccounts()
	st.snapshot, st.wholeAt = "", time.Time{} // the new period is read whole
	st.gen++
}

// Committed advances the spend by rows this collector has just committed, and releases the
// estimates held for their event ids. A duplicate (a retry of an event already stored) counts
// again until the next refresh corrects it: the error is on the side of spend, never of room.
func (d *Decider) Committed(rows []Row) {
	d.mu.Lock()
	defer d.mu.Unlock()
	now := d.cfg.Now()
	for i := range rows {
		r := &rows[i]
		d.holds.releaseEvent(r.EventID)
		if !r.Cost.Valid || r.Cost.Decimal.IsZero() {
			continue
		}
		var tags map[string]string
		if d.needTags && len(r.Tags) > 0 {
			_ = json.Unmarshal(r.Tags, &tags) // validated at ingest: an object of strings
		}
		for _, st := range d.states {
			d.roll(st, now)
			if !st.period.Contains(r.OccurredAt) || !st.b.Scope.Matches(r.Service, r.Model, r.Provider, r.OrgID, r.UserID, tags) {
				continue
			}
			entity := st.b.Per.Entity(r.UserID, r.OrgID, r.Endpoint, tags)
			if !st.b.Per.IsZero() && entity == "" {
				continue
			}
			st.acc.add(st.acc.open(entity), fLocal, r.Cost.Decimal)
		}
	}
}

// Store wraps an EventStore so that what it commits advances the Decider.
func (d *Decider) Store(inner EventStore) EventStore { return decidingStore{inner, d} }

type decidingStore struct {
	EventStore
	d *Decider
}

func (s decidingStore) Insert(ctx context.Context, rows []Row) (int, int, error) {
	accepted, dups, err := s.EventStore.Insert(ctx, rows)
	if err == nil {
		s.d.Committed(rows)
	}
	return accepted, dups, err
}

// Decisions.
const (
	Allow   = "allow"
	Degrade = "degrade"
	Deny    = "deny"
)

// DecideRequest is POST /v1/decide's body: who and what, and optionally an estimate
// (EstimatedCost in the reporting currency, or InputTokens and MaxOutputTokens priced like an
// event).
type DecideRequest struct {
	EventID         string            `json:"event_id,omitempty"`
	UserID          string            `json:"user_id,omitempty"`
	OrgID           string            `json:"org_id,omitempty"`
	Service         string            `json:"service,omitempty"`
	Model           string            `json:"model,omitempty"`
	Provider        string            `json:"provider,omitempty"`
	Endpoint        string            `json:"endpoint,omitempty"`
	Tags            map[string]string `json:"tags,omitempty"`
	EstimatedCost   *decimal.Decimal  `json:"estimated_cost,omitempty"`
	InputTokens     *int64            `json:"input_tokens,omitempty"`
	MaxOutputTokens *int64            `json:"max_output_tokens,omitempty"`
}

// DecideAnswer is POST /v1/decide's answer.
type DecideAnswer struct {
	Decision string `json:"decision"`
	// Model is the model to use instead when degrading.
	Model string `json:"model,omitempty"`
	// Budgets are the enforced budgets the request falls under, each with its decision; on
	// degrade or deny the deciding ones first.
	Budgets []DecidingBudget `json:"budgets"`
	// Estimate is the cost held against the budgets until the event arrives.
	Estimate string `json:"estimate"`
	// AsOf is when the last read of spend from PostgreSQL began (null: none yet); Staleness how
	// long ago, the most that other collectors' events can be missing from the answer.
	AsOf         *time.Time `json:"as_of"`
	StalenessMS  int64      `json:"staleness_ms"`
	MaxStaleness int64      `json:"max_staleness_ms"`
	// Stale: the spend was older than max_staleness_ms, and on_stale decided.
	Stale bool `json:"stale"`
}

// DecidingBudget is one enforced budget's (and entity's) part in a decision.
type DecidingBudget struct {
	Name      string    `json:"name"`
	Entity    string    `json:"entity,omitempty"`
	Decision  string    `json:"decision"`
	Spent     string    `json:"spent"` // including estimates held
	Limit     string    `json:"limit"`
	Percent   string    `json:"percent"`
	Remaining string    `json:"remaining"`
	ResetsAt  time.Time `json:"resets_at"`
}

// rank orders decisions by strictness.
var rank = map[string]int{Allow: 0, Degrade: 1, Deny: 2}

// matching is the budgets whose scope req is in, each with req's entity of its envelope (none
// for a budget without per), their periods rolled to now. Called with d.mu held.
func (d *Decider) matching(req DecideRequest, now time.Time) []match {
	var matched []match
	for _, st := range d.states {
		d.roll(st, now)
		if !st.b.Scope.Matches(req.Service, req.Model, req.Provider, req.OrgID, req.UserID, req.Tags) {
			continue
		}
		entity := st.b.Per.Entity(req.UserID, req.OrgID, req.Endpoint, req.Tags)
		if !st.b.Per.IsZero() && entity == "" {
			continue // a request without the field is in no entity's envelope
		}
		matched = append(matched, match{st, entity})
	}
	return matched
}

// cmpBool orders false before true.
func cmpBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return 1
	}
	return -1
}

// Decide answers a request from memory.
func (d *Decider) Decide(req DecideRequest) DecideAnswer {
	d.mu.Lock()
	defer d.mu.Unlock()
	now := d.cfg.Now()
	d.holds.expire(now)
	ans := DecideAnswer{Decision: Allow, Budgets: []DecidingBudget{}, MaxStaleness: d.cfg.MaxStaleness.Milliseconds()}
	if !d.asOf.IsZero() {
		asOf := d.asOf
		ans.AsOf, ans.StalenessMS = &asOf, now.Sub(asOf).Milliseconds()
	}
	matched := d.matching(req, now)
	estimate := d.estimate(req, req.Model, now)
	judge := func(est decimal.Decimal) (string, string) {
		decision, model := Allow, ""
		ans.Budgets = ans.Budgets[:0]
		for _, m := range matched {
			part := m.st.judge(m.entity, est, req.Model)
			if part.Decision == Degrade && model == "" {
				model = m.st.b.Enforce.DegradeTo[req.Model]
			}
			if rank[part.Decision] > rank[decision] {
				decision = part.Decision
			}
			ans.Budgets = append(ans.Budgets, part)
		}
		return decision, model
	}
	decision, model := judge(estimate)
	if decision == Degrade {
		// The degraded request costs what the cheaper model charges; it is denied if even that
		// does not fit.
		if req.EstimatedCost == nil {
			estimate = d.estimate(req, model, now)
		}
		if again, _ := judge(estimate); again == Deny {
			decision, model = Deny, ""
		}
	}
	ans.Decision, ans.Model = decision, model
	if decision != Allow {
		// The deciding budgets first.
		slices.SortStableFunc(ans.Budgets, func(a, b DecidingBudget) int {
			return cmpBool(b.Decision == decision, a.Decision == decision)
		})
	}
	if d.asOf.IsZero() || now.Sub(d.asOf) > d.cfg.MaxStaleness {
		ans.Stale = true
		ans.Decision, ans.Model = Deny, ""
		if d.cfg.OnStale != Deny {
			ans.Decision = Allow
		}
	}
	ans.Estimate = decimalText(estimate)
	if ans.Decision != Deny && estimate.IsPositive() && len(matched) > 0 {
		d.holds.add(req.EventID, now.Add(d.cfg.EstimateTTL), estimate, matched)
	}
	return ans
}

// judge is the part in a decision of this budget for entity, asked with an estimate est for
// model: its step and its figures as every status states them. As amounts when everything fits
// one (judgeAmounts: a decision allocates then only the figures' text), else as decimals; both
// give the same answer to the byte (FuzzJudgeAmounts).
func (st *budgetState) judge(entity string, est decimal.Decimal, model string) DecidingBudget {
	env := st.envelope(entity)
	u, used, fast := st.acc.used(entity)
	if fast {
		if e, ok := amountOf(est); ok && env.fits {
			if part, ok := judgeAmounts(st.b.Enforce, env, u, e, model); ok {
				return st.name(part, entity)
			}
		}
		used = u.toDecimal()
	}
	return st.name(judgeDecimals(st.b.Enforce, env, used, est, model), entity)
}

// name completes part with the budget's name, entity and reset.
func (st *budgetState) name(part DecidingBudget, entity string) DecidingBudget {
	part.Name, part.Entity, part.ResetsAt = st.b.Name, entity, st.period.End
	return part
}

// step is a budget's decision for a request that reaches its deny line or its degrade line.
func step(e *report.Enforce, deny, degrade bool, model string) string {
	switch {
	case e.DenyAt > 0 && deny:
		return Deny
	case e.DegradeAt > 0 && degrade && e.DegradeTo[model] != "":
		return Degrade
	}
	return Allow
}

// judgeDecimals is judge's part of a budget: the step for a request of estimate est and model,
// when its entity uses used of its envelope env, and the share as every status states it.
func judgeDecimals(e *report.Enforce, env envelope, used, est decimal.Decimal, model string) DecidingBudget {
	percent, remaining := report.Share(used, env.limit)
	return DecidingBudget{
		Decision: step(e, reaches(used, est, env.deny), reaches(used, est, env.degrade), model),
		Spent:    used.String(), Limit: env.text, Percent: percent.String(), Remaining: remaining.String(),
	}
}

// judgeAmounts is judgeDecimals over amounts; ok false when a figure does not fit one.
func judgeAmounts(e *report.Enforce, env envelope, used, est amount, model string) (DecidingBudget, bool) {
	deny, ok1 := reachesAmount(used, est, env.a.deny)
	degrade, ok2 := reachesAmount(used, est, env.a.degrade)
	percent, remaining, ok3 := amountShare(used, env.a.limit)
	if !ok1 || !ok2 || !ok3 {
		return DecidingBudget{}, false
	}
	return DecidingBudget{
		Decision: step(e, deny, degrade, model),
		Spent:    used.text(), Limit: env.text, Percent: percent.text(), Remaining: remaining.text(),
	}, true
}

// reaches reports whether a request reaches a step whose line (report.Line) is line: the spend
// (with what is held) already has (report.Reached), or the request's estimate would take it
// past. A limit of 0 is reached at once.
func reaches(used, estimate, line decimal.Decimal) bool {
	if !estimate.IsPositive() {
		return report.Reached(used, line)
	}
	// With an estimate, reaching the line already implies going past it: one comparison.
	return used.Add(estimate).Cmp(line) > 0
}

// decimalText is d.String(), through an amount when it fits one (one allocation, not four).
func decimalText(d decimal.Decimal) string {
	if a, ok := amountOf(d); ok {
		return a.text()
	}
	return d.String()
}

// reachesAmount is reaches over amounts; ok false when the sum does not fit one.
func reachesAmount(used, estimate, line amount) (reached, ok bool) {
	if estimate.sign() <= 0 {
		return used.cmp(line) >= 0, true
	}
	sum, ok := used.add(estimate)
	return ok && sum.cmp(line) > 0, ok
}

// estimate is the request's estimated cost: estimated_cost, else its tokens priced on model like
// an event; 0 without either, or without a price.
func (d *Decider) estimate(req DecideRequest, model string, now time.Time) decimal.Decimal {
	if req.EstimatedCost != nil {
		return *req.EstimatedCost
	}
	if d.cfg.Prices == nil || (req.InputTokens == nil && req.MaxOutputTokens == nil) {
		return decimal.Zero
	}
	var u pricing.Usage
	if req.InputTokens != nil {
		u.InputTokens = *req.InputTokens
	}
	if req.MaxOutputTokens != nil {
		u.OutputTokens = *req.MaxOutputTokens
	}
	p, ok := d.cfg.Prices.Cost(model, req.Provider, now, u)
	if !ok {
		return decimal.Zero
	}
	return p.Cost
}
