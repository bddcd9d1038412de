package api

import (
	"context"
	"time"

	"github.com/aispend/aispend/report"
)

// Entity is one entity's envelope in its budget's current period.
type Entity struct {
	Entity    string       `json:"entity"`
	Spent     string       `json:"spent"`
	Limit     string       `json:"limit"`
	Remaining string       `json:"remaining"`
	Percent   string       `json:"percent"` // two decimals, truncated
	State     report.State `json:"state"`
	Unpriced  int64        `json:"unpriced_events"`
}

// EntitySummary is an envelope budget's entities in GET /v1/budgets.
type EntitySummary struct {
	Count    int      `json:"count"`             // entities with spend in the period
	Exceeded int      `json:"exceeded"`          // of them, at or over their envelope
	Nearest  []Entity `json:"nearest,omitempty"` // at most report.NearestEntities, nearest to or over first; read and admin tokens only
}

// Entities is the body of GET /v1/budgets/{name}/entities: one page of an envelope budget's
// entities, nearest to or over their envelope first.
type Entities struct {
	AsOf        time.Time `json:"as_of"`
	Currency    string    `json:"currency"`
	Budget      string    `json:"budget"`
	Per         string    `json:"per"`
	PeriodStart time.Time `json:"period_start"`
	PeriodEnd   time.Time `json:"period_end"`
	Total       int       `json:"total"`
	Offset      int       `json:"offset"`
	Limit       int       `json:"limit"`
	Entities    []Entity  `json:"entities"` // never null
}

// EntityOf is an entity's status as the API states it.
func EntityOf(es report.EntityStatus) Entity {
	return Entity{
		Entity: es.Entity, Spent: es.Spent.String(), Limit: es.Limit.String(), Remaining: es.Remaining.String(),
		Percent: es.Percent.StringFixed(2), State: es.State, Unpriced: es.Unpriced,
	}
}

// SummaryOf is the summary of an envelope budget's entities sts (EntityStatuses' order).
func SummaryOf(sts []report.EntityStatus) *EntitySummary {
	sum := report.SummarizeEntities(sts)
	s := &EntitySummary{Count: sum.Count, Exceeded: sum.Exceeded, Nearest: []Entity{}}
	for _, es := range sum.Nearest {
		s.Nearest = append(s.Nearest, EntityOf(es))
	}
	return s
}

// withEntities adds to every envelope budget of bs its entities from board.
func withEntities(ctx context.Context, board *report.EntityBoard, bs []Budget) error {
	for i := range bs {
		if bs[i].Per == "" {
			continue
		}
		_, _, sts, err := board.Entities(ctx, bs[i].Name)
		if err != nil {
			return err
		}
		bs[i].Entities = SummaryOf(sts)
	}
	return nil
}

// EntityPage is one page of envelope budget name's entities: offset entities skipped, at most
// limit; report.ErrNoEnvelope when no budget of that name has per.
func (b BudgetService) EntityPage(ctx context.Context, name string, offset, limit int) (Entities, error) {
	if b.Entities == nil {
		return Entities{}, report.ErrNoEnvelope
	}
	bud, asOf, sts, err := b.Entities.Entities(ctx, name)
	if err != nil {
		return Entities{}, err
	}
	p := report.PeriodContaining(bud.Period, asOf, asOf.Location())
	out := Entities{AsOf: asOf, Currency: b.Currency, Budget: bud.Name, Per: bud.Per.String(), PeriodStart: p.Start, PeriodEnd: p.End,
		Total: len(sts), Offset: offset, Limit: limit, Entities: []Entity{}}
	for i := offset; i < len(sts) && i < offset+limit; i++ {
		out.Entities = append(out.Entities, EntityOf(sts[i]))
	}
	return out, nil
}
