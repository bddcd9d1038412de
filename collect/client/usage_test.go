package client_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/aispend/aispend/collect"
	"github.com/aispend/aispend/collect/client"
)

// The recorded response bodies and the fields each must map to, shared with the TypeScript
// client's tests so that both mappers agree.
const usageTestdata = "../client-ts/testdata"

type usageCase struct {
	File string `json:"file"`
	API  string `json:"api"`
	Why  string `json:"why"`
	Want struct {
		Provider           string `json:"provider"`
		Model              string `json:"model"`
		InputTokens        int64  `json:"input_tokens"`
		OutputTokens       int64  `json:"output_tokens"`
		CacheReadTokens    int64  `json:"cache_read_tokens"`
		CacheWriteTokens   int64  `json:"cache_write_tokens"`
		CacheWrite1hTokens int64  `json:"cache_write_1h_tokens"`
		ReasoningTokens    int64  `json:"reasoning_tokens"`
	} `json:"want"`
}

func usageCases(t *testing.T) []usageCase {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(usageTestdata, "usage-cases.json"))
	if err != nil {
		t.Fatalf("read the recorded usage cases: %v", err)
	}
	var f struct{ Cases []usageCase }
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatalf("decode usage-cases.json: %v", err)
	}
	if len(f.Cases) < 7 {
		t.Fatalf("only %d usage cases", len(f.Cases))
	}
	return f.Cases
}

func parseResponse(t *testing.T, api string, body []byte) client.Event {
	t.Helper()
	var ev client.Event
	var err error
	switch api {
	case "openai-chat":
		ev, err = client.ParseOpenAIChat(body)
	case "openai-responses":
		ev, err = client.ParseOpenAIResponses(body)
	case "anthropic":
		ev, err = client.ParseAnthropic(body)
	case "gemini":
		ev, err = client.ParseGemini(body, "")
	default:
		t.Fatalf("unknown api %q", api)
	}
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

func eventTokens(ev client.Event) [6]int64 {
	return [6]int64{ev.InputTokens, ev.OutputTokens, ev.CacheReadTokens, ev.CacheWriteTokens, ev.CacheWrite1hTokens, ev.ReasoningTokens}
}

// Ensures each recorded response maps to the contract's token fields, through the Parse
// functions (whole body) and through the usage types' Apply (usage object alone).
func TestUsageMappersOnRecordedResponses(t *testing.T) {
	for _, tc := range usageCases(t) {
		t.Run(tc.File, func(t *testing.T) {
			body, err := os.ReadFile(filepath.Join(usageTestdata, tc.File))
			if err != nil {
				t.Fatal(err)
			}
			w := tc.Want
			want := [6]int64{w.InputTokens, w.OutputTokens, w.CacheReadTokens, w.CacheWriteTokens, w.CacheWrite1hTokens, w.ReasoningTokens}
			ev := parseResponse(t, tc.API, body)
			if got := eventTokens(ev); got != want || ev.Provider != w.Provider || ev.Model != w.Model {
				t.Errorf("Parse: %s %s %v, want %s %s %v (%s)", ev.Provider, ev.Model, got, w.Provider, w.Model, want, tc.Why)
			}

			var raw map[string]json.RawMessage
			if err := json.Unmarshal(body, &raw); err != nil {
				t.Fatal(err)
			}
			var applied client.Event
			var usage interface{ Apply(*client.Event) }
			key := "usage"
			switch tc.API {
			case "openai-chat":
				usage = &client.OpenAIChatUsage{}
			case "openai-responses":
				usage = &client.OpenAIResponsesUsage{}
			case "anthropic":
				usage = &client.AnthropicUsage{}
			case "gemini":
				usage, key = &client.GeminiUsageMetadata{}, "usageMetadata"
			}
			if err := json.Unmarshal(raw[key], usage); err != nil {
				t.Fatal(err)
			}
			usage.Apply(&applied)
			if got := eventTokens(applied); got != want {
				t.Errorf("Apply: %v, want %v (%s)", got, want, tc.Why)
			}
		})
	}
}

// Ensures the mappers keep the collector's rules whatever a provider reports: parts never
// exceed their whole, nothing is negative.
func TestUsageMappersClamp(t *testing.T) {
	tests := []struct {
		name  string
		apply func(*client.Event)
		want  [6]int64
	}{
		{"anthropic input is uncached plus reads plus writes", client.AnthropicUsage{InputTokens: 10, OutputTokens: 5, CacheReadInputTokens: 1000, CacheCreationInputTokens: 200}.Apply,
			[6]int64{1210, 5, 1000, 200, 0, 0}},
		{"anthropic breakdown only", func(ev *client.Event) {
			var u client.AnthropicUsage
			_ = json.Unmarshal([]byte(`{"input_tokens":3,"output_tokens":1,"cache_creation_input_tokens":null,"cache_creation":{"ephemeral_5m_input_tokens":40,"ephemeral_1h_input_tokens":60}}`), &u)
			u.Apply(ev)
		}, [6]int64{103, 1, 0, 100, 60, 0}},
		{"cached more than the prompt", func(ev *client.Event) {
			var u client.OpenAIChatUsage
			_ = json.Unmarshal([]byte(`{"prompt_tokens":100,"completion_tokens":10,"prompt_tokens_details":{"cached_tokens":150,"cache_write_tokens":20},"completion_tokens_details":{"reasoning_tokens":11}}`), &u)
			u.Apply(ev)
		}, [6]int64{100, 10, 100, 0, 0, 10}},
		{"cache writes beyond what reads leave", func(ev *client.Event) {
			var u client.OpenAIResponsesUsage
			_ = json.Unmarshal([]byte(`{"input_tokens":100,"output_tokens":10,"input_tokens_details":{"cached_tokens":60,"cache_write_tokens":70}}`), &u)
			u.Apply(ev)
		}, [6]int64{100, 10, 60, 40, 0, 0}},
		{"negative counts are zero", client.GeminiUsageMetadata{PromptTokenCount: -5, CandidatesTokenCount: 2, ThoughtsTokenCount: -1}.Apply,
			[6]int64{0, 2, 0, 0, 0, 0}},
		{"no usage at all", client.OpenAIChatUsage{}.Apply, [6]int64{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var ev client.Event
			tc.apply(&ev)
			if got := eventTokens(ev); got != tc.want {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

// Ensures Gemini responses without modelVersion take the requested model, and a body that is
// not JSON is an error naming the API.
func TestParseErrorsAndFallbacks(t *testing.T) {
	ev, err := client.ParseGemini([]byte(`{"usageMetadata":{"promptTokenCount":7,"candidatesTokenCount":3}}`), "gemini-2.5-flash")
	if err != nil || ev.Model != "gemini-2.5-flash" || ev.Provider != "google" || ev.InputTokens != 7 || ev.OutputTokens != 3 {
		t.Errorf("ParseGemini = %+v, %v", ev, err)
	}
	if _, err := client.ParseAnthropic([]byte(`<html>`)); err == nil {
		t.Error("ParseAnthropic accepted HTML")
	}
}

// Ensures the mapped events are valid for a real collector and stored with their tokens.
func TestMappedEventsStored(t *testing.T) {
	col := newCollector(t, collect.Config{})
	c := newClient(t, client.Config{URL: col.url()})
	cases := usageCases(t)
	for _, tc := range cases {
		body, err := os.ReadFile(filepath.Join(usageTestdata, tc.File))
		if err != nil {
			t.Fatal(err)
		}
		ev := parseResponse(t, tc.API, body)
		ev.EventID, ev.Service = "usage-"+tc.File, "USAGE_TEST"
		c.Log(ev)
	}
	closeClient(t, c)
	if got := c.Stats(); got != (client.Stats{Sent: int64(len(cases))}) {
		t.Fatalf("stats = %+v, want %d sent", got, len(cases))
	}
	for _, tc := range cases {
		var got [5]int64
		var provider, model string
		err := col.pool.QueryRow(t.Context(), `SELECT provider, model, input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, reasoning_tokens
			FROM events WHERE event_id = $1`, "usage-"+tc.File).Scan(&provider, &model, &got[0], &got[1], &got[2], &got[3], &got[4])
		if err != nil {
			t.Fatalf("%s: %v", tc.File, err)
		}
		w := tc.Want
		if want := [5]int64{w.InputTokens, w.OutputTokens, w.CacheReadTokens, w.CacheWriteTokens, w.ReasoningTokens}; got != want || provider != w.Provider || model != w.Model {
			t.Errorf("%s: stored %s %s %v, want %s %s %v", tc.File, provider, model, got, w.Provider, w.Model, want)
		}
	}
}
