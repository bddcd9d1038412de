package channel

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aispend/aispend/report"
)

// slackTypes is the folder holding Slack's published Block Kit types and the TypeScript compiler,
// pinned (make slack-types).
const slackTypes = "slacktypes"

// tscCheck type-checks the Slack payloads against @slack/types with the pinned compiler: each is
// written as a TypeScript object literal typed as an incoming webhook message ({text, blocks:
// KnownBlock[]}), so a block of an unknown type, a field Slack does not define or a text object
// of the wrong kind is a compile error.
func tscCheck(t *testing.T, payloads []SlackPayload) (string, error) {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("the Slack type check needs Node.js: %v", err)
	}
	tsc := filepath.Join(slackTypes, "node_modules", "typescript", "bin", "tsc")
	if _, err := os.Stat(filepath.Join(slackTypes, "node_modules", "@slack", "types", "package.json")); err != nil {
		t.Fatalf("@slack/types is not installed: run `make slack-types`: %v", err)
	}
	// Inside the folder, so that the compiler finds its node_modules.
	dir, err := os.MkdirTemp(slackTypes, "check-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	var b strings.Builder
	b.WriteString("import type { KnownBlock } from \"@slack/types\";\n")
	b.WriteString("interface IncomingWebhookMessage { text: string; blocks: KnownBlock[] }\n")
	for i, p := range payloads {
		js, err := json.MarshalIndent(p, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "export const m%d: IncomingWebhookMessage = %s;\n", i, js)
	}
	file := filepath.Join(dir, "payloads.ts")
	if err := os.WriteFile(file, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(node, tsc, "--noEmit", "--strict", "--target", "es2022", "--module", "nodenext",
		"--moduleResolution", "nodenext", "--types", "", file).CombinedOutput()
	return string(out), err
}

// Ensures every Slack message aispend sends type-checks against Slack's published Block Kit
// types, and that the check refuses a block Slack does not accept.
func TestSlackMessagesTypeCheck(t *testing.T) {
	withLink := alertMessage(report.Actual)
	noLink := alertMessage(report.Forecast)
	noLink.ReportURL = ""
	local := alertMessage(report.Actual)
	local.LocalLinks = true
	payloads := []SlackPayload{SlackMessage(withLink), SlackMessage(noLink), SlackMessage(local), SlackMessage(alertMessage(report.BurnRate)),
		SlackMessage(TestMessage(time.Now(), time.UTC, "USD", "inst", "https://r.example.com/daily/"))}
	if out, err := tscCheck(t, payloads); err != nil {
		t.Fatalf("Slack messages do not type-check against @slack/types: %v\n%s", err, out)
	}
	// A header's text must be plain_text: the same check refuses mrkdwn there.
	bad := SlackMessage(withLink)
	bad.Blocks[0]["text"] = map[string]any{"type": "mrkdwn", "text": "x"}
	if out, err := tscCheck(t, []SlackPayload{bad}); err == nil || !strings.Contains(out, "mrkdwn") {
		t.Fatalf("the type check accepts a mrkdwn header:\n%s", out)
	}
}
