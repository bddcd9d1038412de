package main

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/aispend/aispend/report/mail"
	"github.com/aispend/aispend/report/publish"
)

func TestConfigPublishTarget(t *testing.T) {
	env := func(kv map[string]string) func(string) string { return func(k string) string { return kv[k] } }

	cfg, err := loadConfig("", env(map[string]string{}))
	if err != nil {
		t.Fatal(err)
	}
	tg, err := cfg.publishTarget(nil)
	if d, ok := tg.(publish.Dir); err != nil || !ok || d.Root != "out" {
		t.Errorf("default target = %#v, %v; want Dir out", tg, err)
	}

	s3env := map[string]string{
		"AISPEND_OUTPUT":             "s3://reports/ai/acme",
		"AISPEND_S3_ENDPOINT":        "http://127.0.0.1:9000",
		"AISPEND_S3_PUBLIC_ENDPOINT": "https://files.example.com",
		"AISPEND_S3_ACCESS_KEY":      "ak",
		"AISPEND_S3_SECRET_KEY":      "sk",
		"AISPEND_S3_PRESIGN_EXPIRY":  "48h",
		"AISPEND_S3_PATH_STYLE":      "true",
	}
	cfg, err = loadConfig("", env(s3env))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.S3.PresignExpiry != 48*time.Hour || cfg.S3.PublicEndpoint != "https://files.example.com" {
		t.Errorf("s3 config %+v", cfg.S3)
	}
	tg, err = cfg.publishTarget(nil)
	if err != nil {
		t.Fatal(err)
	}
	s, ok := tg.(*publish.S3)
	if !ok || s.Bucket() != "reports" || s.Prefix() != "ai/acme" {
		t.Fatalf("target = %#v", tg)
	}
	// Presigning is local: the link is signed for the public endpoint with the configured expiry.
	u, err := s.URL(t.Context(), "index.html")
	if err != nil || !strings.HasPrefix(u, "https://files.example.com/reports/ai/acme/index.html?") || !strings.Contains(u, "X-Amz-Expires=172800") {
		t.Errorf("URL = %q, %v", u, err)
	}

	for _, c := range []struct {
		drop, set, value string
		want             []string
	}{
		{drop: "AISPEND_S3_ENDPOINT", want: []string{"s3.endpoint (AISPEND_S3_ENDPOINT): required when output is s3://reports/ai/acme"}},
		{drop: "AISPEND_S3_SECRET_KEY", want: []string{"AISPEND_S3_SECRET_KEY"}},
		{set: "AISPEND_S3_PRESIGN_EXPIRY", value: "30d", want: []string{"AISPEND_S3_PRESIGN_EXPIRY", "not a duration"}},
		{set: "AISPEND_S3_PRESIGN_EXPIRY", value: "720h", want: []string{"presign expiry"}},
		{set: "AISPEND_S3_ENDPOINT", value: "ftp://s3", want: []string{"want http:// or https://"}},
		{set: "AISPEND_OUTPUT", value: "gs://reports", want: []string{"output (AISPEND_OUTPUT)", "only s3://"}},
		{set: "AISPEND_PUBLIC_URL", value: "reports.example.com", want: []string{"absolute http"}},
	} {
		kv := map[string]string{}
		for k, v := range s3env {
			kv[k] = v
		}
		delete(kv, c.drop)
		if c.set != "" {
			kv[c.set] = c.value
		}
		_, err := loadConfig("", env(kv))
		var ce *ConfigError
		if !errors.As(err, &ce) {
			t.Errorf("%s%s: err = %v, want a ConfigError", c.drop, c.set, err)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s%s: %v\nwant it to mention %q", c.drop, c.set, err, w)
			}
		}
	}
}

// A batch job whose publish target cannot be opened is refused: its alert emails would link
// pages through a nil target (a panic at the first alert) instead of failing at start-up.
func TestBatchJobRefusesBadPublishTarget(t *testing.T) {
	cfg := &Config{Output: "gs://reports", Location: time.UTC}
	sender, err := mail.NewOutbox(t.TempDir(), "")
	if err != nil {
		t.Fatal(err)
	}
	job, err := newBatchJob(context.Background(), cfg, nil, sender, slog.New(slog.DiscardHandler))
	if err == nil || !strings.Contains(err.Error(), `output "gs://reports": only s3:// URLs or a directory are supported`) {
		t.Fatalf("newBatchJob = %v, %v; want the publish target's error", job, err)
	}
}
