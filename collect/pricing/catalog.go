package pricing

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/dlclark/regexp2/v2"
	"github.com/shopspring/decimal"
)

// Catalog is a price catalog in the format of pydantic's genai-prices (its data.json): a JSON
// list of providers, each with models that carry match rules and prices. It is immutable after
// parsing and safe for concurrent use. Lookups follow genai-prices' calcPrice: the provider by
// id or provider_match (by model_match when the event names no provider), then the first model
// whose match accepts the lower-cased model name, then the provider's fallback providers, then
// the same with a YYYYMMDD date in the name written YYYY-MM-DD.
type Catalog struct {
	// Date is the catalog's date, recorded in the price version of prices that carry no start
	// date of their own.
	Date      time.Time
	providers []*catalogProvider
	byID      map[string]*catalogProvider
	models    int
	sum       [sha256.Size]byte // of the catalog's bytes, for Table.Fingerprint
}

type catalogProvider struct {
	id            string
	providerMatch *matcher
	modelMatch    *matcher
	fallback      []string
	models        []*catalogModel
}

type catalogModel struct {
	id    string
	match *matcher
	conds []cond
}

// cond is one of a model's prices with the constraint under which it applies.
type cond struct {
	kind             int // condAlways, condStartDate or condTimeOfDay
	start            time.Time
	todStart, todEnd time.Duration // from UTC midnight
	price            Price
	priced           bool // has a token price (input_mtok or output_mtok)
}

const (
	condAlways = iota
	condStartDate
	condTimeOfDay
)

// Models is the number of models in the catalog.
func (c *Catalog) Models() int { return c.models }

// LoadCatalog reads a catalog file. Its date is the file's modification time (a download with
// `curl -R` keeps the publication time), as a UTC date.
func LoadCatalog(path string) (*Catalog, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open price catalog: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("stat price catalog: %w", err)
	}
	c, err := ParseCatalog(f, st.ModTime())
	if err != nil {
		return nil, fmt.Errorf("price catalog %s: %w", path, err)
	}
	return c, nil
}

// ParseCatalog parses a catalog; date is the catalog's date (only its UTC day counts).
func ParseCatalog(r io.Reader, date time.Time) (*Catalog, error) {
	var raw []struct {
		ID            string          `json:"id"`
		ProviderMatch json.RawMessage `json:"provider_match"`
		ModelMatch    json.RawMessage `json:"model_match"`
		Fallback      []string        `json:"fallback_model_providers"`
		Models        []struct {
			ID     string          `json:"id"`
			Match  json.RawMessage `json:"match"`
			Prices json.RawMessage `json:"prices"`
		} `json:"models"`
	}
	h := sha256.New()
	dec := json.NewDecoder(io.TeeReader(r, h))
	if err := dec.Decode(&raw); err != nil {
		return nil, fmt.Errorf("decode: want the JSON list of providers of genai-prices' data.json: %w", err)
	}
	d := date.UTC()
	c := &Catalog{Date: time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, time.UTC), byID: map[string]*catalogProvider{}}
	for pi, rp := range raw {
		if rp.ID == "" {
			return nil, fmt.Errorf("provider %d: no id", pi)
		}
		p := &catalogProvider{id: rp.ID, fallback: rp.Fallback}
		var err error
		if p.providerMatch, err = parseOptionalMatch(rp.ProviderMatch); err != nil {
			return nil, fmt.Errorf("provider %s: provider_match: %w", rp.ID, err)
		}
		if p.modelMatch, err = parseOptionalMatch(rp.ModelMatch); err != nil {
			return nil, fmt.Errorf("provider %s: model_match: %w", rp.ID, err)
		}
		for _, rm := range rp.Models {
			m := &catalogModel{id: rm.ID}
			if m.match, err = parseMatch(rm.Match); err != nil {
				return nil, fmt.Errorf("provider %s model %s: match: %w", rp.ID, rm.ID, err)
			}
			if m.conds, err = parseConds(rm.Prices); err != nil {
				return nil, fmt.Errorf("provider %s model %s: prices: %w", rp.ID, rm.ID, err)
			}
			for i := range m.conds {
				cd := &m.conds[i]
				cd.price.Model, cd.price.Provider, cd.price.Source = rm.ID, rp.ID, SourceCatalog
				cd.price.From = c.Date
				if cd.kind == condStartDate {
					cd.price.From = cd.start
				}
				cd.price.version = "genai-prices:" + rp.ID + "/" + rm.ID + "@" + cd.price.From.Format(time.DateOnly)
				if cd.kind == condTimeOfDay {
					cd.price.version += "+" + clock(cd.todStart) + "-" + clock(cd.todEnd) + "UTC"
				}
			}
			p.models = append(p.models, m)
			c.models++
		}
		c.providers = append(c.providers, p)
		if _, dup := c.byID[strings.ToLower(rp.ID)]; !dup {
			c.byID[strings.ToLower(rp.ID)] = p
		}
	}
	h.Sum(c.sum[:0])
	return c, nil
}

func clock(d time.Duration) string {
	return time.Unix(0, 0).UTC().Add(d).Format("15:04:05")
}

// find resolves an event's model and provider to a catalog model, or nil.
func (c *Catalog) find(model, provider string) *catalogModel {
	model = strings.ToLower(strings.TrimSpace(model))
	var p *catalogProvider
	if provider != "" {
		id := strings.ToLower(strings.TrimSpace(provider))
		p = c.byID[id]
		for _, cp := range c.providers {
			if p != nil {
				break
			}
			if cp.providerMatch != nil && cp.providerMatch.match(id) {
				p = cp
			}
		}
		// As calcPrice: a named provider that the catalog does not know prices nothing, except
		// LiteLLM's, which proxies every provider.
		if p == nil && id != "litellm" {
			return nil
		}
	}
	if p == nil {
		for _, cp := range c.providers {
			if cp.modelMatch != nil && cp.modelMatch.match(model) {
				p = cp
				break
			}
		}
		if p == nil {
			return nil
		}
	}
	if m := c.findModel(p, model, true); m != nil {
		return m
	}
	if n := normalizeDates(model); n != model {
		return c.findModel(p, n, true)
	}
	return nil
}

func (c *Catalog) findModel(p *catalogProvider, model string, fallback bool) *catalogModel {
	for _, m := range p.models {
		if m.match.match(model) {
			return m
		}
	}
	if fallback {
		for _, id := range p.fallback {
			if fp := c.byID[strings.ToLower(id)]; fp != nil {
				if m := c.findModel(fp, model, false); m != nil {
					return m
				}
			}
		}
	}
	return nil
}

// condAt picks the price in force at t: the last whose constraint holds, else the first.
func (m *catalogModel) condAt(t time.Time) (int, bool) {
	i := 0
	for j := len(m.conds) - 1; j >= 0; j-- {
		cd := m.conds[j]
		if cd.kind == condAlways || cd.kind == condStartDate && !t.Before(cd.start) || cd.kind == condTimeOfDay && cd.inWindow(t) {
			i = j
			break
		}
	}
	return i, m.conds[i].priced
}

func (cd cond) inWindow(t time.Time) bool {
	u := t.UTC()
	n := u.Sub(time.Date(u.Year(), u.Month(), u.Day(), 0, 0, 0, 0, time.UTC))
	if cd.todEnd < cd.todStart {
		return n >= cd.todStart || n < cd.todEnd
	}
	return n >= cd.todStart && n < cd.todEnd
}

// normalizeDates writes every -YYYYMMDD in a model name (a real date of this century, followed
// by '-', ':' or the end) as -YYYY-MM-DD, as genai-prices does before its second lookup.
func normalizeDates(s string) string {
	var b strings.Builder
	last := 0
	for i := 0; i+9 <= len(s); i++ {
		if s[i] != '-' || s[i+1] != '2' || s[i+2] != '0' || !digits(s[i+3:i+9]) {
			continue
		}
		if i+9 < len(s) && s[i+9] != '-' && s[i+9] != ':' {
			continue
		}
		y, _ := strconv.Atoi(s[i+1 : i+5])
		mo, _ := strconv.Atoi(s[i+5 : i+7])
		d, _ := strconv.Atoi(s[i+7 : i+9])
		if mo < 1 || mo > 12 || d < 1 || d > 31 {
			continue
		}
		if t := time.Date(y, time.Month(mo), d, 0, 0, 0, 0, time.UTC); t.Month() != time.Month(mo) || t.Day() != d {
			continue
		}
		b.WriteString(s[last:i])
		b.WriteString(fmt.Sprintf("-%04d-%02d-%02d", y, mo, d))
		last = i + 9
		i += 8
	}
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// matcher is a genai-prices match rule. The string rules compare lower-cased text; a regex is
// an ECMAScript expression (the catalog's are written for JavaScript, lookaheads included),
// searched anywhere in the lower-cased name.
type matcher struct {
	op   string
	s    string
	re   *regexp2.Regexp
	subs []*matcher
}

func parseOptionalMatch(b json.RawMessage) (*matcher, error) {
	if len(bytes.TrimSpace(b)) == 0 || string(bytes.TrimSpace(b)) == "null" {
		return nil, nil
	}
	return parseMatch(b)
}

func parseMatch(b json.RawMessage) (*matcher, error) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(b, &obj); err != nil || len(obj) != 1 {
		return nil, fmt.Errorf("want an object with one of equals, starts_with, ends_with, contains, regex, or, and: %s", truncate(b))
	}
	for op, v := range obj {
		m := &matcher{op: op}
		switch op {
		case "equals", "starts_with", "ends_with", "contains", "regex":
			if err := json.Unmarshal(v, &m.s); err != nil {
				return nil, fmt.Errorf("%s: want a string", op)
			}
			if op == "regex" {
				re, err := regexp2.Compile(m.s, regexp2.ECMAScript)
				if err != nil {
					return nil, fmt.Errorf("regex %q: %w", m.s, err)
				}
				// Model names are short; a pathological expression must not stall ingest.
				re.MatchTimeout = 100 * time.Millisecond
				m.re = re
			} else {
				m.s = strings.ToLower(m.s)
			}
		case "or", "and":
			var subs []json.RawMessage
			if err := json.Unmarshal(v, &subs); err != nil {
				return nil, fmt.Errorf("%s: want a list of rules", op)
			}
			for _, sb := range subs {
				sm, err := parseMatch(sb)
				if err != nil {
					return nil, fmt.Errorf("%s: %w", op, err)
				}
				m.subs = append(m.subs, sm)
			}
		default:
			return nil, fmt.Errorf("unknown match rule %q", op)
		}
		return m, nil
	}
	return nil, errors.New("empty match rule")
}

// match tells whether the rule accepts name, which is already lower-cased.
func (m *matcher) match(name string) bool {
	switch m.op {
	case "equals":
		return name == m.s
	case "starts_with":
		return strings.HasPrefix(name, m.s)
	case "ends_with":
		return strings.HasSuffix(name, m.s)
	case "contains":
		return strings.Contains(name, m.s)
	case "regex":
		ok, err := m.re.MatchString(name)
		return err == nil && ok
	case "or":
		for _, s := range m.subs {
			if s.match(name) {
				return true
			}
		}
		return false
	case "and":
		for _, s := range m.subs {
			if !s.match(name) {
				return false
			}
		}
		return true
	}
	return false
}

func truncate(b []byte) string {
	if len(b) > 80 {
		return string(b[:80]) + "…"
	}
	return string(b)
}

// parseConds parses a model's prices: one set of prices, or a list of prices with constraints.
func parseConds(b json.RawMessage) ([]cond, error) {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '[' {
		var list []struct {
			Constraint json.RawMessage `json:"constraint"`
			Prices     json.RawMessage `json:"prices"`
		}
		if err := json.Unmarshal(b, &list); err != nil {
			return nil, fmt.Errorf("want a list of {constraint, prices}: %w", err)
		}
		if len(list) == 0 {
			return nil, errors.New("empty list")
		}
		var out []cond
		for i, e := range list {
			cd, err := parseConstraint(e.Constraint)
			if err != nil {
				return nil, fmt.Errorf("%d: constraint: %w", i, err)
			}
			if cd.price, cd.priced, err = parseModelPrice(e.Prices); err != nil {
				return nil, fmt.Errorf("%d: %w", i, err)
			}
			out = append(out, cd)
		}
		return out, nil
	}
	var cd cond
	var err error
	if cd.price, cd.priced, err = parseModelPrice(b); err != nil {
		return nil, err
	}
	return []cond{cd}, nil
}

func parseConstraint(b json.RawMessage) (cond, error) {
	if len(bytes.TrimSpace(b)) == 0 || string(bytes.TrimSpace(b)) == "null" {
		return cond{kind: condAlways}, nil
	}
	var c struct {
		Type      string  `json:"type"`
		StartDate *string `json:"start_date"`
		StartTime *string `json:"start_time"`
		EndTime   *string `json:"end_time"`
	}
	if err := json.Unmarshal(b, &c); err != nil {
		return cond{}, err
	}
	switch {
	case c.StartDate != nil && (c.Type == "" || c.Type == "start_date") && c.StartTime == nil && c.EndTime == nil:
		t, err := time.Parse(time.DateOnly, *c.StartDate)
		if err != nil {
			return cond{}, fmt.Errorf("start_date %q: want YYYY-MM-DD", *c.StartDate)
		}
		return cond{kind: condStartDate, start: t}, nil
	case c.StartTime != nil && c.EndTime != nil && (c.Type == "" || c.Type == "time_of_date") && c.StartDate == nil:
		s, err := parseTimeOfDay(*c.StartTime)
		if err != nil {
			return cond{}, err
		}
		e, err := parseTimeOfDay(*c.EndTime)
		if err != nil {
			return cond{}, err
		}
		return cond{kind: condTimeOfDay, todStart: s, todEnd: e}, nil
	}
	return cond{}, fmt.Errorf("want {start_date} or {start_time, end_time}: %s", truncate(b))
}

var timeOfDayRE = regexp.MustCompile(`^(\d{2}):(\d{2}):(\d{2})(\.\d+)?(Z|([+-])(\d{2}):(\d{2}))$`)

// parseTimeOfDay parses HH:MM:SS[.fff](Z|±HH:MM) as the time since UTC midnight.
func parseTimeOfDay(s string) (time.Duration, error) {
	g := timeOfDayRE.FindStringSubmatch(s)
	if g == nil {
		return 0, fmt.Errorf("time of day %q: want HH:MM:SS with Z or an offset", s)
	}
	h, _ := strconv.Atoi(g[1])
	mi, _ := strconv.Atoi(g[2])
	se, _ := strconv.Atoi(g[3])
	oh, om := 0, 0
	if g[6] != "" {
		oh, _ = strconv.Atoi(g[7])
		om, _ = strconv.Atoi(g[8])
	}
	if h > 23 || mi > 59 || se > 59 || oh > 23 || om > 59 {
		return 0, fmt.Errorf("time of day %q: out of range", s)
	}
	d := time.Duration(h)*time.Hour + time.Duration(mi)*time.Minute + time.Duration(se)*time.Second
	if g[4] != "" {
		f, _ := strconv.ParseFloat("0"+g[4], 64)
		d += time.Duration(f * float64(time.Second))
	}
	off := time.Duration(oh)*time.Hour + time.Duration(om)*time.Minute
	if g[6] == "-" {
		off = -off
	}
	const day = 24 * time.Hour
	return ((d-off)%day + day) % day, nil
}

// tiered is one catalog price: a number, or a base price with tiers by input tokens.
type tiered struct {
	base  decimal.Decimal
	tiers []struct {
		start int64
		price decimal.Decimal
	}
}

// at is the price for a request whose input tokens exceed start (and no higher tier start).
func (p tiered) at(start int64) decimal.Decimal {
	v := p.base
	for _, t := range p.tiers {
		if t.start <= start {
			v = t.price
		}
	}
	return v
}

// The catalog keys that price what events record; every other key (audio, images, web
// searches, …) prices usage that events do not carry, and so adds nothing.
var tokenKeys = []string{"input_mtok", "cache_read_mtok", "cache_write_mtok", "cache_write_1h_mtok", "output_mtok", "output_reasoning_mtok"}

// parseModelPrice maps a genai-prices ModelPrice to a Price with its tiers. Missing prices
// follow calcPrice, which prices every token at its most specific priced kind: cache reads and
// writes cost the input price, 1-hour writes the cache-write price, reasoning the output price.
// priced is false when neither input nor output has a price: such a model is priced in units
// events do not record.
func parseModelPrice(b json.RawMessage) (Price, bool, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return Price{}, false, fmt.Errorf("want an object of prices: %w", err)
	}
	vals := map[string]tiered{}
	starts := map[int64]bool{}
	for _, k := range tokenKeys {
		v, ok := raw[k]
		if !ok || string(bytes.TrimSpace(v)) == "null" {
			continue
		}
		t, err := parseTiered(v)
		if err != nil {
			return Price{}, false, fmt.Errorf("%s: %w", k, err)
		}
		vals[k] = t
		for _, tr := range t.tiers {
			starts[tr.start] = true
		}
	}
	var p Price
	if v, ok := raw["requests_kcount"]; ok {
		t, err := parseTiered(v)
		if err != nil || len(t.tiers) > 0 {
			return Price{}, false, errors.New("requests_kcount: want a number")
		}
		p.PerRequest = t.base.Shift(-3)
	}
	_, hasIn := vals["input_mtok"]
	_, hasOut := vals["output_mtok"]
	level := func(start int64) (in, cr, cw, out decimal.Decimal, cw1h, rs decimal.NullDecimal) {
		get := func(k string) (decimal.Decimal, bool) {
			t, ok := vals[k]
			if !ok {
				return decimal.Zero, false
			}
			return t.at(start), true
		}
		in, _ = get("input_mtok")
		out, _ = get("output_mtok")
		cr = CachePrice(nullable(get("cache_read_mtok")), in)
		cw = CachePrice(nullable(get("cache_write_mtok")), in)
		if v, ok := get("cache_write_1h_mtok"); ok {
			cw1h = decimal.NewNullDecimal(v)
		}
		if v, ok := get("output_reasoning_mtok"); ok {
			rs = decimal.NewNullDecimal(v)
		}
		return
	}
	p.Input, p.CacheRead, p.CacheWrite, p.Output, p.CacheWrite1h, p.Reasoning = level(-1)
	var ss []int64
	for s := range starts {
		ss = append(ss, s)
	}
	sort.Slice(ss, func(i, j int) bool { return ss[i] < ss[j] })
	for _, s := range ss {
		var t Tier
		t.AboveInputTokens = s
		t.Input, t.CacheRead, t.CacheWrite, t.Output, t.CacheWrite1h, t.Reasoning = level(s)
		p.Tiers = append(p.Tiers, t)
	}
	return p, hasIn || hasOut, nil
}

func nullable(v decimal.Decimal, ok bool) decimal.NullDecimal {
	return decimal.NullDecimal{Decimal: v, Valid: ok}
}

func parseTiered(b json.RawMessage) (tiered, error) {
	b = bytes.TrimSpace(b)
	var t tiered
	if len(b) > 0 && b[0] == '{' {
		var raw struct {
			Base  json.Number `json:"base"`
			Tiers []struct {
				Start json.Number `json:"start"`
				Price json.Number `json:"price"`
			} `json:"tiers"`
		}
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.UseNumber()
		if err := dec.Decode(&raw); err != nil {
			return t, fmt.Errorf("want a number or {base, tiers}: %w", err)
		}
		var err error
		if t.base, err = price(raw.Base); err != nil {
			return t, fmt.Errorf("base: %w", err)
		}
		for _, rt := range raw.Tiers {
			start, err := strconv.ParseInt(rt.Start.String(), 10, 64)
			if err != nil || start < 0 {
				return t, fmt.Errorf("tier start %q: want an integer ≥ 0", rt.Start)
			}
			v, err := price(rt.Price)
			if err != nil {
				return t, fmt.Errorf("tier price: %w", err)
			}
			t.tiers = append(t.tiers, struct {
				start int64
				price decimal.Decimal
			}{start, v})
		}
		sort.SliceStable(t.tiers, func(i, j int) bool { return t.tiers[i].start < t.tiers[j].start })
		return t, nil
	}
	var n json.Number
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&n); err != nil {
		return t, fmt.Errorf("want a number or {base, tiers}: %s", truncate(b))
	}
	var err error
	t.base, err = price(n)
	return t, err
}

func price(n json.Number) (decimal.Decimal, error) {
	d, err := decimal.NewFromString(n.String())
	if err != nil {
		return d, fmt.Errorf("%q is not a number", n)
	}
	if d.IsNegative() {
		return d, fmt.Errorf("%s: must be ≥ 0", n)
	}
	return d, nil
}
