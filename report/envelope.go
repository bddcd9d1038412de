package report

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/shopspring/decimal"
)

// A budget with Per is an envelope: it gives every value of one event field (each user, each
// organisation, each endpoint, each value of one tag) the amount on its own, instead of one total
// over the scope. Overrides set the amount of named values; 0 allows no spend at all.

// Per fields.
const (
	PerUserID   = "user_id"
	PerOrgID    = "org_id"
	PerEndpoint = "endpoint"
	PerTag      = "tag"
)

// Per names the field whose every value gets its own envelope: user_id, org_id, endpoint, or a
// tag (Field "tag", TagKey its key; written tag:<key>). The zero Per is a plain budget.
type Per struct {
	Field  string
	TagKey string
}

// IsZero reports whether the budget is one total, not an envelope per value.
func (p Per) IsZero() bool { return p == Per{} }

// String is how the configuration writes it: user_id, tag:team.
func (p Per) String() string {
	if p.Field == PerTag {
		return PerTag + ":" + p.TagKey
	}
	return p.Field
}

// Noun is what one entity is called in a sentence: "user", "organisation", "endpoint", "team
// value" (tag:team).
func (p Per) Noun() string {
	switch p.Field {
	case PerUserID:
		return "user"
	case PerOrgID:
		return "organisation"
	case PerTag:
		return p.TagKey + " value"
	}
	return p.Field
}

// ParsePer reads per: user_id, org_id, endpoint or tag:<key>; "" is no per.
func ParsePer(s string) (Per, error) {
	switch s {
	case "":
		return Per{}, nil
	case PerUserID, PerOrgID, PerEndpoint:
		return Per{Field: s}, nil
	}
	if key, ok := strings.CutPrefix(s, PerTag+":"); ok {
		if key == "" || strings.TrimSpace(key) != key {
			return Per{}, fmt.Errorf("%q: want tag:<key> with a key", s)
		}
		return Per{Field: PerTag, TagKey: key}, nil
	}
	return Per{}, fmt.Errorf("%q is not a field budgets can be per: want user_id, org_id, endpoint or tag:<key>", s)
}

// Entity is the value of the per field in an event's fields; "" when the event has none (such an
// event counts toward no entity's envelope).
func (p Per) Entity(userID, orgID, endpoint string, tags map[string]string) string {
	switch p.Field {
	case PerUserID:
		return userID
	case PerOrgID:
		return orgID
	case PerEndpoint:
		return endpoint
	case PerTag:
		return tags[p.TagKey]
	}
	return ""
}

// Enforce turns a budget into a policy for POST /v1/decide: from DegradeAt percent a request is
// answered degrade (on the model DegradeTo maps its model to), from DenyAt percent deny. 0 leaves
// a step out. A budget without Enforce only informs.
type Enforce struct {
	DegradeAt int
	DegradeTo map[string]string
	DenyAt    int
}

// Limit is the amount of entity's envelope: its override, else the budget's amount. A budget
// without Per has one limit, its amount.
func (b Budget) Limit(entity string) decimal.Decimal {
	if v, ok := b.Overrides[entity]; ok {
		return v
	}
	return b.Amount
}

// Enforced reports whether the budget is a policy for POST /v1/decide.
func (b Budget) Enforced() bool { return b.Enforce != nil }

// validateEnvelope reports the problems of the budget's per, overrides and enforce block.
func (b Budget) validateEnvelope() []error {
	var errs []error
	// Entity alerts go out as one email per budget period (entity_alerts); the channels'
	// delivery ledger is keyed by a budget's alerts, not an entity's, so routes are refused
	// rather than silently not followed.
	if !b.Per.IsZero() && !b.Routes.IsZero() {
		errs = append(errs, errors.New("channels: a budget with per alerts by email only"))
	}
	if !b.Per.IsZero() && b.BurnRate {
		errs = append(errs, errors.New("burn_rate: a budget with per alerts per entity, by threshold and forecast only"))
	}
	if len(b.Overrides) > 0 && b.Per.IsZero() {
		errs = append(errs, errors.New("overrides: only a budget with per has overrides (per: user_id, org_id, endpoint or tag:<key>)"))
	}
	for _, k := range sortedKeys(b.Overrides) {
		if k == "" {
			errs = append(errs, errors.New("overrides: a value needs a name"))
		}
		if b.Overrides[k].IsNegative() {
			errs = append(errs, fmt.Errorf("overrides.%s: must be ≥ 0 (0 allows no spend)", k))
		}
	}
	if e := b.Enforce; e != nil {
		if e.DegradeAt == 0 && e.DenyAt == 0 {
			errs = append(errs, errors.New("enforce: set degrade_at, deny_at or both"))
		}
		for _, at := range []struct {
			name string
			v    int
		}{{"degrade_at", e.DegradeAt}, {"deny_at", e.DenyAt}} {
			if at.v < 0 || at.v > 1000 {
				errs = append(errs, fmt.Errorf("enforce.%s: %d: want 1 to 1000 percent", at.name, at.v))
			}
		}
		if e.DegradeAt > 0 && e.DenyAt > 0 && e.DegradeAt >= e.DenyAt {
			errs = append(errs, fmt.Errorf("enforce.degrade_at: %d must be below deny_at (%d)", e.DegradeAt, e.DenyAt))
		}
		if e.DegradeAt > 0 && len(e.DegradeTo) == 0 {
			errs = append(errs, errors.New("enforce.degrade_to: required with degrade_at (which model replaces which)"))
		}
		if len(e.DegradeTo) > 0 && e.DegradeAt == 0 {
			errs = append(errs, errors.New("enforce.degrade_at: required with degrade_to"))
		}
		for _, from := range sortedKeys(e.DegradeTo) {
			to := e.DegradeTo[from]
			if from == "" || to == "" {
				errs = append(errs, fmt.Errorf("enforce.degrade_to: %q → %q: both models must be named", from, to))
			} else if from == to {
				errs = append(errs, fmt.Errorf("enforce.degrade_to.%s: degrades to itself", from))
			}
		}
	}
	return errs
}

// sortedKeys is m's keys in order: problems are listed in the same order on every start.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// EntitySpender reads the spend of every value of a per field (report/pgquery): every entity
// with events in scope over [start, end), exact like a budget's spend, in no particular order.
type EntitySpender interface {
	EntitySpend(ctx context.Context, scope Scope, per Per, start, end time.Time) ([]Driver, error)
}

// NearestEntities is how many entities of an envelope budget a summary names (GET /v1/budgets,
// the pages, the digest): the nearest to or over their envelope. The workbook and the paged read
// API list every one.
const NearestEntities = 10

// EntitySummary sums up an envelope budget's entities in one period: how many spent, how many
// are at or over their envelope, and the NearestEntities nearest to or over it.
type EntitySummary struct {
	Count, Exceeded int
	Nearest         []EntityStatus
}

// SummarizeEntities is the summary of sts, in EntityStatuses' order (nearest to or over first).
func SummarizeEntities(sts []EntityStatus) EntitySummary {
	s := EntitySummary{Count: len(sts), Nearest: sts[:min(len(sts), NearestEntities)]}
	for _, es := range sts {
		if es.State == StateExceeded {
			s.Exceeded++
		}
	}
	return s
}

// EntityStatus is one entity's envelope evaluated for a period: Status's fields for the
// entity's own limit, and the entity.
type EntityStatus struct {
	Entity string
	Status
}

// EvaluateEntity evaluates entity's envelope of budget b (its override, else the amount) for
// period p from its spend, as Evaluate does a budget. An envelope of 0 (no spend allowed) is
// ok while nothing is spent and exceeded, every threshold crossed, from the first unit.
func EvaluateEntity(b Budget, entity string, p Period, spent decimal.Decimal, now time.Time) EntityStatus {
	eb := b
	eb.Amount = b.Limit(entity)
	if !eb.Amount.IsPositive() {
		st := Status{Budget: b, Period: p, AsOf: now, Spent: spent, Limit: eb.Amount, State: StateOK, Over: spent}
		st.Percent, st.Remaining = Share(spent, eb.Amount)
		if spent.IsPositive() {
			st.State = StateExceeded
			for _, t := range b.EffectiveThresholds() {
				st.Breaches = append(st.Breaches, Breach{Budget: b.Name, PeriodStart: p.Start, Threshold: t, Kind: Actual, Severity: SeverityOf(t)})
			}
		}
		return EntityStatus{Entity: entity, Status: st}
	}
	eb.Per = Per{} // the entity's own envelope, evaluated as a budget of its own
	st := Evaluate(eb, p, spent, now)
	st.Budget = b
	return EntityStatus{Entity: entity, Status: st}
}

// EntityStatuses evaluates every entity of envelope budget b with spend in period p up to now
// (from EntitySpend), nearest to or over its envelope first: by percent, then spend, then name.
func EntityStatuses(ctx context.Context, src EntitySpender, b Budget, p Period, now time.Time) ([]EntityStatus, error) {
	end := p.End // as of now: a report of a past instant counts nothing after it
	if now.Before(end) {
		end = now
	}
	spends, err := src.EntitySpend(ctx, b.Scope, b.Per, p.Start, end)
	if err != nil {
		return nil, fmt.Errorf("budget %s per %s: %w", b.Name, b.Per, err)
	}
	out := make([]EntityStatus, 0, len(spends))
	for _, d := range spends {
		es := EvaluateEntity(b, d.Key, p, d.Cost, now)
		es.Unpriced = d.Unpriced
		out = append(out, es)
	}
	sort.Slice(out, func(i, j int) bool {
		if c := out[i].Percent.Cmp(out[j].Percent); c != 0 {
			return c > 0
		}
		if c := out[i].Spent.Cmp(out[j].Spent); c != 0 {
			return c > 0
		}
		return out[i].Entity < out[j].Entity
	})
	return out, nil
}

// Matches reports whether an event (or a request about to be made) with these fields is in the
// scope: what the scope's SQL predicate (report/pgquery scope.sql) selects, for the collector's
// in-memory spend (POST /v1/decide).
func (s Scope) Matches(service, model, provider, orgID, userID string, tags map[string]string) bool {
	eq := func(want, got string) bool { return want == "" || want == got }
	if !eq(s.Service, service) || !eq(s.Model, model) || !eq(s.Provider, provider) || !eq(s.OrgID, orgID) || !eq(s.UserID, userID) {
		return false
	}
	if s.TagKey == "" {
		return true
	}
	v, ok := tags[s.TagKey]
	return ok && v == s.TagValue
}
