package main

import (
	"fmt"
	"net/mail"
	"slices"
	"strings"

	"github.com/shopspring/decimal"

	"github.com/aispend/aispend/report"
)

// AnomalyConfigFile is the `anomaly:` block: which scopes are watched for spend far above their
// own usual level, and how far is far (report/anomaly.go). Absent: no anomaly detection.
type AnomalyConfigFile struct {
	// Scopes: service, model, provider, org_id, user_id, tag:<key>. Default: service, model,
	// org_id, user_id.
	Scopes []string `yaml:"scopes"`
	// MinImpact is required: the least money above the usual level worth an alert, in the
	// reporting currency (no default: ₩2,000 and $2,000 are not the same thing).
	MinImpact *Dec `yaml:"min_impact"`
	// MinIncrease is the least increase over the usual level in percent (default 100: double).
	MinIncrease *int `yaml:"min_increase"`
	// Deviations is how many robust standard deviations the increase must exceed (default 5).
	Deviations *Dec `yaml:"deviations"`
	// Windows: hour, day (default both).
	Windows []string `yaml:"windows"`
	// Recipients of the anomaly email (default: mail.recipients, AISPEND_ALERT_EMAILS).
	Recipients []string `yaml:"recipients"`
	// Channels: email and channel names (default [email]).
	Channels []string `yaml:"channels"`
}

// defaultAnomalyScopes are the scopes watched when `scopes` is left out.
var defaultAnomalyScopes = []string{"service", "model", "org_id", "user_id"}

// checkAnomaly checks the anomaly block, every problem listed.
func (cfg *Config) checkAnomaly(p *problems) {
	a := cfg.Anomaly
	if a == nil {
		return
	}
	seen := map[string]bool{}
	for i, s := range a.Scopes {
		key := fmt.Sprintf("anomaly.scopes[%d]", i)
		k, isTag := strings.CutPrefix(s, "tag:")
		switch {
		case isTag && strings.TrimSpace(k) == "":
			p.add(key, "tag: needs a key, e.g. tag:team")
		case !isTag && !slices.Contains([]string{"service", "model", "provider", "org_id", "user_id"}, s):
			p.add(key, "%q: want service, model, provider, org_id, user_id or tag:<key>", s)
		case seen[s]:
			p.add(key, "%q is listed twice", s)
		}
		seen[s] = true
	}
	switch {
	case a.MinImpact == nil:
		p.add("anomaly.min_impact", "required: the least money above the usual level worth an alert, in %s", cfg.Currency)
	case !a.MinImpact.IsPositive():
		p.add("anomaly.min_impact", "%s: want more than 0", a.MinImpact)
	}
	if a.MinIncrease != nil && (*a.MinIncrease < 1 || *a.MinIncrease > 100000) {
		p.add("anomaly.min_increase", "%d: want a percent from 1 to 100000", *a.MinIncrease)
	}
	if a.Deviations != nil && (!a.Deviations.IsPositive() || a.Deviations.GreaterThan(decimal.NewFromInt(100))) {
		p.add("anomaly.deviations", "%s: want more than 0 and at most 100", a.Deviations)
	}
	for i, w := range a.Windows {
		if w != string(report.WindowHour) && w != string(report.WindowDay) {
			p.add(fmt.Sprintf("anomaly.windows[%d]", i), "%q: want hour or day", w)
		}
	}
	for i, r := range a.Recipients {
		if _, err := mail.ParseAddress(r); err != nil {
			p.add(fmt.Sprintf("anomaly.recipients[%d]", i), "%q is not an email address", r)
		}
	}
	known := map[string]bool{}
	for _, c := range cfg.Channels {
		known[c.Name] = true
	}
	for i, c := range a.Channels {
		if c != report.EmailChannel && !known[c] {
			p.add(fmt.Sprintf("anomaly.channels[%d]", i), "unknown channel %q (configured: email%s)", c, knownList(known))
		}
	}
}

// anomalyConfig is the block as report.AnomalyConfig; nil when the block is absent.
func (cfg *Config) anomalyConfig() *report.AnomalyConfig {
	a := cfg.Anomaly
	if a == nil || a.MinImpact == nil {
		return nil
	}
	out := &report.AnomalyConfig{Scopes: a.Scopes, MinImpact: a.MinImpact.Decimal, MinIncrease: report.DefaultAnomalyIncrease,
		Deviations: decimal.NewFromInt(report.DefaultAnomalyDeviations), Recipients: a.Recipients, Channels: a.Channels}
	if len(out.Scopes) == 0 {
		out.Scopes = defaultAnomalyScopes
	}
	if a.MinIncrease != nil {
		out.MinIncrease = *a.MinIncrease
	}
	if a.Deviations != nil {
		out.Deviations = a.Deviations.Decimal
	}
	for _, w := range a.Windows {
		out.Windows = append(out.Windows, report.WindowKind(w))
	}
	return out
}
