package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeTestConfig(t *testing.T, yaml string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "aispend.yaml")
	if err := os.WriteFile(p, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// Ensures the digest settings default to no attachment under a 5 MiB cap, read from the file
// and the environment, and that the digest goes to mail.recipients unless it names its own.
func TestDigestConfig(t *testing.T) {
	cfg, err := loadConfig(writeTestConfig(t, "mail:\n  recipients: [ops@example.com]\n"), envMap(nil))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Digest.AttachWorkbook || cfg.Digest.AttachMaxBytes != 5242880 {
		t.Errorf("defaults %+v", cfg.Digest)
	}
	if got := cfg.digestRecipients(); len(got) != 1 || got[0] != "ops@example.com" {
		t.Errorf("recipients %v, want mail.recipients", got)
	}

	cfg, err = loadConfig(writeTestConfig(t, "digest:\n  recipients: [cfo@example.com]\n  attach_workbook: true\n  attach_max_bytes: 1048576\n"), envMap(nil))
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.Digest.AttachWorkbook || cfg.Digest.AttachMaxBytes != 1<<20 || cfg.digestRecipients()[0] != "cfo@example.com" {
		t.Errorf("from the file: %+v", cfg.Digest)
	}

	cfg, err = loadConfig(writeTestConfig(t, ""), envMap(map[string]string{
		"AISPEND_DIGEST_EMAILS": "a@example.com, b@example.com", "AISPEND_DIGEST_ATTACH_WORKBOOK": "true", "AISPEND_DIGEST_ATTACH_MAX_BYTES": "2048",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.Digest.AttachWorkbook || cfg.Digest.AttachMaxBytes != 2048 || strings.Join(cfg.digestRecipients(), ",") != "a@example.com,b@example.com" {
		t.Errorf("from the environment: %+v", cfg.Digest)
	}
}

func TestDigestConfigProblems(t *testing.T) {
	for _, c := range []struct {
		name, yaml string
		env        map[string]string
		want       string
	}{
		{"cap too small", "digest:\n  attach_max_bytes: 10\n", nil, "digest.attach_max_bytes (AISPEND_DIGEST_ATTACH_MAX_BYTES): 10: want 1024 to 18874368 bytes (18 MiB; attachments grow by a third in transit) (line 2)"},
		{"cap too large", "digest:\n  attach_max_bytes: 18874369\n", nil, "digest.attach_max_bytes"},
		{"cap not a number", "", map[string]string{"AISPEND_DIGEST_ATTACH_MAX_BYTES": "5MB"}, `AISPEND_DIGEST_ATTACH_MAX_BYTES): "5MB" is not an integer`},
		{"not a bool", "", map[string]string{"AISPEND_DIGEST_ATTACH_WORKBOOK": "sometimes"}, `digest.attach_workbook (AISPEND_DIGEST_ATTACH_WORKBOOK): "sometimes"`},
		{"bad recipient", "digest:\n  recipients: [\"x@example.com\\r\\nBcc: y@evil.example\"]\n", nil, "digest.recipients (AISPEND_DIGEST_EMAILS)"},
		{"recipient outside the allowed domains", "mail:\n  allowed_domains: [example.com]\ndigest:\n  recipients: [a@evil.example]\n", nil, "outside the allowed domains"},
		{"unknown key", "digest:\n  attach: true\n", nil, "digest.attach: unknown key (line 2)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := loadConfig(writeTestConfig(t, c.yaml), envMap(c.env))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want one mentioning %q", err, c.want)
			}
		})
	}
}
