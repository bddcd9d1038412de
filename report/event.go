package report

import (
	"time"

	"github.com/shopspring/decimal"
)

// Event is one stored AI request as the reports list it (the workbook's Events sheets and the
// events CSV take it as it is). Absent optional text (error, user, org, endpoint, tags) is "".
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

// RawEvent is an Event in the text that PostgreSQL prints for its values, for writers that print
// them again (the events CSV of a large period: no decoding and re-formatting of each of millions
// of values). The slices are valid only during the call they are given to. Counts and the
// duration are decimal digits (DurationMS nil: none); Cost is the exact decimal without trailing
// zeros, nil when unpriced; absent text is nil.
type RawEvent struct {
	OccurredAt                                                                    time.Time
	EventID, Service, Model, Provider                                             []byte
	InputTokens, OutputTokens, CacheReadTokens, CacheWriteTokens, ReasoningTokens []byte
	Cost, CostSource, DurationMS                                                  []byte
	Success                                                                       bool
	Error                                                                         []byte
	CacheHit                                                                      bool
	UserID, OrgID, Endpoint, Tags                                                 []byte
}
