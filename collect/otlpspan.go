package collect

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// The attributes POST /v1/traces reads: the OpenTelemetry GenAI semantic conventions (with the
// older names they replaced) and aispend's own for what the conventions do not cover. The
// README's "From OpenTelemetry" section documents the mapping; keep the two together.
const (
	attrInputTokens      = "gen_ai.usage.input_tokens"
	attrOutputTokens     = "gen_ai.usage.output_tokens"
	attrPromptTokens     = "gen_ai.usage.prompt_tokens"     // older name of input_tokens
	attrCompletionTokens = "gen_ai.usage.completion_tokens" // older name of output_tokens
	attrCacheRead        = "gen_ai.usage.cache_read.input_tokens"
	attrCacheCreation    = "gen_ai.usage.cache_creation.input_tokens"
	attrReasoning        = "gen_ai.usage.reasoning.output_tokens"
	attrResponseModel    = "gen_ai.response.model"
	attrRequestModel     = "gen_ai.request.model"
	attrProvider         = "gen_ai.provider.name"
	attrSystem           = "gen_ai.system" // older name of gen_ai.provider.name
	attrErrorType        = "error.type"
	attrService          = "aispend.service"
	attrServiceName      = "service.name" // a resource attribute
	attrUserID           = "user.id"
	attrEndUserID        = "enduser.id" // older name of user.id
	attrOrgID            = "aispend.org_id"
	attrEndpoint         = "aispend.endpoint"
	attrCacheHit         = "aispend.cache_hit"
	attrTagPrefix        = "aispend.tag."
)

// spanSource names, for each event field, where a span's value for it comes from: refusals
// name what the exporter sent, not our wire fields.
var spanSource = map[string]string{
	"event_id":           "trace_id / span_id",
	"occurred_at":        "end_time_unix_nano",
	"service":            attrService + " / resource " + attrServiceName,
	"model":              attrResponseModel + " / " + attrRequestModel,
	"provider":           attrProvider + " / " + attrSystem,
	"input_tokens":       attrInputTokens + " / " + attrPromptTokens,
	"output_tokens":      attrOutputTokens + " / " + attrCompletionTokens,
	"cache_read_tokens":  attrCacheRead,
	"cache_write_tokens": attrCacheCreation,
	"reasoning_tokens":   attrReasoning,
	"duration_ms":        "start_time_unix_nano / end_time_unix_nano",
	"error":              attrErrorType + " / status.message",
	"user_id":            attrUserID + " / " + attrEndUserID,
	"org_id":             attrOrgID,
	"endpoint":           attrEndpoint,
	"cache_hit":          attrCacheHit,
	"tags":               attrTagPrefix + "*",
}

// spanMapping is what the spans of one export request became.
type spanMapping struct {
	rows     []Row          // valid GenAI spans, validated and priced
	ignored  int            // spans without GenAI usage
	rejected []rejectedSpan // GenAI spans that failed validation
}

type rejectedSpan struct {
	id       string // trace_id:span_id
	problems []Problem
}

// mapSpans turns every span with GenAI usage into a row; tooMany reports more than max of them.
func mapSpans(td ptrace.Traces, rules Rules, max int) (m spanMapping, tooMany bool) {
	n := 0
	rss := td.ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		res := rss.At(i).Resource().Attributes()
		sss := rss.At(i).ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			spans := sss.At(j).Spans()
			for k := 0; k < spans.Len(); k++ {
				sp := spans.At(k)
				if !hasUsage(sp.Attributes()) {
					m.ignored++
					continue
				}
				if n == max {
					return m, true
				}
				if row, ps := spanRow(n, sp, res, rules); len(ps) > 0 {
					m.rejected = append(m.rejected, rejectedSpan{id: sp.TraceID().String() + ":" + sp.SpanID().String(), problems: ps})
				} else {
					m.rows = append(m.rows, row)
				}
				n++
			}
		}
	}
	return m, false
}

// hasUsage tells whether a span reports GenAI token usage: an input or output count, under the
// current or the older name. Other spans (HTTP, database, a tool call) describe no cost.
func hasUsage(a pcommon.Map) bool {
	for _, k := range []string{attrInputTokens, attrOutputTokens, attrPromptTokens, attrCompletionTokens} {
		if _, ok := a.Get(k); ok {
			return true
		}
	}
	return false
}

// spanEventID derives the event id from the span's identity, so that an exporter's retry of
// the same span is a duplicate.
func spanEventID(sp ptrace.Span) string {
	return "otel:" + sp.TraceID().String() + ":" + sp.SpanID().String()
}

// spanRow maps one GenAI span to an event and validates it with the rules of POST /v1/events.
// Problems name the span's attributes.
func spanRow(index int, sp ptrace.Span, res pcommon.Map, rules Rules) (Row, []Problem) {
	m := &spanMapper{index: index, attrs: sp.Attributes(), res: res, ev: NewEvent()}
	m.timing(sp)
	m.tokens()
	m.outcome(sp)
	m.who()
	return m.validate(rules)
}

// spanMapper fills the event of one span, collecting the problems it finds on the way.
type spanMapper struct {
	index      int
	attrs, res pcommon.Map
	ev         Event
	ps         []Problem
}

func (m *spanMapper) bad(field, format string, args ...any) {
	m.ps = append(m.ps, Problem{Index: m.index, Field: spanSource[field], Message: fmt.Sprintf(format, args...)})
}

// timing sets the event's id (from the span's identity), time (its end) and duration.
func (m *spanMapper) timing(sp ptrace.Span) {
	if sp.TraceID().IsEmpty() || sp.SpanID().IsEmpty() {
		m.bad("event_id", "the span has no trace id or span id")
	} else {
		m.ev.EventID = spanEventID(sp)
	}
	start, end := sp.StartTimestamp(), sp.EndTimestamp()
	switch {
	case end == 0:
		m.bad("occurred_at", "required: the span has no end time")
	case start == 0:
		m.bad("duration_ms", "the span has no start time")
	case end < start:
		m.bad("duration_ms", "the span ends before it starts")
	default:
		m.ev.DurationMS = Count((end - start) / pcommon.Timestamp(time.Millisecond))
	}
	if end != 0 && end <= math.MaxInt64 {
		m.ev.OccurredAt = end.AsTime().UTC().Format(time.RFC3339Nano)
	} else if end != 0 {
		m.bad("occurred_at", "the span's end time is out of range")
	}
}

// count is the first of the integer attributes keys the span has; absent when it has none.
func (m *spanMapper) count(field string, keys ...string) Count {
	for _, k := range keys {
		v, ok := m.attrs.Get(k)
		if !ok {
			continue
		}
		n, ok := intValue(v)
		if !ok {
			m.bad(field, "%s must be an integer, got %s", k, v.AsString())
			return 0 // reported; keep validation from adding "required"
		}
		return Count(sent(n)) // a sent -9223372036854775808 is negative, not absent
	}
	return absent
}

// tokens sets the service, model and provider, and the token counts.
func (m *spanMapper) tokens() {
	attrs, res := m.attrs, m.res
	m.ev.Service = first(stringAttr(attrs, res, attrService), stringAttr(res, res, attrServiceName))
	m.ev.Model = first(stringAttr(attrs, attrs, attrResponseModel), stringAttr(attrs, attrs, attrRequestModel))
	m.ev.Provider = first(stringAttr(attrs, attrs, attrProvider), stringAttr(attrs, attrs, attrSystem))
	// A span with usage may carry only one of the two counts (an embeddings call has no
	// output): the other is zero, not missing.
	m.ev.InputTokens = orZero(m.count("input_tokens", attrInputTokens, attrPromptTokens))
	m.ev.OutputTokens = orZero(m.count("output_tokens", attrOutputTokens, attrCompletionTokens))
	m.ev.CacheReadTokens = m.count("cache_read_tokens", attrCacheRead)
	m.ev.CacheWriteTokens = m.count("cache_write_tokens", attrCacheCreation)
	m.ev.ReasoningTokens = m.count("reasoning_tokens", attrReasoning)
}

// outcome sets success and the error from the span's status and error.type.
func (m *spanMapper) outcome(sp ptrace.Span) {
	errType := stringAttr(m.attrs, m.attrs, attrErrorType)
	failed := sp.Status().Code() == ptrace.StatusCodeError || errType != ""
	m.ev.Success = !failed
	if failed {
		msg := ""
		if sp.Status().Code() == ptrace.StatusCodeError {
			msg = sp.Status().Message() // the API ignores a description on any other status
		}
		m.ev.Error = spanError(errType, msg)
	}
}

// who sets the user, organisation, endpoint, cache hit and tags.
func (m *spanMapper) who() {
	attrs, res := m.attrs, m.res
	m.ev.UserID = first(stringAttr(attrs, res, attrUserID), stringAttr(attrs, res, attrEndUserID))
	m.ev.OrgID = stringAttr(attrs, res, attrOrgID)
	m.ev.Endpoint = stringAttr(attrs, res, attrEndpoint)
	if v, ok := lookup(attrs, res, attrCacheHit); ok {
		if v.Type() == pcommon.ValueTypeBool {
			m.ev.CacheHit = v.Bool()
		} else {
			m.bad("cache_hit", "must be a boolean, got %s", v.AsString())
		}
	}
	m.ev.Tags = spanTags(attrs, res)
}

// validate validates the event with the rules of POST /v1/events, its problems named by the
// span's attributes; a field already refused while mapping is not reported twice.
func (m *spanMapper) validate(rules Rules) (Row, []Problem) {
	row, vps := m.ev.Validate(m.index, rules)
	for _, p := range vps {
		field := spanSource[p.Field]
		if field == "" {
			field = p.Field
		}
		if !hasField(m.ps, field) {
			m.ps = append(m.ps, Problem{Index: m.index, Field: field, Message: p.Message})
		}
	}
	if len(m.ps) > 0 {
		return Row{}, m.ps
	}
	return row, nil
}

func hasField(ps []Problem, field string) bool {
	for _, p := range ps {
		if p.Field == field {
			return true
		}
	}
	return false
}

func orZero(n Count) Count {
	if n == absent {
		return 0
	}
	return n
}

// lookup finds key among the span's attributes, then the resource's.
func lookup(span, res pcommon.Map, key string) (pcommon.Value, bool) {
	if v, ok := span.Get(key); ok {
		return v, true
	}
	return res.Get(key)
}

// stringAttr is the value of key (span first, then res) as text; pass the same map twice to
// read a span-only attribute.
func stringAttr(span, res pcommon.Map, key string) string {
	if v, ok := lookup(span, res, key); ok {
		return validUTF8(v.AsString())
	}
	return ""
}

// intValue reads a token count. Integers are what the conventions specify; JavaScript SDKs
// send a whole number as an integer too, but other languages' SDKs and hand-written
// instrumentation send doubles or decimal strings, which are taken when they hold an integer.
func intValue(v pcommon.Value) (int64, bool) {
	switch v.Type() {
	case pcommon.ValueTypeInt:
		return v.Int(), true
	case pcommon.ValueTypeDouble:
		f := v.Double()
		if f == math.Trunc(f) && f >= -(1<<63) && f < 1<<63 {
			return int64(f), true
		}
	case pcommon.ValueTypeStr:
		if n, err := strconv.ParseInt(strings.TrimSpace(v.Str()), 10, 64); err == nil {
			return n, true
		}
	}
	return 0, false
}

// spanError joins error.type and the status message ("rate_limit: Too many requests"). It is
// cut to the event's limit rather than refused: a long exception text must not lose the cost.
func spanError(errType, msg string) string {
	s := errType
	switch {
	case s == "":
		s = msg
	case msg != "" && msg != errType:
		s += ": " + msg
	}
	// PostgreSQL text holds no NUL; validation would refuse the span for it.
	s = validUTF8(strings.ReplaceAll(s, "\x00", "\uFFFD"))
	if utf8.RuneCountInString(s) > maxErrorLen {
		s = string([]rune(s)[:maxErrorLen-1]) + "…"
	}
	return s
}

// spanTags collects aispend.tag.KEY attributes, the span's over the resource's.
func spanTags(span, res pcommon.Map) map[string]string {
	var tags map[string]string
	add := func(m pcommon.Map) {
		m.Range(func(k string, v pcommon.Value) bool {
			if key, ok := strings.CutPrefix(k, attrTagPrefix); ok {
				if tags == nil {
					tags = map[string]string{}
				}
				tags[validUTF8(key)] = validUTF8(v.AsString())
			}
			return true
		})
	}
	add(res)
	add(span)
	return tags
}

// rejectedMessage explains the refused spans in the partial_success error_message: which span,
// which attribute, why, for the first few.
func (m *spanMapping) rejectedMessage() string {
	const shown = 5
	var b strings.Builder
	fmt.Fprintf(&b, "%d of %d spans with GenAI usage refused (the others are stored): ", len(m.rejected), len(m.rejected)+len(m.rows))
	for i, r := range m.rejected {
		if i == shown {
			fmt.Fprintf(&b, "; and %d more", len(m.rejected)-shown)
			break
		}
		if i > 0 {
			b.WriteString("; ")
		}
		fmt.Fprintf(&b, "span %s:", r.id)
		for j, p := range r.problems {
			if j > 0 {
				b.WriteString(",")
			}
			fmt.Fprintf(&b, " %s: %s", p.Field, p.Message)
		}
	}
	return b.String()
}

// validUTF8 replaces invalid UTF-8, which the protobuf decoder lets through and PostgreSQL
// text refuses: one such span must not fail the commit of the others.
func validUTF8(s string) string { return strings.ToValidUTF8(s, "\uFFFD") }
