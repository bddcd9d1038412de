package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// Decide asks the collector, before an AI request, whether it may go ahead and on which model
// (POST /v1/decide). It never blocks longer than DecideTimeout and never fails the caller: when
// the collector cannot answer in time the Decision is allow (or deny with DecideFailClosed) and
// says so in Unanswered. Answers are kept for DecideCacheTTL per who and what: a denial answers
// every request of the same who and what; an allow or degrade answers only requests without an
// estimate, because an estimate must reach the collector to be held against the budgets.
//
//	d := c.Decide(ctx, client.DecideRequest{UserID: user, Service: "QA_CHAT", Model: model,
//		InputTokens: promptTokens, MaxOutputTokens: 1024, EventID: eventID})
//	switch d.Decision {
//	case client.Deny:
//		return errBudgetExhausted
//	case client.Degrade:
//		model = d.Model
//	}

// Decisions.
const (
	Allow   = "allow"
	Degrade = "degrade"
	Deny    = "deny"
)

// DecideRequest is who and what a request is about, and optionally an estimate: EstimatedCost
// (a decimal string in the reporting currency) or InputTokens and MaxOutputTokens. EventID is the
// id the request's event will carry (Event.EventID): its arrival releases the estimate.
type DecideRequest struct {
	EventID         string            `json:"event_id,omitempty"`
	UserID          string            `json:"user_id,omitempty"`
	OrgID           string            `json:"org_id,omitempty"`
	Service         string            `json:"service,omitempty"`
	Model           string            `json:"model,omitempty"`
	Provider        string            `json:"provider,omitempty"`
	Endpoint        string            `json:"endpoint,omitempty"`
	Tags            map[string]string `json:"tags,omitempty"`
	EstimatedCost   string            `json:"estimated_cost,omitempty"`
	InputTokens     int64             `json:"input_tokens,omitempty"`
	MaxOutputTokens int64             `json:"max_output_tokens,omitempty"`
}

// hasEstimate reports whether the request carries an estimate for the collector to hold.
func (r DecideRequest) hasEstimate() bool {
	return r.EstimatedCost != "" || r.InputTokens > 0 || r.MaxOutputTokens > 0
}

// cacheKey is who and what, without the estimate and the event id.
func (r DecideRequest) cacheKey() string {
	keys := make([]string, 0, len(r.Tags))
	for k := range r.Tags {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	for _, s := range []string{r.UserID, r.OrgID, r.Service, r.Model, r.Provider, r.Endpoint} {
		b.WriteString(s)
		b.WriteByte(0)
	}
	for _, k := range keys {
		b.WriteString(k)
		b.WriteByte(1)
		b.WriteString(r.Tags[k])
		b.WriteByte(0)
	}
	return b.String()
}

// Decision is the collector's answer (see POST /v1/decide), or the client's own when the
// collector did not answer.
type Decision struct {
	Decision string           `json:"decision"`
	Model    string           `json:"model,omitempty"` // with Degrade: the model to use instead
	Budgets  []DecidingBudget `json:"budgets"`
	Estimate string           `json:"estimate"`
	AsOf     *time.Time       `json:"as_of"`
	// StalenessMS is how old the collector's spend was; Stale: older than its max_staleness,
	// and its on_stale setting decided.
	StalenessMS int64 `json:"staleness_ms"`
	Stale       bool  `json:"stale"`
	// Cached: answered from the client's cache. Unanswered: the collector did not answer (Err
	// says why) and the decision is the client's default (allow, or deny with DecideFailClosed).
	Cached     bool  `json:"-"`
	Unanswered bool  `json:"-"`
	Err        error `json:"-"`
}

// DecidingBudget is one enforced budget's part in a decision.
type DecidingBudget struct {
	Name      string    `json:"name"`
	Entity    string    `json:"entity,omitempty"`
	Decision  string    `json:"decision"`
	Spent     string    `json:"spent"`
	Limit     string    `json:"limit"`
	Percent   string    `json:"percent"`
	Remaining string    `json:"remaining"`
	ResetsAt  time.Time `json:"resets_at"`
}

// maxDecideCache bounds the cached answers; past it the cache starts again empty.
const maxDecideCache = 10_000

// decideCache keeps answers per who and what for a short time.
type decideCache struct {
	mu sync.Mutex
	m  map[string]cachedDecision
}

type cachedDecision struct {
	d       Decision
	expires time.Time
}

func (c *decideCache) get(key string, now time.Time) (Decision, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[key]
	if !ok || !now.Before(e.expires) {
		return Decision{}, false
	}
	return e.d, true
}

func (c *decideCache) put(key string, d Decision, expires time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= maxDecideCache {
		c.m = map[string]cachedDecision{}
	}
	c.m[key] = cachedDecision{d, expires}
}

// Decide asks the collector whether the request described by req may go ahead; see the
// comment at the top of this file.
func (c *Client) Decide(ctx context.Context, req DecideRequest) Decision {
	key := req.cacheKey()
	now := time.Now()
	if d, ok := c.decisions.get(key, now); ok && (d.Decision == Deny || !req.hasEstimate()) {
		d.Cached = true
		return d
	}
	d, err := c.askDecide(ctx, req)
	if err != nil {
		d = Decision{Decision: Allow, Unanswered: true, Err: err}
		if c.cfg.DecideFailClosed {
			d.Decision = Deny
		}
		return d
	}
	if c.cfg.DecideCacheTTL > 0 {
		c.decisions.put(key, d, now.Add(c.cfg.DecideCacheTTL))
	}
	return d
}

// askDecide does one POST /v1/decide within DecideTimeout.
func (c *Client) askDecide(ctx context.Context, req DecideRequest) (Decision, error) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.DecideTimeout)
	defer cancel()
	body, err := json.Marshal(req)
	if err != nil {
		return Decision{}, fmt.Errorf("encode decide request: %w", err)
	}
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(c.cfg.URL, "/")+"/v1/decide", bytes.NewReader(body))
	if err != nil {
		return Decision{}, err
	}
	hreq.Header.Set("Content-Type", "application/json")
	if c.cfg.Token != "" {
		hreq.Header.Set("Authorization", "Bearer "+c.cfg.Token)
	}
	resp, err := c.http.Do(hreq)
	if err != nil {
		return Decision{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return Decision{}, err
	}
	if resp.StatusCode != http.StatusOK {
		return Decision{}, fmt.Errorf("POST /v1/decide: %s: %s", resp.Status, strings.TrimSpace(string(b)))
	}
	var d Decision
	if err := json.Unmarshal(b, &d); err != nil {
		return Decision{}, fmt.Errorf("POST /v1/decide: %w", err)
	}
	switch d.Decision {
	case Allow, Degrade, Deny:
	default:
		return Decision{}, fmt.Errorf("POST /v1/decide: unknown decision %q", d.Decision)
	}
	return d, nil
}
