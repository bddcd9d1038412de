package collect

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/aispend/aispend/report"
	"github.com/aispend/aispend/report/api"
)

// EntitySource pages through an envelope budget's entities for GET /v1/budgets/{name}/entities
// (report/api's BudgetService); report.ErrNoEnvelope for a name that is no envelope budget.
type EntitySource interface {
	EntityPage(ctx context.Context, name string, offset, limit int) (api.Entities, error)
}

// handleEntities is GET /v1/budgets/{name}/entities?offset=&limit=: one page of an envelope
// budget's entities, nearest to or over their envelope first.
func (s *Server) handleEntities() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		src, ok := s.budgets.(EntitySource)
		if !ok {
			writeError(w, http.StatusNotFound, "no budgets configured", nil)
			return
		}
		vals, err := url.ParseQuery(r.URL.RawQuery)
		if err != nil {
			writeProblems(w, http.StatusBadRequest, "malformed query string", []queryProblem{{Field: "query", Message: err.Error()}})
			return
		}
		qp := &queryParser{vals: vals}
		qp.checkNames([]string{"offset", "limit"})
		limit := qp.limit()
		offset := 0
		if v, ok := qp.get("offset"); ok {
			if offset, err = strconv.Atoi(v); err != nil || offset < 0 {
				qp.bad("offset", "%q: want an integer ≥ 0", v)
			}
		}
		if len(qp.problems) > 0 {
			writeProblems(w, http.StatusBadRequest, fmt.Sprintf("%d invalid query parameter(s)", len(qp.problems)), qp.problems)
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), readTimeout)
		defer cancel()
		page, err := src.EntityPage(ctx, r.PathValue("name"), offset, limit)
		switch {
		case errors.Is(err, report.ErrNoEnvelope):
			writeError(w, http.StatusNotFound, fmt.Sprintf("no budget %q with per", r.PathValue("name")), nil)
		case err != nil:
			if r.Context().Err() != nil {
				return // the client went away
			}
			s.log.Error("budget entities", "budget", r.PathValue("name"), "error", err)
			w.Header().Set("Retry-After", "5")
			writeError(w, http.StatusServiceUnavailable, "budget entities unavailable; retry later", nil)
		default:
			w.Header().Set("Cache-Control", "private, no-store")
			writeJSON(w, http.StatusOK, page)
		}
	})
}

// mayRead tells whether r may read spend by entity: a read or admin token, or no token of any
// kind configured (the loopback-only mode).
func (s *Server) mayRead(r *http.Request) bool {
	if s.open(readToken) {
		return true
	}
	got, ok := bearer(r.Header.Get("Authorization"))
	return ok && s.kindOf(got)&(readToken|adminToken) != 0
}

// withoutNearest drops the entities named in GET /v1/budgets, keeping their counts.
func withoutNearest(bs []api.Budget) {
	for i := range bs {
		if e := bs[i].Entities; e != nil {
			bs[i].Entities = &api.EntitySummary{Count: e.Count, Exceeded: e.Exceeded}
		}
	}
}
