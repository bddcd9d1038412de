package client

import (
	"encoding/json"
	"fmt"
)

// Usage mappers: the token counts of the provider APIs in aispend's terms. The TypeScript
// client (collect/client-ts/src/usage.ts) has the same mappers, and both are tested on the same
// recorded response bodies (collect/client-ts/testdata).
//
// aispend follows the OpenTelemetry GenAI convention: InputTokens counts every input token,
// cached ones included, and CacheReadTokens / CacheWriteTokens are parts of it; OutputTokens
// counts every output token, reasoning included, and ReasoningTokens is a part of it. The
// providers disagree with that and with each other:
//
//   - OpenAI (Chat Completions and Responses): prompt/input tokens already include the cached
//     ones, completion/output tokens already include reasoning. Taken as they are.
//   - Anthropic Messages: input_tokens EXCLUDES cache reads and writes; the total input is
//     input_tokens + cache_read_input_tokens + cache_creation_input_tokens.
//   - Gemini: promptTokenCount includes cachedContentTokenCount, but thoughtsTokenCount is not
//     part of candidatesTokenCount (nor toolUsePromptTokenCount part of promptTokenCount),
//     although all are billed.
//
// The types below hold only the fields read, with the providers' JSON names, so that an
// application can unmarshal a response body (or an SDK's raw JSON of it) into them. Counts
// that a provider reports inconsistently are clamped so that parts never exceed their whole:
// an event that broke that rule would be refused by the collector and its request lost from
// the books.

// OpenAIChatUsage is the usage object of an OpenAI Chat Completions response (or of a stream's
// last chunk, with stream_options.include_usage).
type OpenAIChatUsage struct {
	PromptTokens        int64 `json:"prompt_tokens"`
	CompletionTokens    int64 `json:"completion_tokens"`
	PromptTokensDetails *struct {
		CachedTokens     int64 `json:"cached_tokens"`
		CacheWriteTokens int64 `json:"cache_write_tokens"`
	} `json:"prompt_tokens_details"`
	CompletionTokensDetails *struct {
		ReasoningTokens int64 `json:"reasoning_tokens"`
	} `json:"completion_tokens_details"`
}

// Apply sets ev's token fields from u.
func (u OpenAIChatUsage) Apply(ev *Event) {
	t := tokens{input: u.PromptTokens, output: u.CompletionTokens}
	if d := u.PromptTokensDetails; d != nil {
		t.cacheRead, t.cacheWrite = d.CachedTokens, d.CacheWriteTokens
	}
	if d := u.CompletionTokensDetails; d != nil {
		t.reasoning = d.ReasoningTokens
	}
	t.apply(ev)
}

// OpenAIResponsesUsage is the usage object of an OpenAI Responses API response.
type OpenAIResponsesUsage struct {
	InputTokens        int64 `json:"input_tokens"`
	OutputTokens       int64 `json:"output_tokens"`
	InputTokensDetails *struct {
		CachedTokens     int64 `json:"cached_tokens"`
		CacheWriteTokens int64 `json:"cache_write_tokens"`
	} `json:"input_tokens_details"`
	OutputTokensDetails *struct {
		ReasoningTokens int64 `json:"reasoning_tokens"`
	} `json:"output_tokens_details"`
}

// Apply sets ev's token fields from u.
func (u OpenAIResponsesUsage) Apply(ev *Event) {
	t := tokens{input: u.InputTokens, output: u.OutputTokens}
	if d := u.InputTokensDetails; d != nil {
		t.cacheRead, t.cacheWrite = d.CachedTokens, d.CacheWriteTokens
	}
	if d := u.OutputTokensDetails; d != nil {
		t.reasoning = d.ReasoningTokens
	}
	t.apply(ev)
}

// AnthropicUsage is the usage object of an Anthropic Messages response. Its InputTokens is the
// uncached input only.
type AnthropicUsage struct {
	InputTokens              int64 `json:"input_tokens"`
	OutputTokens             int64 `json:"output_tokens"`
	CacheReadInputTokens     int64 `json:"cache_read_input_tokens"`
	CacheCreationInputTokens int64 `json:"cache_creation_input_tokens"`
	CacheCreation            *struct {
		Ephemeral5mInputTokens int64 `json:"ephemeral_5m_input_tokens"`
		Ephemeral1hInputTokens int64 `json:"ephemeral_1h_input_tokens"`
	} `json:"cache_creation"`
	OutputTokensDetails *struct {
		ThinkingTokens int64 `json:"thinking_tokens"`
	} `json:"output_tokens_details"`
}

// Apply sets ev's token fields from u: InputTokens becomes the sum of the uncached input, the
// cache reads and the cache writes.
func (u AnthropicUsage) Apply(ev *Event) {
	read, write := pos(u.CacheReadInputTokens), pos(u.CacheCreationInputTokens)
	var w5m, w1h int64
	if c := u.CacheCreation; c != nil {
		w5m, w1h = pos(c.Ephemeral5mInputTokens), pos(c.Ephemeral1hInputTokens)
	}
	// The breakdown and the total agree in every response seen; should only the breakdown come
	// back, it is the total.
	if write == 0 {
		write = w5m + w1h
	}
	t := tokens{input: pos(u.InputTokens) + read + write, output: u.OutputTokens, cacheRead: read, cacheWrite: write, cacheWrite1h: w1h}
	if d := u.OutputTokensDetails; d != nil {
		t.reasoning = d.ThinkingTokens
	}
	t.apply(ev)
}

// GeminiUsageMetadata is the usageMetadata of a Gemini generateContent response.
type GeminiUsageMetadata struct {
	PromptTokenCount        int64 `json:"promptTokenCount"`
	CachedContentTokenCount int64 `json:"cachedContentTokenCount"`
	CandidatesTokenCount    int64 `json:"candidatesTokenCount"`
	ThoughtsTokenCount      int64 `json:"thoughtsTokenCount"`
	ToolUsePromptTokenCount int64 `json:"toolUsePromptTokenCount"`
}

// Apply sets ev's token fields from u: tool-use prompt tokens join the input and thought
// tokens join the output, as Gemini bills them.
func (u GeminiUsageMetadata) Apply(ev *Event) {
	thoughts := pos(u.ThoughtsTokenCount)
	tokens{
		input:     pos(u.PromptTokenCount) + pos(u.ToolUsePromptTokenCount),
		output:    pos(u.CandidatesTokenCount) + thoughts,
		cacheRead: u.CachedContentTokenCount,
		reasoning: thoughts,
	}.apply(ev)
}

// ParseOpenAIChat reads an OpenAI Chat Completions response body (or a stream's last chunk)
// into an event with Provider, Model and the token fields set; the caller adds Service and the
// rest. A response without usage gives zero tokens.
func ParseOpenAIChat(body []byte) (Event, error) {
	var r struct {
		Model string          `json:"model"`
		Usage OpenAIChatUsage `json:"usage"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return Event{}, fmt.Errorf("parse OpenAI chat completion: %w", err)
	}
	ev := Event{Provider: "openai", Model: r.Model}
	r.Usage.Apply(&ev)
	return ev, nil
}

// ParseOpenAIResponses reads an OpenAI Responses API response body into an event with
// Provider, Model and the token fields set.
func ParseOpenAIResponses(body []byte) (Event, error) {
	var r struct {
		Model string               `json:"model"`
		Usage OpenAIResponsesUsage `json:"usage"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return Event{}, fmt.Errorf("parse OpenAI response: %w", err)
	}
	ev := Event{Provider: "openai", Model: r.Model}
	r.Usage.Apply(&ev)
	return ev, nil
}

// ParseAnthropic reads an Anthropic Messages response body into an event with Provider, Model
// and the token fields set.
func ParseAnthropic(body []byte) (Event, error) {
	var r struct {
		Model string         `json:"model"`
		Usage AnthropicUsage `json:"usage"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return Event{}, fmt.Errorf("parse Anthropic message: %w", err)
	}
	ev := Event{Provider: "anthropic", Model: r.Model}
	r.Usage.Apply(&ev)
	return ev, nil
}

// ParseGemini reads a Gemini generateContent response body into an event with Provider
// ("google"), Model (the response's modelVersion, else model: the one requested) and the
// token fields set.
func ParseGemini(body []byte, model string) (Event, error) {
	var r struct {
		ModelVersion  string              `json:"modelVersion"`
		UsageMetadata GeminiUsageMetadata `json:"usageMetadata"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return Event{}, fmt.Errorf("parse Gemini response: %w", err)
	}
	ev := Event{Provider: "google", Model: r.ModelVersion}
	if ev.Model == "" {
		ev.Model = model
	}
	r.UsageMetadata.Apply(&ev)
	return ev, nil
}

type tokens struct {
	input, output, cacheRead, cacheWrite, cacheWrite1h, reasoning int64
}

// apply sets the token fields, keeping the collector's invariants: no count below zero, and
// no part larger than its whole.
func (t tokens) apply(ev *Event) {
	in, out := pos(t.input), pos(t.output)
	read := min(pos(t.cacheRead), in)
	write := min(pos(t.cacheWrite), in-read)
	ev.InputTokens, ev.OutputTokens = in, out
	ev.CacheReadTokens, ev.CacheWriteTokens = read, write
	ev.CacheWrite1hTokens = min(pos(t.cacheWrite1h), write)
	ev.ReasoningTokens = min(pos(t.reasoning), out)
}

func pos(n int64) int64 { return max(n, 0) }
