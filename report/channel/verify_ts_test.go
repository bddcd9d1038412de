package channel

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Ensures the README's TypeScript verification (verify.ts) compiles with the pinned compiler and
// agrees with Sign and Verify: it accepts a signature aispend made and refuses a tampered body,
// another secret and a replay older than 5 minutes.
func TestVerifyTypeScript(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("needs Node.js: %v", err)
	}
	if _, err := os.Stat(filepath.Join(slackTypes, "node_modules", "@types", "node", "package.json")); err != nil {
		t.Fatalf("Node's types are not installed: run `make slack-types`: %v", err)
	}
	dir, err := os.MkdirTemp(slackTypes, "verify-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	src, err := os.ReadFile("verify.ts")
	if err != nil {
		t.Fatal(err)
	}
	secret, body := "whsec-0123456789abcdef", `{"version":1,"type":"test","summary":"₩ é"}`
	now := time.Now()
	sig := Sign([]byte(secret), now, []byte(body))
	old := Sign([]byte(secret), now.Add(-6*time.Minute), []byte(body))
	ms := strconv.FormatInt(now.UnixMilli(), 10)
	main := `import { verifyAispend } from "./verify.js";
const s = ` + strconv.Quote(secret) + `, b = ` + strconv.Quote(body) + `, now = ` + ms + `;
console.log([
  verifyAispend(s, ` + strconv.Quote(sig) + `, b, now),
  verifyAispend(s, ` + strconv.Quote(sig) + `, b + " ", now),
  verifyAispend("another-secret-value", ` + strconv.Quote(sig) + `, b, now),
  verifyAispend(s, ` + strconv.Quote(old) + `, b, now),
  verifyAispend(s, undefined, b, now),
].join(","));
`
	for name, text := range map[string]string{"verify.ts": string(src), "main.ts": main} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tsc := filepath.Join(slackTypes, "node_modules", "typescript", "bin", "tsc")
	if out, err := exec.Command(node, tsc, "--strict", "--target", "es2022", "--module", "nodenext", "--moduleResolution", "nodenext",
		"--types", "node", "--typeRoots", filepath.Join(slackTypes, "node_modules", "@types"), "--outDir", filepath.Join(dir, "out"), filepath.Join(dir, "verify.ts"), filepath.Join(dir, "main.ts")).CombinedOutput(); err != nil {
		t.Fatalf("verify.ts does not compile: %v\n%s", err, out)
	}
	out, err := exec.Command(node, filepath.Join(dir, "out", "main.js")).CombinedOutput()
	if err != nil {
		t.Fatalf("node: %v\n%s", err, out)
	}
	if got := strings.TrimSpace(string(out)); got != "true,false,false,false,false" {
		t.Errorf("verifyAispend: %s; want true for aispend's signature and false for tampering, another secret, a replay, no header", got)
	}
}
