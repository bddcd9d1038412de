// Package channel is where a new alert channel goes: the transports that deliver the batch job's
// alerts (report.ChannelMessage) besides email. Each channel type is one file: the generic signed
// webhook (webhook.go, its body documented by webhook.v1.schema.json), Slack incoming webhooks
// with Block Kit (slack.go) and PagerDuty Events API v2 (pagerduty.go). They share one HTTP
// poster (post.go): retries with back-off and jitter, a time-out per attempt, and a bounded read
// of each answer, so that a slow, failing or huge receiver cannot stall a run. The delivery
// ledger (once per alert and channel, retried by the next run) is the batch job's
// (report/channels.go).
package channel

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Poster defaults.
const (
	DefaultAttempts       = 4
	DefaultAttemptTimeout = 10 * time.Second
	DefaultBaseBackoff    = time.Second
	DefaultMaxBackoff     = 30 * time.Second
	// DefaultMaxRetryAfter is the longest Retry-After a run waits; a receiver asking for more
	// gets the delivery left pending for the next run.
	DefaultMaxRetryAfter = time.Minute
	// MaxAnswerBytes is how much of an answer is read; the rest is not.
	MaxAnswerBytes = 64 << 10
)

// Poster posts JSON bodies: retried with exponential back-off and full jitter on 5xx, 429
// (waiting what Retry-After asks, up to MaxRetryAfter) and network errors; each attempt bounded
// by AttemptTimeout, headers and answer included. Other answers than 2xx fail at once: the
// receiver refused the message, and sending it again now would not change that. Redirects are
// not followed (a signed body goes where it was configured to go, or nowhere).
type Poster struct {
	Client         *http.Client // nil: a client without redirects
	Attempts       int
	AttemptTimeout time.Duration
	BaseBackoff    time.Duration
	MaxBackoff     time.Duration
	MaxRetryAfter  time.Duration
	// Sleep waits d or until ctx ends; nil: a timer.
	Sleep func(ctx context.Context, d time.Duration) error
}

// noRedirects is the default client.
var noRedirects = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// StatusError is an answer other than 2xx.
type StatusError struct {
	Code int
	Body string // its first bytes
}

func (e *StatusError) Error() string {
	if e.Body == "" {
		return fmt.Sprintf("answered %d", e.Code)
	}
	return fmt.Sprintf("answered %d: %s", e.Code, e.Body)
}

// Post sends body to target (headers made per attempt by header, e.g. a fresh signature). The
// error names only the target's scheme and host: the rest of a URL can be a secret (a Slack
// webhook's path).
func (p *Poster) Post(ctx context.Context, target string, body []byte, header func() http.Header) error {
	u, err := url.Parse(target)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return errors.New("post: the URL is not an http(s) URL")
	}
	where := u.Scheme + "://" + u.Host
	attempts := cmpOr(p.Attempts, DefaultAttempts)
	var last error
	for i := range attempts {
		if i > 0 {
			wait := p.backoff(i)
			var se *retryAfterError
			if errors.As(last, &se) {
				if se.after > cmpOr(p.MaxRetryAfter, DefaultMaxRetryAfter) {
					return fmt.Errorf("post %s: %w (Retry-After %s is longer than this run waits; left for the next run)", where, last, se.after)
				}
				wait = se.after
			}
			if err := p.sleep(ctx, wait); err != nil {
				return fmt.Errorf("post %s: %w (after %d attempts: %v)", where, err, i, last)
			}
		}
		retry, err := p.attempt(ctx, target, body, header)
		if err == nil {
			return nil
		}
		last = err
		if !retry {
			break
		}
	}
	return fmt.Errorf("post %s: %w", where, last)
}

// retryAfterError is a 429 or 503 whose Retry-After said how long to wait.
type retryAfterError struct {
	*StatusError
	after time.Duration
}

func (e *retryAfterError) Unwrap() error { return e.StatusError }

// attempt makes one request; retry tells whether another attempt may succeed.
func (p *Poster) attempt(ctx context.Context, target string, body []byte, header func() http.Header) (retry bool, err error) {
	ctx, cancel := context.WithTimeout(ctx, cmpOr(p.AttemptTimeout, DefaultAttemptTimeout))
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return false, errors.New("cannot make the request")
	}
	if header != nil {
		req.Header = header()
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "aispend")
	client := p.Client
	if client == nil {
		client = noRedirects
	}
	resp, err := client.Do(req)
	if err != nil {
		// Network errors and time-outs are retried. The url.Error's URL is left out.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return ctx.Err() == nil || errors.Is(ctx.Err(), context.DeadlineExceeded), err
	}
	defer resp.Body.Close()
	// Read a bounded part of the answer, within the attempt's time-out: a receiver that answers
	// slowly or without end costs at most that.
	head, readErr := io.ReadAll(io.LimitReader(resp.Body, MaxAnswerBytes))
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return false, nil // accepted; an answer cut short does not undo that
	}
	_ = readErr
	se := &StatusError{Code: resp.StatusCode, Body: snippet(head)}
	switch {
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable:
		if d, ok := parseRetryAfter(resp.Header.Get("Retry-After"), time.Now()); ok {
			return true, &retryAfterError{StatusError: se, after: d}
		}
		return true, se
	case resp.StatusCode >= 500:
		return true, se
	}
	return false, se
}

// snippet is the start of an answer, on one line, for an error message.
func snippet(b []byte) string {
	s := strings.Join(strings.Fields(string(b)), " ")
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return strings.ToValidUTF8(s, "")
}

// parseRetryAfter reads Retry-After: seconds, or an HTTP date.
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n < 0 {
			return 0, false
		}
		return time.Duration(min(n, 1<<31)) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}

// backoff is the wait before attempt i (1, 2, …): a random duration up to BaseBackoff × 2^(i-1),
// capped at MaxBackoff ("full jitter": runs retrying at once spread out).
func (p *Poster) backoff(i int) time.Duration {
	base, ceiling := cmpOr(p.BaseBackoff, DefaultBaseBackoff), cmpOr(p.MaxBackoff, DefaultMaxBackoff)
	d := base << min(i-1, 20)
	if d <= 0 || d > ceiling {
		d = ceiling
	}
	return time.Duration(rand.Int64N(int64(d)) + 1)
}

func (p *Poster) sleep(ctx context.Context, d time.Duration) error {
	if p.Sleep != nil {
		return p.Sleep(ctx, d)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func cmpOr[T int | time.Duration](v, def T) T {
	if v > 0 {
		return v
	}
	return def
}
