package client_test

import (
	"fmt"

	"github.com/aispend/aispend/collect/client"
)

// An Anthropic response's input_tokens excludes the cache; the event's includes it.
func ExampleParseAnthropic() {
	body := []byte(`{"id":"msg_01","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929",
		"content":[{"type":"text","text":"…"}],"stop_reason":"end_turn",
		"usage":{"input_tokens":50,"cache_read_input_tokens":100000,"cache_creation_input_tokens":248,"output_tokens":1503}}`)
	ev, err := client.ParseAnthropic(body)
	if err != nil {
		fmt.Println(err)
		return
	}
	ev.Service = "QA_CHAT" // then c.Log(ev)
	fmt.Println(ev.Provider, ev.Model, ev.InputTokens, ev.CacheReadTokens, ev.CacheWriteTokens, ev.OutputTokens)
	// Output: anthropic claude-sonnet-4-5-20250929 100298 100000 248 1503
}
