package collect

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/shopspring/decimal"

	"github.com/aispend/aispend/collect/pricing"
)

// Event is one AI request as an application reports it: the wire format of POST /v1/events.
// Decode into NewEvent(), which marks absent fields. The OpenTelemetry GenAI attribute names are
// accepted as aliases of the native names.
type Event struct {
	EventID          string            `json:"event_id"`
	OccurredAt       string            `json:"occurred_at"`
	Service          string            `json:"service"`
	Model            string            `json:"model"`
	Provider         string            `json:"provider"`
	InputTokens      Count             `json:"input_tokens"`
	OutputTokens     Count             `json:"output_tokens"`
	CacheReadTokens  Count             `json:"cache_read_tokens"`
	CacheWriteTokens Count             `json:"cache_write_tokens"`
	ReasoningTokens  Count             `json:"reasoning_tokens"`
	Cost             *Amount           `json:"cost"`
	Currency         string            `json:"currency"`
	DurationMS       Count             `json:"duration_ms"`
	Success          bool              `json:"success"`
	Error            string            `json:"error"`
	CacheHit         bool              `json:"cache_hit"`
	UserID           string            `json:"user_id"`
	OrgID            string            `json:"org_id"`
	Endpoint         string            `json:"endpoint"`
	Tags             map[string]string `json:"tags"`

	// CacheWrite1hTokens is the part of CacheWriteTokens written with a 1-hour lifetime.
	CacheWrite1hTokens Count `json:"cache_write_1h_tokens"`

	OTelModel       string `json:"gen_ai.request.model"`
	OTelProvider    string `json:"gen_ai.provider.name"`
	OTelInput       Count  `json:"gen_ai.usage.input_tokens"`
	OTelOutput      Count  `json:"gen_ai.usage.output_tokens"`
	OTelCacheRead   Count  `json:"gen_ai.usage.cache_read.input_tokens"`
	OTelCacheCreate Count  `json:"gen_ai.usage.cache_creation.input_tokens"`
}

// absent marks an integer field the body did not set. Plain fields with a sentinel instead of
// pointers keep decoding free of per-field allocations on the hot path. A client can send the
// same number, -9223372036854775808: Count's decoding and the OTLP mapping (sent) keep it from
// reading as absent, so that it is refused like any negative count.
const absent = math.MinInt64

// notInteger marks an integer field sent with a value that is not an integer (a string, 1.5,
// 1e3, a number beyond int64): refused with "must be an integer".
const notInteger = math.MinInt64 + 1

// Count is an integer field of Event: an int64 as JSON gives it, except that a value that reads
// as absent (or notInteger) is taken as another negative number, and a value that is not an
// integer becomes notInteger (the decoding goes on, like a JSON type error's).
type Count int64

// UnmarshalJSON reads an integer; null leaves the field as it was, as for an int64.
func (c *Count) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	n, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil {
		*c = notInteger
		return nil
	}
	*c = Count(sent(n))
	return nil
}

// sent is a count a client sent: never one of the marks absent and notInteger, which are
// negative like it and so refused the same way.
func sent(n int64) int64 {
	if n == absent || n == notInteger {
		return -1
	}
	return n
}

// NewEvent returns an event with every optional field marked absent, ready to decode into.
func NewEvent() Event {
	return Event{
		InputTokens: absent, OutputTokens: absent, CacheReadTokens: absent, CacheWriteTokens: absent,
		ReasoningTokens: absent, DurationMS: absent, Success: true, CacheWrite1hTokens: absent,
		OTelInput: absent, OTelOutput: absent, OTelCacheRead: absent, OTelCacheCreate: absent,
	}
}

// Amount is a money amount sent as a JSON number or a decimal string. It is parsed exactly: the
// digits are never converted to a float.
type Amount struct {
	Value decimal.Decimal
	Bad   string // why the value could not be parsed; checked by Validate
}

// UnmarshalJSON accepts 1.95, "1.95" and null; anything else is recorded as a problem.
func (a *Amount) UnmarshalJSON(b []byte) error {
	*a = Amount{} // a repeated key replaces, never merges with, the earlier value
	s := string(bytes.TrimSpace(b))
	if len(s) >= 2 && s[0] == '"' {
		var str string
		if err := json.Unmarshal(b, &str); err != nil {
			a.Bad = "must be a decimal number or string"
			return nil
		}
		s = strings.TrimSpace(str)
	}
	d, err := decimal.NewFromString(s)
	if err != nil {
		a.Bad = "must be a decimal number or string"
		return nil
	}
	// Bound the size so that "1e999999999" cannot make the server build a huge number.
	if d.Exponent() < -30 || d.Exponent() > 30 || d.Abs().GreaterThanOrEqual(maxAmount) {
		a.Bad = "out of range (at most 10^15, at most 30 decimal places)"
		return nil
	}
	a.Value = d
	return nil
}

var maxAmount = decimal.New(1, 15)

// Row is a validated, normalised and priced event, ready to store.
type Row struct {
	EventID          string
	OccurredAt       time.Time
	Service          string
	Model            string
	Provider         string
	InputTokens      int64
	OutputTokens     int64
	CacheReadTokens  int64
	CacheWriteTokens int64
	ReasoningTokens  int64
	Cost             decimal.NullDecimal // reporting currency; invalid = unpriced
	CostSource       string              // provider | local | none
	SentCost         decimal.NullDecimal
	SentCurrency     string
	PriceVersion     string
	FXRate           decimal.NullDecimal
	DurationMS       int64 // absent (math.MinInt64) when not sent
	Success          bool
	Error            string
	CacheHit         bool
	UserID           string
	OrgID            string
	Endpoint         string
	Tags             []byte // JSON object, nil when absent

	CacheWrite1hTokens int64 // part of CacheWriteTokens
}

// Problem is one reason an event was refused.
type Problem struct {
	Index   int    `json:"index"`
	Field   string `json:"field"`
	Message string `json:"message"`
}

// Rules are the limits Validate applies.
type Rules struct {
	Now        time.Time
	FutureSkew time.Duration // how far in the future occurred_at may be
	MaxAge     time.Duration // how far in the past (the retention period); 0 = unlimited
	Prices     *pricing.Table
}

// MaxTokens bounds every token count of one event, and MaxDurationMS its duration: no real
// request comes near them (the largest context windows hold a few million tokens), and values
// beyond them (a nanosecond timestamp sent as duration_ms, a count near 2^63) would overflow
// the sums that reports compute over millions of events.
const (
	MaxTokens     = 10_000_000_000 // 10^10 per count
	MaxDurationMS = 86_400_000     // one day
)

const (
	maxIDLen      = 128
	maxServiceLen = 64
	maxModelLen   = 128
	maxTextLen    = 256
	maxErrorLen   = 1024
	maxTags       = 32
)

// Validate checks every rule of the contract and returns every problem found, or the row to
// store: the event validated and normalised field by field (identity, tokens, details, cost),
// then priced. Each problem carries the given index of the event in its request.
func (e *Event) Validate(index int, r Rules) (Row, []Problem) {
	var ps []Problem
	bad := func(field, format string, args ...any) {
		ps = append(ps, Problem{Index: index, Field: field, Message: fmt.Sprintf(format, args...)})
	}
	var row Row
	e.identity(&row, r, bad)
	e.tokens(&row, bad)
	e.details(&row, bad)
	currency := e.currency(bad)
	if len(ps) > 0 {
		return Row{}, ps
	}
	price(&row, e.Cost, currency, r.Prices)
	return row, nil
}

// problemFunc records a problem of a field.
type problemFunc func(field, format string, args ...any)

// identity checks and normalises what identifies the event: its id, time, service, model and
// provider.
func (e *Event) identity(row *Row, r Rules, bad problemFunc) {
	row.EventID = e.EventID
	switch {
	case row.EventID == "":
		bad("event_id", "required")
	default:
		checkText(bad, "event_id", row.EventID, maxIDLen)
	}

	if e.OccurredAt == "" {
		bad("occurred_at", "required")
	} else if t, err := time.Parse(time.RFC3339Nano, e.OccurredAt); err != nil {
		bad("occurred_at", "must be an RFC 3339 time, e.g. 2025-10-01T09:30:00Z")
	} else if t.After(r.Now.Add(r.FutureSkew)) {
		bad("occurred_at", "more than %s in the future", r.FutureSkew)
	} else if r.MaxAge > 0 && t.Before(r.Now.Add(-r.MaxAge)) {
		bad("occurred_at", "older than the retention period (%d days)", int(r.MaxAge.Hours()/24))
	} else {
		// PostgreSQL keeps microseconds: truncate now so that keys compare equal after a round trip.
		row.OccurredAt = t.Truncate(time.Microsecond)
	}

	row.Service = e.Service
	switch {
	case row.Service == "":
		bad("service", "required")
	case len(row.Service) > maxServiceLen:
		bad("service", "at most %d characters", maxServiceLen)
	case !serviceChars(row.Service):
		bad("service", "only letters, digits and _ . : - are allowed")
	}

	row.Model = first(e.Model, e.OTelModel)
	switch {
	case row.Model == "":
		bad("model", "required")
	default:
		checkText(bad, "model", row.Model, maxModelLen)
	}
	row.Provider = first(e.Provider, e.OTelProvider)
	checkText(bad, "provider", row.Provider, maxTextLen)
}

// tokens checks the token counts and how they nest: cache reads and writes within input,
// one-hour cache writes within cache writes, reasoning within output.
func (e *Event) tokens(row *Row, bad problemFunc) {
	in, inOK := count(bad, "input_tokens", firstInt(e.InputTokens, e.OTelInput), true)
	out, outOK := count(bad, "output_tokens", firstInt(e.OutputTokens, e.OTelOutput), true)
	cr, crOK := count(bad, "cache_read_tokens", firstInt(e.CacheReadTokens, e.OTelCacheRead), false)
	cw, cwOK := count(bad, "cache_write_tokens", firstInt(e.CacheWriteTokens, e.OTelCacheCreate), false)
	c1h, c1hOK := count(bad, "cache_write_1h_tokens", e.CacheWrite1hTokens, false)
	rs, rsOK := count(bad, "reasoning_tokens", e.ReasoningTokens, false)
	if inOK && crOK && cwOK && cacheExceedsInput(cr, cw, in) {
		bad("cache_read_tokens", "cache_read_tokens + cache_write_tokens (%d) exceed input_tokens (%d)", uint64(cr)+uint64(cw), in)
	}
	if cwOK && c1hOK && c1h > cw {
		bad("cache_write_1h_tokens", "cache_write_1h_tokens (%d) exceed cache_write_tokens (%d)", c1h, cw)
	}
	if outOK && rsOK && rs > out {
		bad("reasoning_tokens", "reasoning_tokens (%d) exceed output_tokens (%d)", rs, out)
	}
	row.InputTokens, row.OutputTokens, row.CacheReadTokens, row.CacheWriteTokens, row.ReasoningTokens = in, out, cr, cw, rs
	row.CacheWrite1hTokens = c1h
}

// details checks the rest of what the event says: its duration, outcome, who sent it, its
// endpoint and its tags.
func (e *Event) details(row *Row, bad problemFunc) {
	// Absent stays absent (math.MinInt64), which the store writes as NULL, not 0.
	row.DurationMS = int64(e.DurationMS)
	if e.DurationMS == notInteger {
		bad("duration_ms", "must be an integer")
	} else if e.DurationMS != absent && e.DurationMS < 0 {
		bad("duration_ms", "must be ≥ 0")
	} else if e.DurationMS > MaxDurationMS {
		bad("duration_ms", "at most %d (one day)", MaxDurationMS)
	}
	row.Success, row.CacheHit = e.Success, e.CacheHit
	row.Error = e.Error
	checkText(bad, "error", row.Error, maxErrorLen)
	row.UserID, row.OrgID, row.Endpoint = e.UserID, e.OrgID, e.Endpoint
	checkText(bad, "user_id", row.UserID, maxTextLen)
	checkText(bad, "org_id", row.OrgID, maxTextLen)
	checkText(bad, "endpoint", row.Endpoint, maxTextLen)

	if len(e.Tags) > maxTags {
		bad("tags", "at most %d pairs", maxTags)
	} else if len(e.Tags) > 0 {
		for k, v := range e.Tags {
			if k == "" || utf8.RuneCountInString(k) > maxTextLen || utf8.RuneCountInString(v) > maxTextLen ||
				strings.IndexByte(k, 0) >= 0 || strings.IndexByte(v, 0) >= 0 {
				bad("tags", "keys must be 1–%d characters and values at most %d, without NUL characters", maxTextLen, maxTextLen)
				break
			}
		}
		row.Tags, _ = json.Marshal(e.Tags)
	}
}

// currency checks the cost the client sent and its currency, and returns the currency code
// (upper case; "" when none was sent).
func (e *Event) currency(bad problemFunc) string {
	currency := strings.ToUpper(e.Currency)
	if currency != "" && !isCurrencyCode(currency) {
		bad("currency", "must be an ISO 4217 code such as USD or KRW")
	}
	if e.Cost != nil {
		switch {
		case e.Cost.Bad != "":
			bad("cost", "%s", e.Cost.Bad)
		case e.Cost.Value.IsNegative():
			bad("cost", "must be ≥ 0")
		}
	} else if currency != "" {
		bad("currency", "only allowed together with cost")
	}
	return currency
}

// price sets the cost of a valid row. A cost sent by the client is authoritative; otherwise the
// price table applies. Whatever cannot be priced is stored unpriced, never refused.
func price(row *Row, sent *Amount, currency string, t *pricing.Table) {
	if sent != nil {
		if currency == "" {
			currency = t.Currency()
		}
		row.SentCost = decimal.NewNullDecimal(sent.Value)
		row.SentCurrency = currency
	}
	row.Price(t)
}

// Price sets the row's cost from what it carries: the cost its client sent, converted into the
// reporting currency, or else the price table. A row that cannot be priced (no price for the
// model, no rate for the currency) is left unpriced. The collector prices every event with it
// on arrival; re-pricing applies it again to stored unpriced events once the table knows more.
func (row *Row) Price(t *pricing.Table) {
	if row.SentCost.Valid {
		row.CostSource = "provider"
		if rate, ok := t.Rate(row.SentCurrency); ok {
			row.Cost = decimal.NewNullDecimal(row.SentCost.Decimal.Mul(rate))
			row.FXRate = decimal.NewNullDecimal(rate)
		}
		return
	}
	row.CostSource = "none"
	p, ok := t.Cost(row.Model, row.Provider, row.OccurredAt, pricing.Usage{
		InputTokens: row.InputTokens, OutputTokens: row.OutputTokens,
		CacheReadTokens: row.CacheReadTokens, CacheWriteTokens: row.CacheWriteTokens,
		CacheWrite1hTokens: row.CacheWrite1hTokens, ReasoningTokens: row.ReasoningTokens,
	})
	if !ok {
		return
	}
	row.CostSource = "local"
	row.Cost = decimal.NewNullDecimal(p.Cost)
	row.PriceVersion = p.Version
	row.FXRate = decimal.NewNullDecimal(p.Rate)
}

func first(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func firstInt(a, b Count) Count {
	if a != absent {
		return a
	}
	return b
}

func count(bad func(string, string, ...any), field string, c Count, required bool) (int64, bool) {
	v := int64(c)
	if v == notInteger {
		bad(field, "must be an integer")
		return 0, false
	}
	if v == absent {
		if required {
			bad(field, "required")
			return 0, false
		}
		return 0, true
	}
	if v < 0 {
		bad(field, "must be an integer ≥ 0")
		return 0, false
	}
	if v > MaxTokens {
		bad(field, "at most %d per request", int64(MaxTokens))
		return 0, false
	}
	return v, true
}

// cacheExceedsInput tells whether cache read plus cache write tokens exceed the input tokens,
// for counts ≥ 0 of any size: the sum is taken in uint64, where two int64 values cannot wrap.
func cacheExceedsInput(cacheRead, cacheWrite, input int64) bool {
	return uint64(cacheRead)+uint64(cacheWrite) > uint64(input)
}

func checkText(bad func(string, string, ...any), field, v string, max int) {
	switch {
	case utf8.RuneCountInString(v) > max:
		bad(field, "at most %d characters", max)
	case strings.IndexByte(v, 0) >= 0:
		// PostgreSQL text cannot hold NUL: refuse it here rather than fail the whole commit.
		bad(field, "must not contain NUL characters")
	}
}

func serviceChars(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == ':' || c == '-') {
			return false
		}
	}
	return true
}

func isCurrencyCode(s string) bool {
	if len(s) != 3 {
		return false
	}
	for i := 0; i < 3; i++ {
		if s[i] < 'A' || s[i] > 'Z' {
			return false
		}
	}
	return true
}
