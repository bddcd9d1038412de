package main

import (
	"errors"
	"strings"
	"testing"

	"github.com/aispend/aispend/report"
)

// Ensures a chargeback configuration reaches the outputs: the owner field and each owner's
// address.
func TestConfigChargebackLoads(t *testing.T) {
	cfg, err := loadConfig(writeYAML(t, `chargeback:
  by: tag:team
  recipients: {search: search-lead@example.com, ads: ads@example.com}
`), envMap(nil))
	if err != nil {
		t.Fatal(err)
	}
	cb := cfg.chargeback()
	if cb == nil || cb.By != (report.Per{Field: report.PerTag, TagKey: "team"}) || cb.Recipients["search"] != "search-lead@example.com" || len(cb.Recipients) != 2 {
		t.Fatalf("chargeback %+v", cb)
	}
	if cfg, err := loadConfig(writeYAML(t, "currency: USD\n"), envMap(nil)); err != nil || cfg.chargeback() != nil {
		t.Errorf("without chargeback: %v, %+v; want no statements", err, cfg)
	}
}

// Ensures start-up lists every chargeback problem at once: a field statements cannot be by, an
// address that is not one, one outside the allowed domains, and (in another file) recipients
// missing.
func TestConfigChargebackRefusals(t *testing.T) {
	_, err := loadConfig(writeYAML(t, `mail:
  allowed_domains: [example.com]
chargeback:
  by: user_id
  recipients: {acme: "not an address", globex: cfo@elsewhere.org}
`), envMap(nil))
	var ce *ConfigError
	if !errors.As(err, &ce) {
		t.Fatalf("error %v, want a ConfigError", err)
	}
	for _, want := range []string{
		`chargeback.by: "user_id": want org_id or tag:<key>`,
		`chargeback.recipients.acme: "not an address" is not an email address`,
		`chargeback.recipients.globex: "cfo@elsewhere.org" is outside the allowed domains`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%v\nwant a problem %q", err, want)
		}
	}
	_, err = loadConfig(writeYAML(t, "chargeback:\n  by: \"tag:\"\n"), envMap(nil))
	for _, want := range []string{`chargeback.by: "tag:": want tag:<key> with a key`, "chargeback.recipients: empty"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%v\nwant a problem %q", err, want)
		}
	}
}
