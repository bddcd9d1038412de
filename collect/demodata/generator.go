// Package demodata generates the sample data set of `aispend demo`: 30 days of AI requests of a
// made-up product, priced with the real price table code, and loads it into the event store.
//
// The data set is a pure function of the seed and the calendar: every event is drawn from its
// own random stream, keyed by (seed, date, index), so its id, time and content never depend on
// when the demo runs, how many events were asked for or which other days are in the window.
// Re-running the demo therefore only ever adds the events that were not there yet (later hours
// of today, new days), and the store's idempotent insert skips the rest.
package demodata

import (
	"encoding/json"
	"fmt"
	"iter"
	"math"
	"math/rand/v2"
	"time"

	"github.com/shopspring/decimal"

	"github.com/aispend/aispend/collect"
	"github.com/aispend/aispend/collect/pricing"
)

const (
	// DefaultEvents is the default size: about this many events over the 30 complete days. At
	// this size a weekday costs roughly ₩40,000 at the demo's prices, so that a ₩50,000 daily
	// budget crosses its thresholds on some days and not on others.
	DefaultEvents = 120_000
	// Days is the number of complete days before today in the data set; today's events up to the
	// end time are added.
	Days = 30
	// Users is the number of distinct users, spread over the organisations.
	Users = 4000

	// spikeExtra is the size of the spike day's additional traffic, in average weekdays' volume
	// (a retry loop in one organisation's chat integration).
	spikeExtra = 1.0
	// failureRate is the share of failed requests outside the spike.
	failureRate = 0.02
	// spikeFailureRate is the share of failed requests of the retry loop.
	spikeFailureRate = 0.2
)

// Options configure a generator. The zero value is the default data set ending now.
type Options struct {
	Seed uint64
	// Events is the approximate number of events over the complete days; 0 means DefaultEvents.
	Events int
	// End is when the data set ends (default now); no event is later.
	End time.Time
	// Location gives the days, weekends and working hours (default Asia/Seoul).
	Location *time.Location
	// Prices prices the events (default: Table(Currency, USD 1300, Location)).
	Prices *pricing.Table
}

// Day is one calendar day of the data set.
type Day struct {
	Date     time.Time // midnight in the location
	Events   int       // events of the day (today: those not after the end)
	Spike    bool      // the day of the retry storm
	Complete bool      // false for today, which is cut at the end time
	epoch    int64     // days since 1970-01-01
	normal   int       // planned ordinary events (for the whole day)
	spike    int       // planned retry-storm events
}

type user struct {
	id, org string
}

// Generator produces the events. It is not safe for concurrent use.
type Generator struct {
	seed   uint64
	loc    *time.Location
	end    time.Time
	prices *pricing.Table
	days   []Day
	users  []user
	// spikeUsers are the users of the organisation whose integration loops on the spike day.
	spikeUsers []int
	spikeOrg   string

	src      *rand.PCG
	r        *rand.Rand
	userZipf *rand.Zipf
	tags     map[string][]byte
	svcCum   []float64
	profCum  [][]float64
	hourCum  [2][24]float64 // weekday, weekend
}

// random-stream salts: each kind of draw has its own stream.
const (
	saltUser uint64 = iota + 1
	saltDayNoise
	saltEvent
	saltSpike
)

// New plans the data set: days, volumes and the user population.
func New(opt Options) (*Generator, error) {
	if opt.Events < 0 {
		return nil, fmt.Errorf("number of events %d: must be ≥ 0", opt.Events)
	}
	if opt.Events == 0 {
		opt.Events = DefaultEvents
	}
	if opt.Location == nil {
		loc, err := time.LoadLocation(Timezone)
		if err != nil {
			return nil, fmt.Errorf("load time zone %s: %w", Timezone, err)
		}
		opt.Location = loc
	}
	if opt.End.IsZero() {
		opt.End = time.Now()
	}
	if opt.Prices == nil {
		t, err := Table(Currency, map[string]decimal.Decimal{"USD": FXUSD}, opt.Location)
		if err != nil {
			return nil, err
		}
		opt.Prices = t
	}
	g := &Generator{
		seed:   opt.Seed,
		loc:    opt.Location,
		end:    opt.End.In(opt.Location).Truncate(time.Microsecond),
		prices: opt.Prices,
		src:    rand.NewPCG(0, 0),
		tags:   map[string][]byte{},
	}
	g.r = rand.New(g.src)
	g.userZipf = rand.NewZipf(g.r, 1.15, 12, Users-1)

	var total float64
	for _, s := range services {
		total += s.weight
		g.svcCum = append(g.svcCum, total)
		var pt float64
		var cum []float64
		for _, p := range s.profiles {
			pt += p.weight
			cum = append(cum, pt)
		}
		g.profCum = append(g.profCum, cum)
		g.tags[s.name], _ = json.Marshal(map[string]string{"env": "prod", "feature": s.feature, "region": "ap-northeast-2"})
	}
	for k, hours := range [2][24]float64{weekdayHours, weekendHours} {
		var t float64
		for h, w := range hours {
			t += w
			g.hourCum[k][h] = t
		}
	}
	g.makeUsers()
	g.planDays(opt.Events)
	return g, nil
}

func (g *Generator) makeUsers() {
	orgZipf := rand.NewZipf(g.r, 1.3, 2, uint64(len(orgNames)-1))
	seen := map[string]bool{}
	g.users = make([]user, Users)
	for i := range g.users {
		g.reseed(saltUser, 0, uint64(i))
		var id string
		for id == "" || seen[id] {
			id = fmt.Sprintf("u_%010x", g.r.Uint64()>>24)
		}
		seen[id] = true
		g.users[i] = user{id: id, org: orgNames[orgZipf.Uint64()]}
	}
	// The looping integration belongs to a mid-sized customer, not to the heaviest one, so that
	// the spike shows up as a change in the ranking.
	g.spikeOrg = g.users[9].org
	for i, u := range g.users {
		if u.org == g.spikeOrg {
			g.spikeUsers = append(g.spikeUsers, i)
		}
	}
}

func (g *Generator) planDays(events int) {
	var mean float64
	for _, w := range weekdayWeight {
		mean += w
	}
	mean /= 7
	// Volumes depend on the date only (not on the window), so that every run plans a day alike.
	base := float64(events) / (Days*mean + spikeExtra)
	endDay := time.Date(g.end.Year(), g.end.Month(), g.end.Day(), 0, 0, 0, 0, g.loc)
	for i := -Days; i <= 0; i++ {
		date := endDay.AddDate(0, 0, i)
		d := Day{Date: date, Complete: i < 0, epoch: epochDay(date)}
		g.reseed(saltDayNoise, d.epoch, 0)
		noise := 0.82 + 0.36*g.r.Float64()
		d.normal = int(math.Round(base * weekdayWeight[date.Weekday()] * noise))
		// Exactly one of any 30 consecutive days is the spike day.
		if mod(d.epoch+int64(g.seed%Days), Days) == 0 {
			d.Spike = true
			d.spike = int(math.Round(base * spikeExtra))
		}
		d.Events = d.normal + d.spike
		if !d.Complete {
			d.Events = g.countBeforeEnd(&d)
		}
		g.days = append(g.days, d)
	}
}

// countBeforeEnd counts today's events that are not after the end time.
func (g *Generator) countBeforeEnd(d *Day) int {
	n := 0
	for i := 0; i < d.normal; i++ {
		if !g.eventTime(d, false, i).After(g.end) {
			n++
		}
	}
	for i := 0; i < d.spike; i++ {
		if !g.eventTime(d, true, i).After(g.end) {
			n++
		}
	}
	return n
}

// Days lists the days of the data set, oldest first; the last one is today, cut at the end.
func (g *Generator) Days() []Day { return append([]Day(nil), g.days...) }

// Total is the number of events Rows yields.
func (g *Generator) Total() int {
	n := 0
	for _, d := range g.days {
		n += d.Events
	}
	return n
}

// Start is the beginning of the data set: midnight of its first day.
func (g *Generator) Start() time.Time { return g.days[0].Date }

// End is the end of the data set.
func (g *Generator) End() time.Time { return g.end }

// SpikeOrg is the organisation behind the spike day's retry storm.
func (g *Generator) SpikeOrg() string { return g.spikeOrg }

// Rows yields every event, day by day. The rows are priced with the generator's table.
func (g *Generator) Rows() iter.Seq[collect.Row] {
	return func(yield func(collect.Row) bool) {
		for di := range g.days {
			d := &g.days[di]
			for i := 0; i < d.normal; i++ {
				if r, ok := g.event(d, false, i); ok && !yield(r) {
					return
				}
			}
			for i := 0; i < d.spike; i++ {
				if r, ok := g.event(d, true, i); ok && !yield(r) {
					return
				}
			}
		}
	}
}

// reseed points the random stream at one (salt, day, index) key.
func (g *Generator) reseed(salt uint64, day int64, i uint64) {
	g.src.Seed(splitmix(g.seed^splitmix(salt)), splitmix(splitmix(uint64(day))^i))
}

// eventTime seeds the event's stream and draws its time: the first draws of every event.
func (g *Generator) eventTime(d *Day, spike bool, i int) time.Time {
	salt := saltEvent
	if spike {
		salt = saltSpike
	}
	g.reseed(salt, d.epoch, uint64(i))
	var hour int
	switch {
	case spike:
		hour = 10 + g.r.IntN(6) // the loop ran from 10:00 until someone noticed at 16:00
	case d.Date.Weekday() == time.Saturday || d.Date.Weekday() == time.Sunday:
		hour = pick(g.hourCum[1][:], g.r.Float64())
	default:
		hour = pick(g.hourCum[0][:], g.r.Float64())
	}
	us := g.r.Int64N(int64(time.Hour / time.Microsecond))
	return time.Date(d.Date.Year(), d.Date.Month(), d.Date.Day(), hour, 0, 0, 0, g.loc).Add(time.Duration(us) * time.Microsecond)
}

// event draws one event; ok is false when it falls after the end.
func (g *Generator) event(d *Day, spike bool, i int) (row collect.Row, ok bool) {
	at := g.eventTime(d, spike, i)
	if at.After(g.end) {
		return collect.Row{}, false
	}
	r := g.r
	var svc *service
	var prof profile
	var u user
	if spike {
		svc, prof = &services[0], services[0].profiles[0] // QA_CHAT on claude-sonnet-4-5
		u = g.users[g.spikeUsers[r.IntN(len(g.spikeUsers))]]
	} else {
		si := pick(g.svcCum, r.Float64())
		svc = &services[si]
		prof = svc.profiles[pick(g.profCum[si], r.Float64())]
		u = g.users[g.userZipf.Uint64()]
		for _, m := range unknownModels {
			if m.service == svc.name && r.Float64() < m.p {
				prof.model, prof.provider, prof.cacheRead, prof.cacheWrite = m.model, m.provider, 0, 0
			}
		}
	}
	row = collect.Row{
		EventID: uuid7(at, r.Uint64(), r.Uint64()), OccurredAt: at,
		Service: svc.name, Model: prof.model, Provider: prof.provider,
		Success: true, UserID: u.id, OrgID: u.org, Endpoint: svc.endpoint, Tags: g.tags[svc.name],
	}
	var durationMS float64
	failP := failureRate
	if spike {
		failP = spikeFailureRate
	}
	switch {
	case !spike && r.Float64() < svc.cacheHit:
		// Answered from the application's own cache: no model call, no tokens.
		row.CacheHit = true
		durationMS = 2 + lognormal(r, 10, 0.6)
	case r.Float64() < failP:
		// Failed calls return no usage, so they cost nothing; they still count.
		row.Success = false
		f := g.failure(prof.provider, spike)
		row.Error = f.message
		durationMS = f.durationMS
		if f.durationMS < 30000 {
			durationMS = lognormal(r, f.durationMS, 0.4)
		}
	default:
		g.usage(&row, prof)
		durationMS = (prof.ttftMS + prof.perTok*float64(row.OutputTokens) + 0.01*float64(row.InputTokens)) * lognormal(r, 1, 0.25)
	}
	row.DurationMS = int64(math.Round(durationMS))

	// Priced as the collector prices an event without a cost: the same table code.
	row.CostSource = "none"
	if p, ok := g.prices.Cost(row.Model, row.Provider, at, pricing.Usage{
		InputTokens: row.InputTokens, OutputTokens: row.OutputTokens,
		CacheReadTokens: row.CacheReadTokens, CacheWriteTokens: row.CacheWriteTokens,
	}); ok {
		row.CostSource = "local"
		row.Cost = decimal.NewNullDecimal(p.Cost)
		row.PriceVersion = p.Version
		row.FXRate = decimal.NewNullDecimal(p.Rate)
	}
	return row, true
}

func (g *Generator) failure(provider string, spike bool) failure {
	if spike && g.r.Float64() < 0.9 {
		return failure{provider: "anthropic", message: spikeFailure, durationMS: 120}
	}
	var fit []int
	for i, f := range failures {
		if f.provider == "" || f.provider == provider {
			fit = append(fit, i)
		}
	}
	return failures[fit[g.r.IntN(len(fit))]]
}

// usage draws the token counts of a successful call, with the provider's prompt caching.
func (g *Generator) usage(row *collect.Row, p profile) {
	r := g.r
	variable := int64(math.Max(1, math.Round(lognormal(r, p.in, p.inSigma))))
	in := p.prefix + variable
	row.InputTokens = in
	switch p.provider {
	case "anthropic":
		// Explicit cache breakpoints after the fixed prefix: read when warm, written when cold.
		if x := r.Float64(); p.prefix > 0 && x < p.cacheRead {
			row.CacheReadTokens = p.prefix
		} else if p.prefix > 0 && x < p.cacheRead+p.cacheWrite {
			row.CacheWriteTokens = p.prefix
		}
	case "openai":
		// Automatic caching of the longest common prefix, from 1,024 tokens in steps of 128.
		if c := p.prefix / 128 * 128; c >= 1024 && r.Float64() < p.cacheRead {
			row.CacheReadTokens = c
		}
	case "google":
		// Implicit caching: a document summarised again is mostly served from the cache.
		if in >= 2048 && r.Float64() < p.cacheRead {
			row.CacheReadTokens = in * 3 / 4
		}
	}
	if p.out > 0 {
		row.OutputTokens = int64(math.Max(1, math.Round(lognormal(r, p.out, p.outSigma))))
	}
	if p.reasoning > 0 {
		row.ReasoningTokens = min(row.OutputTokens, int64(float64(row.OutputTokens)*p.reasoning*(0.8+0.4*r.Float64())))
	}
}

// lognormal draws from a log-normal distribution with the given median.
func lognormal(r *rand.Rand, median, sigma float64) float64 {
	return median * math.Exp(sigma*r.NormFloat64())
}

// pick returns the index of the first cumulative weight above u × total.
func pick(cum []float64, u float64) int {
	x := u * cum[len(cum)-1]
	for i, c := range cum {
		if x < c {
			return i
		}
	}
	return len(cum) - 1
}

// uuid7 formats a UUID version 7 for the event time: what a client library would send, but
// with the random bits drawn from the event's stream so that it is the same on every run.
func uuid7(at time.Time, a, b uint64) string {
	var u [16]byte
	ms := uint64(at.UnixMilli())
	for i := 0; i < 6; i++ {
		u[i] = byte(ms >> (40 - 8*i))
	}
	for i := 0; i < 8; i++ {
		u[8+i] = byte(b >> (56 - 8*i))
	}
	u[6] = 0x70 | byte(a>>8)&0x0f
	u[7] = byte(a)
	u[8] = 0x80 | u[8]&0x3f
	const hex = "0123456789abcdef"
	out := make([]byte, 0, 36)
	for i, c := range u {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			out = append(out, '-')
		}
		out = append(out, hex[c>>4], hex[c&0x0f])
	}
	return string(out)
}

func splitmix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

func epochDay(t time.Time) int64 {
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC).Unix() / 86400
}

func mod(a, n int64) int64 { return (a%n + n) % n }
