package main

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/aispend/aispend/report"
	"github.com/aispend/aispend/report/channel"
)

// ChannelConfig is one alert channel (`channels:`): a name the budgets route to, a type, and for
// a webhook (or PagerDuty in another region) its URL. Secrets come from the environment only:
// AISPEND_CHANNEL_<NAME>_SECRET (webhook signing key), _URL (Slack incoming webhook URL, or a
// webhook's URL instead of the file's) and _ROUTING_KEY (PagerDuty); never logged.
type ChannelConfig struct {
	Name string `yaml:"name"`
	Type string `yaml:"type"`
	URL  string `yaml:"url"`

	Secret     string `yaml:"-"`
	RoutingKey string `yaml:"-"`
}

// Channel types.
const (
	channelWebhook   = "webhook"
	channelSlack     = "slack"
	channelPagerDuty = "pagerduty"
)

var channelName = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)

// channelEnv is the prefix of a channel's variables: AISPEND_CHANNEL_FINANCE_SLACK_ for
// finance-slack.
func channelEnv(name string) string {
	return "AISPEND_CHANNEL_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_")) + "_"
}

// readChannels reads each channel's secrets from the environment and checks the channels and
// the budgets' routes, every problem listed.
func (cfg *Config) readChannels(getenv func(string) string, p *problems) {
	seen, envSeen := map[string]bool{}, map[string]string{}
	for i := range cfg.Channels {
		c := &cfg.Channels[i]
		key := fmt.Sprintf("channels[%d]", i)
		if c.Name != "" {
			key = fmt.Sprintf("channels[%d] (%s)", i, c.Name)
		}
		switch {
		case c.Name == report.EmailChannel:
			p.add(key+".name", "%q is the alert email's name in routes: choose another", c.Name)
		case !channelName.MatchString(c.Name):
			p.add(key+".name", "%q: want lower-case letters, digits, - and _ (it names the channel's variables, AISPEND_CHANNEL_<NAME>_…)", c.Name)
		case seen[c.Name]:
			p.add(key+".name", "used by two channels")
		}
		seen[c.Name] = true
		env := channelEnv(c.Name)
		if other, ok := envSeen[env]; ok && other != c.Name {
			p.add(key+".name", "%q and %q share the variables %s…: rename one", other, c.Name, env)
		}
		envSeen[env] = c.Name
		envURL := strings.TrimSpace(getenv(env + "URL"))
		c.Secret = strings.TrimSpace(getenv(env + "SECRET"))
		c.RoutingKey = strings.TrimSpace(getenv(env + "ROUTING_KEY"))
		switch c.Type {
		case channelWebhook:
			if envURL != "" {
				c.URL = envURL
			}
			if c.URL == "" {
				p.add(key+".url", "required for a webhook (or %sURL)", env)
			} else if err := checkChannelURL(c.URL); err != nil {
				p.add(key+".url", "%v", err)
			}
			if c.Secret == "" {
				p.add(key, "the webhook's signing secret is missing: set %sSECRET", env)
			} else if len(c.Secret) < 16 {
				p.add(key, "%sSECRET is shorter than 16 characters: too easy to guess", env)
			}
		case channelSlack:
			if c.URL != "" {
				p.add(key+".url", "a Slack incoming webhook's URL is a secret: set it in %sURL, not in the file", env)
			}
			c.URL = envURL
			if c.URL == "" {
				p.add(key, "the Slack incoming webhook URL is missing: set %sURL", env)
			} else if err := checkChannelURL(c.URL); err != nil {
				p.add(key, "%sURL: %v", env, err)
			}
		case channelPagerDuty:
			if envURL != "" {
				c.URL = envURL
			}
			if c.URL != "" {
				if err := checkChannelURL(c.URL); err != nil {
					p.add(key+".url", "%v", err)
				}
			}
			if c.RoutingKey == "" {
				p.add(key, "the PagerDuty routing key is missing: set %sROUTING_KEY", env)
			}
		default:
			p.add(key+".type", "%q: want webhook, slack or pagerduty", c.Type)
		}
	}
	for i, b := range cfg.Budgets {
		if _, err := b.routes(seen); err != nil {
			for _, e := range strings.Split(err.Error(), "\n") {
				p.add(fmt.Sprintf("budgets[%d].channels", i), "%s", e)
			}
		}
	}
}

// checkChannelURL accepts an absolute http(s) URL; the error never repeats the URL (a Slack
// URL is a secret).
func checkChannelURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return errors.New("not an absolute http(s) URL")
	}
	return nil
}

// routes is the budget's `channels:` as report.Routes; known holds the configured channel
// names (nil: any name). Every problem is listed, one per line.
func (b BudgetConfig) routes(known map[string]bool) (report.Routes, error) {
	var r report.Routes
	var errs []error
	keys := make([]string, 0, len(b.Channels))
	for k := range b.Channels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	thresholds := b.Thresholds
	if len(thresholds) == 0 {
		thresholds = report.DefaultThresholds
	}
	for _, k := range keys {
		names := b.Channels[k]
		for _, n := range names {
			if n != report.EmailChannel && known != nil && !known[n] {
				errs = append(errs, fmt.Errorf("%s: unknown channel %q (configured: email%s)", k, n, knownList(known)))
			}
		}
		names = append([]string{}, names...) // [] (not nil): a route to nowhere is a route
		switch k {
		case "default":
			r.Default = names
		case "forecast":
			r.Forecast = names
		case "burn_rate":
			if !b.BurnRate {
				errs = append(errs, fmt.Errorf("%s: the budget makes no burn-rate alerts (set burn_rate: true)", k))
			}
			r.BurnRate = names
		case "anomaly":
			r.Anomaly = names
		default:
			t, err := strconv.Atoi(k)
			if err != nil || !slices.Contains(thresholds, t) {
				errs = append(errs, fmt.Errorf("%s: want default, forecast, burn_rate, anomaly or one of the budget's thresholds %v", k, thresholds))
				continue
			}
			if r.ByThreshold == nil {
				r.ByThreshold = map[int][]string{}
			}
			r.ByThreshold[t] = names
		}
	}
	if len(b.Channels) > 0 && r.Default == nil {
		r.Default = []string{report.EmailChannel} // thresholds not named alert by email, as without routes
	}
	return r, errors.Join(errs...)
}

func knownList(known map[string]bool) string {
	var names []string
	for n := range known {
		if n != "" {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	if len(names) == 0 {
		return ""
	}
	return ", " + strings.Join(names, ", ")
}

// channelPoster is the HTTP poster of every channel: the defaults of report/channel.
var channelPoster = &channel.Poster{}

// notifiers are the configured channels, by name.
func (cfg *Config) notifiers() map[string]report.Notifier {
	out := map[string]report.Notifier{}
	for _, c := range cfg.Channels {
		switch c.Type {
		case channelWebhook:
			out[c.Name] = &channel.Webhook{ChannelName: c.Name, URL: c.URL, Secret: []byte(c.Secret), Poster: channelPoster}
		case channelSlack:
			out[c.Name] = &channel.Slack{ChannelName: c.Name, URL: c.URL, Poster: channelPoster}
		case channelPagerDuty:
			out[c.Name] = &channel.PagerDuty{ChannelName: c.Name, URL: c.URL, RoutingKey: c.RoutingKey, Poster: channelPoster}
		}
	}
	return out
}

// sendChannelTest sends the sample alert through channel name (`aispend alert test --channel`):
// to PagerDuty a trigger, then at once its resolve, so that nobody stays paged by a test.
func (cfg *Config) sendChannelTest(ctx context.Context, name, installation string, now time.Time) (report.ChannelMessage, error) {
	n, ok := cfg.notifiers()[name]
	if !ok {
		var names []string
		for _, c := range cfg.Channels {
			names = append(names, c.Name)
		}
		if len(names) == 0 {
			return report.ChannelMessage{}, fmt.Errorf("--channel %s: no channels are configured (channels: in the configuration)", name)
		}
		return report.ChannelMessage{}, fmt.Errorf("--channel %s: no such channel; configured: %s", name, strings.Join(names, ", "))
	}
	msg := channel.TestMessage(now, cfg.Location, cfg.Currency, installation, cfg.sampleLink(now))
	if err := n.Notify(ctx, msg); err != nil {
		return msg, fmt.Errorf("send test alert through channel %s: %w", name, err)
	}
	if n.Resolves() {
		res := msg
		res.Action = report.ActionResolve
		if err := n.Notify(ctx, res); err != nil {
			return msg, fmt.Errorf("resolve test alert through channel %s: %w", name, err)
		}
	}
	return msg, nil
}
