package report

import (
	"time"

	"github.com/shopspring/decimal"
)

// Event is one stored AI request as the reports list it (the workbook's Events sheets). Absent
// optional text (error, user, org, endpoint, tags) is "".
type Event struct {
	OccurredAt       time.Time
	EventID          string
	Service          string
	Model            string
	Provider         string
	InputTokens      int64 // includes cache reads and writes
	OutputTokens     int64 // includes reasoning
	CacheReadTokens  int64
	CacheWriteTokens int64
	ReasoningTokens  int64
	Cost             decimal.NullDecimal // reporting currency; invalid (NULL) = unpriced
	CostSource       string              // provider | local | none
	DurationMS       *int64              // nil: no duration reported
	Success          bool
	Error            string
	CacheHit         bool
	UserID           string
	OrgID            string
	Endpoint         string
	Tags             string // the tags as JSON text
}
