package artifact_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"io"
	"mime"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aispend/aispend/report"
	"github.com/aispend/aispend/report/publish"
)

// attachments returns the attachments of a MIME message by file name, decoded.
func attachments(t *testing.T, raw string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	walkMIME(t, raw, func(_ string, h func(string) string, body io.Reader) {
		disp, dp, err := mime.ParseMediaType(h("Content-Disposition"))
		if err != nil || disp != "attachment" {
			return
		}
		if strings.EqualFold(h("Content-Transfer-Encoding"), "base64") {
			body = base64.NewDecoder(base64.StdEncoding, body)
		}
		b, err := io.ReadAll(body)
		if err != nil {
			t.Fatal(err)
		}
		out[dp["filename"]] = b
	})
	return out
}

// Ensures digest attachment is wired from the outputs' settings: off, the digest carries no
// attachment; on, it carries the published workbook byte for byte under its published name;
// on with a cap below the workbook's size, it carries none and says the workbook is linked.
func TestDigestAttachesWorkbook(t *testing.T) {
	const name = "aispend-daily-2026-10-02.xlsx"
	for _, tc := range []struct {
		name      string
		attach    bool
		attachMax int64
		attached  bool
	}{
		{"off", false, 0, false},
		{"on, default cap", true, 0, true},
		{"on, workbook over the cap", true, 1024, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.attach, e.attachMax = tc.attach, tc.attachMax
			dir := t.TempDir()
			seed(t, e.pool, day(2).Start, 20)
			if _, err := e.job(t, publish.Dir{Root: dir}, nil).Run(context.Background(), day(2), report.RunOptions{}); err != nil {
				t.Fatal(err)
			}
			ds := digests(e.outboxMessages(t))
			if len(ds) != 1 {
				t.Fatalf("%d digests", len(ds))
			}
			wb, err := os.ReadFile(filepath.Join(dir, "daily/2026-10-02", name))
			if err != nil {
				t.Fatal(err)
			}
			if int64(len(wb)) <= 1024 {
				t.Fatalf("workbook of %d bytes: the cap case needs one over 1 KiB", len(wb))
			}
			got := attachments(t, ds[0])
			if !tc.attached {
				if len(got) != 0 {
					t.Errorf("attachments %v, want none", len(got))
				}
				text, _ := messageParts(t, ds[0])
				if tc.attach && !strings.Contains(text, "so it is not attached") {
					t.Errorf("the digest does not say the workbook is not attached:\n%s", text)
				}
				return
			}
			if len(got) != 1 || !bytes.Equal(got[name], wb) {
				t.Errorf("attachments %d, %s: %d bytes; want the published workbook (%d bytes)", len(got), name, len(got[name]), len(wb))
			}
		})
	}
}
