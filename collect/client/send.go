package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"
)

const (
	maxRetryAfter  = 5 * time.Minute  // a larger Retry-After is taken as this: a stuck header must not stall the client for hours
	rejectLogEvery = time.Minute      // a permanent failure (say a wrong token) is logged once per minute, not per batch
	dropLogEvery   = 10 * time.Second // same for drops, which happen in bursts
	maxLogProblems = 10
)

// run is the sender goroutine. It gathers batches from the queue (up to BatchSize events and
// MaxBatchBytes, or whatever arrived within FlushInterval of a batch's first event) and
// delivers them one at a time, so a failing collector holds back later events rather than
// reordering or losing them; the bounded queue is what gives way.
func (c *Client) run() {
	defer close(c.done)
	stopping := false
	var carry []byte // an event that did not fit into the previous batch
	for {
		if c.runCtx.Err() != nil {
			if carry != nil {
				c.abandon(1)
			}
			c.abandon(int64(len(c.queue))) // Log cannot add more: Close has marked the client closed
			c.reportDrops(true)
			return
		}
		var b batch
		if carry != nil {
			b.add(carry)
			carry = nil
		}
		if b.len() == 0 && !stopping {
			select {
			case ev := <-c.queue:
				b.add(ev)
			case <-c.stop:
				stopping = true
			}
		}
		var flush <-chan time.Time
		var timer *time.Timer
		if !stopping {
			timer = time.NewTimer(c.cfg.FlushInterval)
			flush = timer.C
		}
	gather:
		for b.len() < c.cfg.BatchSize {
			var ev []byte
			if stopping {
				select {
				case ev = <-c.queue:
				default:
					break gather
				}
			} else {
				select {
				case ev = <-c.queue:
				case <-flush:
					break gather
				case <-c.stop:
					stopping = true // send what is queued now, without waiting for the timer
					continue
				}
			}
			if !b.fits(ev, c.cfg.MaxBatchBytes) {
				carry = ev
				break gather
			}
			b.add(ev)
		}
		if timer != nil {
			timer.Stop()
		}
		if b.len() == 0 {
			if stopping {
				c.reportDrops(true)
				return
			}
			continue
		}
		c.deliver(b.events)
		c.reportDrops(false)
	}
}

// batch is a list of encoded events and the size of the JSON array they make.
type batch struct {
	events [][]byte
	size   int
}

func (b *batch) len() int { return len(b.events) }

func (b *batch) add(ev []byte) {
	b.events = append(b.events, ev)
	b.size += len(ev) + 1 // a comma or a bracket
}

func (b *batch) fits(ev []byte, max int) bool {
	return b.len() == 0 || b.size+len(ev)+2 <= max
}

func body(events [][]byte) []byte {
	n := 2
	for _, ev := range events {
		n += len(ev) + 1
	}
	buf := make([]byte, 0, n)
	buf = append(buf, '[')
	for i, ev := range events {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = append(buf, ev...)
	}
	return append(buf, ']')
}

// deliver sends one batch until the collector answers for it. Transient failures are retried
// with the very same body. A 413 splits the batch; a 422 removes the events it names and sends
// the rest; other 4xx refuse the batch for good.
func (c *Client) deliver(events [][]byte) {
	payload := body(events)
	retries := 0
	for {
		status, retryAfter, reply, err := c.post(payload)
		if err != nil && c.runCtx.Err() != nil {
			// Close's context ended during the request: its outcome is unknown.
			c.abandon(int64(len(events)))
			return
		}
		switch {
		case err == nil && status >= 200 && status < 300:
			c.succeeded(len(events), reply, retries)
			return

		case err != nil || status == http.StatusRequestTimeout || status == http.StatusTooManyRequests || status >= 500:
			retries++
			if c.cfg.MaxRetries < 0 || c.cfg.MaxRetries > 0 && retries > c.cfg.MaxRetries {
				c.dropped.Add(int64(len(events)))
				c.log.Error("aispend client: dropped a batch after retries", "events", len(events),
					"retries", retries-1, "status", status, "error", err)
				return
			}
			if retries == 1 && !c.failing {
				c.failing = true
				c.log.Warn("aispend client: collector unavailable; retrying", "url", c.endpoint,
					"status", status, "error", err)
			}
			wait := c.backoff(retries)
			if retryAfter > wait {
				wait = min(retryAfter, maxRetryAfter)
			}
			if !c.sleep(wait) {
				c.abandon(int64(len(events)))
				return
			}
			c.retried.Add(1)

		case status == http.StatusRequestEntityTooLarge && len(events) > 1:
			// The collector's limits are smaller than ours: halve until it fits.
			half := len(events) / 2
			c.deliver(events[:half])
			c.deliver(events[half:])
			return

		case status == http.StatusUnprocessableEntity:
			good := c.removeInvalid(events, reply)
			if len(good) == 0 {
				return
			}
			events, payload = good, body(good)

		default:
			c.rejected.Add(int64(len(events)))
			c.logRejected(status, len(events), errorMessage(reply))
			return
		}
	}
}

func (c *Client) succeeded(n int, reply []byte, retries int) {
	var r struct {
		Accepted   *int64 `json:"accepted"`
		Duplicates *int64 `json:"duplicates"`
	}
	sent, dups := int64(n), int64(0)
	// A 2xx means every event is stored; the counts only tell new from already stored.
	if json.Unmarshal(reply, &r) == nil && r.Accepted != nil && r.Duplicates != nil {
		sent, dups = *r.Accepted+*r.Duplicates, *r.Duplicates
	}
	c.sent.Add(sent)
	c.duplicates.Add(dups)
	if c.failing {
		c.failing = false
		c.log.Info("aispend client: collector reachable again", "url", c.endpoint, "retries", retries)
	}
}

// removeInvalid handles a 422: the events named in its problems are rejected, the others
// returned to be re-sent. When the answer names no event of the batch, all are rejected.
func (c *Client) removeInvalid(events [][]byte, reply []byte) [][]byte {
	var r struct {
		Error    string `json:"error"`
		Problems []struct {
			Index   int    `json:"index"`
			Field   string `json:"field"`
			Message string `json:"message"`
		} `json:"problems"`
	}
	_ = json.Unmarshal(reply, &r)
	bad := map[int]bool{}
	var logged []string
	for _, p := range r.Problems {
		if p.Index < 0 || p.Index >= len(events) {
			bad = nil
			break
		}
		bad[p.Index] = true
		if len(logged) < maxLogProblems {
			logged = append(logged, fmt.Sprintf("event %s: %s: %s", eventID(events[p.Index]), p.Field, p.Message))
		}
	}
	if len(bad) == 0 {
		c.rejected.Add(int64(len(events)))
		c.logRejected(http.StatusUnprocessableEntity, len(events), r.Error)
		return nil
	}
	good := make([][]byte, 0, len(events)-len(bad))
	for i, ev := range events {
		if !bad[i] {
			good = append(good, ev)
		}
	}
	c.rejected.Add(int64(len(bad)))
	// Invalid events are application bugs worth seeing each time, but bounded per batch.
	c.log.Error("aispend client: collector rejected invalid events", "rejected", len(bad),
		"resending", len(good), "problems", logged)
	return good
}

func (c *Client) post(payload []byte) (status int, retryAfter time.Duration, reply []byte, err error) {
	ctx, cancel := context.WithTimeout(c.runCtx, c.cfg.RequestTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint, bytes.NewReader(payload))
	if err != nil {
		return 0, 0, nil, fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "aispend-go-client/1")
	if c.cfg.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.cfg.Token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, 0, nil, fmt.Errorf("post events: %w", err)
	}
	defer resp.Body.Close()
	// Replies are small; the limit guards against a misdirected URL serving something huge.
	reply, err = io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil && resp.StatusCode/100 != 2 {
		// The status is known for a 2xx even if its body was cut; for anything else, retry.
		return 0, 0, nil, fmt.Errorf("read reply: %w", err)
	}
	return resp.StatusCode, parseRetryAfter(resp.Header.Get("Retry-After"), time.Now()), reply, nil
}

// parseRetryAfter reads delay-seconds or an HTTP date; anything else means no hint.
func parseRetryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil {
		if s < 0 {
			return 0
		}
		return min(time.Duration(s)*time.Second, maxRetryAfter)
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return min(t.Sub(now), maxRetryAfter)
	}
	return 0
}

// backoff is the delay before retry n (1-based): MinBackoff doubled per retry, capped at
// MaxBackoff, with "equal jitter" (between half and all of it) so that clients that failed
// together do not retry together.
func (c *Client) backoff(n int) time.Duration {
	d := c.cfg.MinBackoff
	for i := 1; i < n && d < c.cfg.MaxBackoff; i++ {
		d *= 2
	}
	d = min(d, c.cfg.MaxBackoff)
	half := d / 2
	return half + rand.N(d-half+1)
}

// sleep waits d, or returns false when Close's context ends first.
func (c *Client) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-c.runCtx.Done():
		return false
	}
}

// abandon counts events left unsent because Close's context ended.
func (c *Client) abandon(n int64) {
	if n == 0 {
		return
	}
	c.abandoned += n
	c.dropped.Add(n)
}

// logRejected logs a permanent refusal, once per status and minute: with a wrong token every
// batch fails the same way, and one line says it all.
func (c *Client) logRejected(status, n int, msg string) {
	now := time.Now()
	if last, ok := c.lastReject[status]; ok && now.Sub(last) < rejectLogEvery {
		c.suppressed[status] += n
		return
	}
	c.log.Error("aispend client: collector refused events; not retrying", "url", c.endpoint,
		"status", status, "error", msg, "events", n, "refused_since_last_log", c.suppressed[status])
	c.lastReject[status] = now
	c.suppressed[status] = 0
}

// reportDrops logs how many events were dropped since the last report. Log itself never logs:
// a slow log handler must not slow the caller.
func (c *Client) reportDrops(final bool) {
	d := c.dropped.Load()
	if d == c.reportedDrops || !final && time.Since(c.lastDropLog) < dropLogEvery {
		return
	}
	c.log.Warn("aispend client: events dropped", "dropped_total", d, "dropped_since_last_log", d-c.reportedDrops,
		"buffer_size", c.cfg.BufferSize, "unsent_at_close", c.abandoned)
	c.reportedDrops, c.lastDropLog = d, time.Now()
}

func errorMessage(reply []byte) string {
	var r struct {
		Error string `json:"error"`
	}
	if json.Unmarshal(reply, &r) == nil && r.Error != "" {
		return r.Error
	}
	if len(reply) > 200 {
		reply = reply[:200]
	}
	return string(reply)
}

func eventID(ev []byte) string {
	var e struct {
		EventID string `json:"event_id"`
	}
	_ = json.Unmarshal(ev, &e)
	return strconv.Quote(e.EventID)
}
