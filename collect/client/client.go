// Package client is the Go client of the aispend collector. An application creates one Client,
// calls Log after every AI request, and calls Close when it shuts down:
//
//	c, err := client.New(client.Config{URL: "http://127.0.0.1:8080", Token: token})
//	...
//	c.Log(client.Event{Service: "QA_CHAT", Model: "claude-sonnet-4-5", InputTokens: 500, OutputTokens: 300})
//	...
//	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
//	defer cancel()
//	err = c.Close(ctx)
//
// Log never blocks and never fails the caller: events go into a bounded buffer, and a single
// background goroutine sends them in batches (a JSON array POSTed to /v1/events). A batch that
// fails with a network error, 429, 408 or a 5xx is re-sent with exponential back-off and
// jitter (honouring Retry-After) with the same bytes, so the same event_id and occurred_at:
// the collector stores each event exactly once however often it is re-sent. When the buffer
// is full, new events are dropped and counted; Stats reports every counter.
//
// The usage mappers (ParseAnthropic, OpenAIChatUsage.Apply, …; see usage.go) turn the usage
// objects of the OpenAI, Anthropic and Gemini APIs into an Event's token fields.
//
// The package depends on nothing of the collector's server side, so applications import only
// this package.
package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
)

// MaxBatchSize is the collector's limit of events per request.
const MaxBatchSize = 1000

// Config configures a Client. Only URL is required.
type Config struct {
	// URL is the collector's base URL, e.g. http://127.0.0.1:8080; events go to URL/v1/events.
	URL string
	// Token is the bearer token; empty sends no Authorization header.
	Token string
	// BufferSize is how many events may wait to be sent; more are dropped. Default 10,000.
	BufferSize int
	// BatchSize is the most events per request, at most MaxBatchSize. Default 100.
	BatchSize int
	// MaxBatchBytes caps the size of a request body; default 1 MiB, the collector's default.
	// An event that alone would exceed it is rejected by Log.
	MaxBatchBytes int
	// FlushInterval is the longest an event waits for its batch to fill. Default 1 s.
	FlushInterval time.Duration
	// MaxRetries is how often one batch is re-sent after transient failures before it is
	// dropped. 0 (the default) means no limit: the batch is retried until it is stored or until
	// Close's context ends, while new events queue behind it (and are dropped once the buffer
	// is full). Negative means never retry.
	MaxRetries int
	// MinBackoff is the first retry delay, doubled on every retry up to MaxBackoff, with
	// jitter. Defaults 100 ms and 30 s. A Retry-After from the server is waited for when it is
	// longer (up to 5 minutes).
	MinBackoff time.Duration
	MaxBackoff time.Duration
	// RequestTimeout bounds each HTTP attempt. Default 10 s.
	RequestTimeout time.Duration
	// HTTPClient sends the requests; default a client with its own transport.
	HTTPClient *http.Client
	// Logger receives the client's own problems (rejections, drops); default slog.Default().
	Logger *slog.Logger
	// DecideTimeout bounds a Decide call (default 250 ms); DecideCacheTTL is how long its
	// answers are reused (default 1 s; negative: never); DecideFailClosed answers deny instead
	// of allow when the collector does not answer (decide.go).
	DecideTimeout    time.Duration
	DecideCacheTTL   time.Duration
	DecideFailClosed bool
}

// Stats are the client's counters since New. Every event passed to Log ends up in exactly one
// of Sent, Dropped or Rejected, or is still pending.
type Stats struct {
	// Sent counts events the collector acknowledged (stored now or already stored before).
	Sent int64
	// Duplicates counts the part of Sent that the collector already had: events re-sent after
	// a reply was lost, or ids the application logged twice.
	Duplicates int64
	// Retried counts requests re-sent after a transient failure (network error, 408, 429, 5xx).
	Retried int64
	// Dropped counts events given up: the buffer was full, Log was called after Close, the
	// batch ran out of MaxRetries, or the event was still unsent when Close's context ended.
	Dropped int64
	// Rejected counts events the collector refused for good (4xx other than 408 and 429):
	// invalid fields (422, only the invalid events of a batch), a wrong token (401/403), or an
	// event too large to send.
	Rejected int64
}

// Client sends events to the collector in the background. It is safe for concurrent use.
type Client struct {
	cfg      Config
	endpoint string
	http     *http.Client
	ownHTTP  bool
	log      *slog.Logger

	queue chan []byte // encoded events; the buffer

	// mu orders Log against Close: once closed is set, no event can enter queue, so the
	// final drain sees every event.
	mu        sync.RWMutex
	closed    bool
	closeOnce sync.Once
	stop      chan struct{}      // closed by Close: drain and exit
	done      chan struct{}      // closed when the sender goroutine has exited
	runCtx    context.Context    // cancelled when Close's context ends: abandon what is left
	cancelRun context.CancelFunc // cancels runCtx

	sent, duplicates, retried, dropped, rejected atomic.Int64

	decisions decideCache // Decide's answers (decide.go)

	// Used by the sender goroutine only (and read by Close after done is closed).
	abandoned     int64 // events counted as dropped because Close's context ended
	failing       bool  // the last attempt failed transiently (for logging the outage once)
	reportedDrops int64
	lastDropLog   time.Time
	lastReject    map[int]time.Time
	suppressed    map[int]int
}

// New checks cfg, applies defaults and starts the sender goroutine.
func New(cfg Config) (*Client, error) {
	var problems []string
	u, err := url.Parse(cfg.URL)
	switch {
	case cfg.URL == "":
		problems = append(problems, "URL is required")
	case err != nil:
		problems = append(problems, fmt.Sprintf("URL: %v", err))
	case u.Scheme != "http" && u.Scheme != "https" || u.Host == "":
		problems = append(problems, fmt.Sprintf("URL %q: must be http(s)://host[:port][/path]", cfg.URL))
	}
	if cfg.BatchSize > MaxBatchSize {
		problems = append(problems, fmt.Sprintf("BatchSize %d: at most %d", cfg.BatchSize, MaxBatchSize))
	}
	if cfg.BufferSize < 0 || cfg.BatchSize < 0 || cfg.MaxBatchBytes < 0 || cfg.FlushInterval < 0 ||
		cfg.MinBackoff < 0 || cfg.MaxBackoff < 0 || cfg.RequestTimeout < 0 {
		problems = append(problems, "sizes and durations must not be negative")
	}
	if strings.ContainsAny(cfg.Token, "\r\n") {
		problems = append(problems, "Token must not contain line breaks")
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("configure aispend client: %s", strings.Join(problems, "; "))
	}

	if cfg.BufferSize == 0 {
		cfg.BufferSize = 10_000
	}
	if cfg.BatchSize == 0 {
		cfg.BatchSize = 100
	}
	if cfg.MaxBatchBytes == 0 {
		cfg.MaxBatchBytes = 1 << 20
	}
	if cfg.FlushInterval == 0 {
		cfg.FlushInterval = time.Second
	}
	if cfg.MinBackoff == 0 {
		cfg.MinBackoff = 100 * time.Millisecond
	}
	if cfg.MaxBackoff == 0 {
		cfg.MaxBackoff = 30 * time.Second
	}
	if cfg.MaxBackoff < cfg.MinBackoff {
		cfg.MaxBackoff = cfg.MinBackoff
	}
	if cfg.RequestTimeout == 0 {
		cfg.RequestTimeout = 10 * time.Second
	}
	if cfg.DecideTimeout <= 0 {
		cfg.DecideTimeout = 250 * time.Millisecond
	}
	if cfg.DecideCacheTTL == 0 {
		cfg.DecideCacheTTL = time.Second
	}
	c := &Client{
		cfg:        cfg,
		endpoint:   strings.TrimRight(cfg.URL, "/") + "/v1/events",
		http:       cfg.HTTPClient,
		log:        cfg.Logger,
		queue:      make(chan []byte, cfg.BufferSize),
		stop:       make(chan struct{}),
		done:       make(chan struct{}),
		lastReject: map[int]time.Time{},
		suppressed: map[int]int{},
	}
	if c.http == nil {
		c.http = &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
		c.ownHTTP = true
	}
	if c.log == nil {
		c.log = slog.Default()
	}
	c.runCtx, c.cancelRun = context.WithCancel(context.Background())
	go c.run()
	return c, nil
}

// Log queues ev for sending and returns at once; it never blocks on the network, a lock held
// during I/O, or a full buffer. It fills in EventID (a UUIDv7) and OccurredAt (now) when they
// are empty, here and once, so that every retry carries the same values. The event is encoded
// now, so the caller may reuse ev.Tags afterwards. When the buffer is full, or after Close,
// the event is dropped and counted in Stats.Dropped. Log on a nil *Client does nothing, so a
// disabled client can be a nil pointer.
func (c *Client) Log(ev Event) {
	if c == nil {
		return
	}
	if ev.EventID == "" {
		id, err := uuid.NewV7()
		if err != nil { // only if the system's random source fails
			c.dropped.Add(1)
			return
		}
		ev.EventID = id.String()
	}
	if ev.OccurredAt.IsZero() {
		ev.OccurredAt = time.Now()
	}
	b, err := json.Marshal(ev)
	if err != nil || len(b)+2 > c.cfg.MaxBatchBytes {
		// Cannot happen for sane events; a request the collector would refuse anyway.
		c.rejected.Add(1)
		return
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.closed {
		c.dropped.Add(1)
		return
	}
	select {
	case c.queue <- b:
	default:
		c.dropped.Add(1)
	}
}

// Stats returns the counters so far.
func (c *Client) Stats() Stats {
	if c == nil {
		return Stats{}
	}
	return Stats{
		Sent:       c.sent.Load(),
		Duplicates: c.duplicates.Load(),
		Retried:    c.retried.Load(),
		Dropped:    c.dropped.Load(),
		Rejected:   c.rejected.Load(),
	}
}

// ErrUnsent is returned (wrapped) by Close when some events could not be sent before its
// context ended; they are counted in Stats.Dropped.
var ErrUnsent = errors.New("events left unsent")

// Close stops accepting events, sends everything buffered (retrying as usual) and stops the
// background goroutine. When ctx ends first, whatever is still unsent is counted as dropped
// (a batch in flight at that moment may or may not have been stored) and Close returns an
// error wrapping ErrUnsent. Calling Close again waits for the first call to finish.
func (c *Client) Close(ctx context.Context) error {
	if c == nil {
		return nil
	}
	c.closeOnce.Do(func() {
		c.mu.Lock()
		c.closed = true
		c.mu.Unlock()
		close(c.stop)
	})
	// When ctx ends, cancel the sender's in-flight request and wait; it then drops the rest.
	stopAfter := context.AfterFunc(ctx, c.cancelRun)
	defer stopAfter()
	<-c.done
	if c.ownHTTP {
		c.http.CloseIdleConnections()
	}
	if c.abandoned > 0 {
		return fmt.Errorf("close aispend client: %w: %d events dropped when the context ended", ErrUnsent, c.abandoned)
	}
	return nil
}
