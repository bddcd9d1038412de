package main

import (
	"log/slog"
	"strings"

	"github.com/aispend/aispend/report/publish"
)

// publishS3Config maps the configuration onto the S3 target's settings (bucket and prefix come
// from the output URL in publish.Open).
func (c *Config) publishS3Config(log *slog.Logger) publish.S3Config {
	return publish.S3Config{
		Endpoint:       c.S3.Endpoint,
		PublicEndpoint: c.S3.PublicEndpoint,
		Region:         c.S3.Region,
		PathStyle:      c.S3.PathStyle,
		AccessKey:      c.S3.AccessKey,
		SecretKey:      c.S3.SecretKey,
		PresignExpiry:  c.S3.PresignExpiry,
		Logger:         log,
	}
}

// publishTarget opens where reports are published: the output directory or the S3 bucket.
func (c *Config) publishTarget(log *slog.Logger) (publish.Target, error) {
	return publish.Open(c.Output, c.publishS3Config(log), c.PublicURL)
}

// checkOutput reports output and S3 problems with the key and environment variable to fix, so
// that a misconfigured bucket is found at start-up, not after a night of computing reports.
func checkOutput(c *Config) []string {
	var problems []string
	bad := func(key, msg string) { problems = append(problems, key+": "+msg) }
	_, _, isS3, err := publish.ParseS3Output(c.Output)
	if err != nil {
		bad("output (AISPEND_OUTPUT)", err.Error())
		return problems
	}
	if !isS3 {
		if c.PublicURL != "" {
			if _, err := publish.Open(c.Output, publish.S3Config{}, c.PublicURL); err != nil {
				bad("public_url (AISPEND_PUBLIC_URL)", strings.TrimPrefix(err.Error(), "open publish target: "))
			}
		}
		return problems
	}
	required := []struct{ v, key string }{
		{c.S3.Endpoint, "s3.endpoint (AISPEND_S3_ENDPOINT)"},
		{c.S3.AccessKey, "s3 access key (AISPEND_S3_ACCESS_KEY)"},
		{c.S3.SecretKey, "s3 secret key (AISPEND_S3_SECRET_KEY)"},
	}
	missing := false
	for _, r := range required {
		if strings.TrimSpace(r.v) == "" {
			bad(r.key, "required when output is "+c.Output)
			missing = true
		}
	}
	if missing {
		return problems
	}
	// Everything else (endpoint form, expiry range, public URL) is checked by building the
	// target, which makes no network request.
	if _, err := c.publishTarget(nil); err != nil {
		bad("output "+c.Output, strings.TrimPrefix(err.Error(), "open publish target: "))
	}
	return problems
}
