package client

import (
	"encoding/json"
	"time"

	"github.com/shopspring/decimal"
)

// Event is one AI request, in the shape of the collector's wire format (POST /v1/events, whose
// contract is collect/openapi.json).
// The zero value of every optional field means "not reported". Three fields differ from the
// wire on purpose, so that a zero value is never a lie:
//
//   - Failed marks a failed request; the zero value is a success (wire: success = !Failed).
//   - Duration is a time.Duration; zero means "not measured", any positive value is sent as
//     whole milliseconds (duration_ms).
//   - Cost is a pointer: nil lets the collector price the event from its price table; a
//     non-nil Cost is authoritative and sent as an exact decimal string.
//
// EventID and OccurredAt are filled in by Client.Log when left empty.
type Event struct {
	// EventID is the idempotency key (1–128 characters). Empty: Log assigns a UUIDv7.
	EventID string `json:"event_id"`
	// OccurredAt is when the AI request happened. Zero: Log uses time.Now().
	OccurredAt time.Time `json:"occurred_at"`
	// Service names the feature that made the request, e.g. QA_CHAT ([A-Za-z0-9_.:-], ≤ 64).
	Service string `json:"service"`
	// Model is the model name, e.g. claude-sonnet-4-5.
	Model string `json:"model"`
	// Provider is e.g. anthropic or openai.
	Provider string `json:"provider,omitempty"`
	// InputTokens includes cached tokens (read and written), as in OpenTelemetry GenAI.
	InputTokens int64 `json:"input_tokens"`
	// OutputTokens includes reasoning tokens.
	OutputTokens int64 `json:"output_tokens"`
	// CacheReadTokens and CacheWriteTokens are the parts of InputTokens read from and written
	// to the provider's prompt cache; CacheWrite1hTokens is the part of CacheWriteTokens
	// written with a 1-hour lifetime (Anthropic). The usage mappers (usage.go) fill them in.
	CacheReadTokens    int64 `json:"cache_read_tokens,omitempty"`
	CacheWriteTokens   int64 `json:"cache_write_tokens,omitempty"`
	CacheWrite1hTokens int64 `json:"cache_write_1h_tokens,omitempty"`
	// ReasoningTokens is the part of OutputTokens spent on reasoning ("thinking").
	ReasoningTokens int64 `json:"reasoning_tokens,omitempty"`
	// Cost, when set, is what the provider charged; it overrides the collector's price table.
	Cost *decimal.Decimal `json:"cost,omitempty"`
	// Currency of Cost (ISO 4217); empty means the collector's reporting currency.
	Currency string `json:"currency,omitempty"`
	// Duration of the AI request; zero means not measured.
	Duration time.Duration `json:"-"`
	// Failed marks a request that failed; Error may say why.
	Failed bool   `json:"-"`
	Error  string `json:"error,omitempty"`
	// CacheHit means the application answered from its own cache.
	CacheHit bool              `json:"cache_hit,omitempty"`
	UserID   string            `json:"user_id,omitempty"`
	OrgID    string            `json:"org_id,omitempty"`
	Endpoint string            `json:"endpoint,omitempty"`
	Tags     map[string]string `json:"tags,omitempty"`
}

// MarshalJSON writes the collector's wire format: occurred_at as RFC 3339 with nanoseconds,
// success = !Failed, duration_ms from Duration, cost as a decimal string.
func (e Event) MarshalJSON() ([]byte, error) {
	type plain Event // the same fields without this method
	w := struct {
		plain
		// Shallower fields win over the embedded ones with the same JSON name.
		OccurredAt string  `json:"occurred_at"`
		Cost       *string `json:"cost,omitempty"`
		Success    bool    `json:"success"`
		DurationMS *int64  `json:"duration_ms,omitempty"`
	}{plain: plain(e), OccurredAt: e.OccurredAt.Format(time.RFC3339Nano), Success: !e.Failed}
	if e.Cost != nil {
		// String() never uses an exponent or a float, so the collector receives the exact digits.
		s := e.Cost.String()
		w.Cost = &s
	}
	if e.Duration > 0 {
		ms := e.Duration.Milliseconds()
		w.DurationMS = &ms
	}
	return json.Marshal(w)
}
