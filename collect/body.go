package collect

import (
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"google.golang.org/protobuf/encoding/protowire"
)

// How the ingest endpoints bound memory and time per request:
//
//   - A body is read before the request takes an admission slot, into a buffer that grows with
//     what actually arrived (never sized from Content-Length), so a slow client holds no slot
//     and little memory while it sends. Every byte of buffer is charged to bodyMem, a budget
//     shared by all requests, until the request is answered: bodies being received or waiting
//     for a slot never hold more than that budget, whatever the number of connections.
//   - The body must arrive within BodyTimeout (a read deadline on the connection), else 408.
//   - A gzip body is limited to MaxBodyBytes both as sent and once decompressed.
//   - Before decoding, a request charges an estimate of its decoded size to decodeMem, a second
//     budget; a request whose estimate alone is above MaxDecodedBytes is refused with 413.

// bodyGrowStart is the first size of a body buffer; it doubles from there as data arrives.
const bodyGrowStart = 16 << 10

// drainLimit is how much of a refused body is read and discarded before the answer, so that a
// client that reads only after sending all of its body gets the answer, not a connection reset.
func (s *Server) drainLimit() int64 { return max(8<<20, 4*s.cfg.MaxBodyBytes) }

// body is a request body as read, holding its share of the body memory budget until release.
type body struct {
	data []byte
	held int64
	s    *Server
}

func (b *body) release() {
	if b.held > 0 {
		b.s.bodyMem.Release(b.held)
		b.held = 0
	}
}

// grow makes room for more of the body, up to want bytes of capacity, charging the budget. It
// waits for budget until ctx is done.
func (b *body) grow(ctx context.Context, want int) error {
	extra := int64(want - cap(b.data))
	if err := b.s.bodyMem.Acquire(ctx, extra); err != nil {
		return err
	}
	b.held += extra
	data := make([]byte, len(b.data), want)
	copy(data, b.data)
	b.data = data
	return nil
}

// requestEncoding reads Content-Encoding: gzip or none. ok is false for any other encoding.
func requestEncoding(r *http.Request) (gz, ok bool, name string) {
	switch ce := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding"))); ce {
	case "", "identity":
		return false, true, ce
	case "gzip", "x-gzip":
		return true, true, ce
	default:
		return false, false, ce
	}
}

func unsupportedEncoding(name string) string {
	return fmt.Sprintf("Content-Encoding %q is not supported: send gzip or no encoding", name)
}

// readBody reads the request's body, gunzipping it when gz is set. A non-zero status refuses
// the request with msg; otherwise release the body once the request is answered.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request, gz bool) (*body, int, string) {
	limit := s.cfg.MaxBodyBytes
	tooBig := func(what string) (*body, int, string) {
		s.metrics.rejected(0)
		s.drain(r)
		return nil, http.StatusRequestEntityTooLarge, fmt.Sprintf("body larger than %d bytes%s", limit, what)
	}
	deadline := time.Now().Add(s.cfg.BodyTimeout)
	// Unsupported only by test recorders, which have no connection to hold.
	_ = http.NewResponseController(w).SetReadDeadline(deadline)
	if r.ContentLength > limit {
		return tooBig("")
	}
	ctx, cancel := context.WithDeadline(r.Context(), deadline)
	defer cancel()

	b := &body{s: s}
	gzStarted := false
	fail := func(err error) (*body, int, string) {
		b.release()
		var mbe *http.MaxBytesError
		switch {
		case errors.As(err, &mbe):
			return tooBig("")
		case errors.Is(err, os.ErrDeadlineExceeded):
			return nil, http.StatusRequestTimeout, fmt.Sprintf("body not received within %s", s.cfg.BodyTimeout)
		case ctx.Err() != nil && r.Context().Err() == nil: // waited for memory until the deadline
			return nil, http.StatusServiceUnavailable, "server busy receiving other bodies; nothing was stored; retry later"
		case gz && !gzStarted:
			return nil, http.StatusBadRequest, "Content-Encoding is gzip but the body is not: " + err.Error()
		case gz:
			return nil, http.StatusBadRequest, "corrupt gzip body: " + err.Error()
		default:
			return nil, http.StatusBadRequest, "read body: " + err.Error()
		}
	}
	var src io.Reader = http.MaxBytesReader(w, r.Body, limit)
	if gz {
		zr, err := gzip.NewReader(src)
		if err != nil {
			return fail(err)
		}
		defer zr.Close()
		src, gzStarted = zr, true
	}
	// The buffer never grows past what was declared: a body of exactly the limit is read
	// without a last doubling.
	ceiling := limit
	if !gz && r.ContentLength > 0 {
		ceiling = r.ContentLength
	}
	for {
		if len(b.data) == cap(b.data) {
			if int64(len(b.data)) >= ceiling {
				var probe [1]byte
				n, err := io.ReadFull(src, probe[:])
				if n > 0 {
					b.release()
					return tooBig(" after decompression")
				}
				if err == io.EOF {
					return b, 0, ""
				}
				return fail(err)
			}
			if err := b.grow(ctx, int(min(max(2*int64(cap(b.data)), bodyGrowStart), ceiling))); err != nil {
				return fail(err)
			}
		}
		n, err := src.Read(b.data[len(b.data):cap(b.data)])
		b.data = b.data[:len(b.data)+n]
		if err == io.EOF {
			return b, 0, ""
		}
		if err != nil {
			return fail(err)
		}
	}
}

// drain reads and discards what the client is still sending of a refused body, up to
// drainLimit and until the body deadline: closing a connection with unread data resets it, and
// a client that reads only after sending would lose the answer.
func (s *Server) drain(r *http.Request) {
	if r.ContentLength > s.drainLimit() {
		return // it would be cut off anyway
	}
	_, _ = io.CopyN(io.Discard, r.Body, s.drainLimit())
}

// Estimated bytes that decoding costs per JSON object or protobuf message (a span, an
// attribute, a value), measured with pdata and go-json, garbage of slice growth included.
const (
	decodeCostPerElement = 250
	decodeCostPerEvent   = 1200
)

// decodeEstimate is what decoding a body of n bytes holding elements objects or messages is
// expected to cost.
func decodeEstimate(n, elements int) int64 {
	return 2*int64(n) + decodeCostPerElement*int64(elements)
}

// admitDecode takes an admission slot and cost bytes of the decode budget, waiting at most
// AdmitWait for both. On success call the returned function once the request is answered.
func (s *Server) admitDecode(ctx context.Context, cost int64) (func(), bool) {
	if !s.admit() {
		return nil, false
	}
	cost = min(cost, s.cfg.decodeBudget())
	ctx, cancel := context.WithTimeout(ctx, s.cfg.AdmitWait)
	defer cancel()
	if err := s.decodeMem.Acquire(ctx, cost); err != nil {
		<-s.slots
		return nil, false
	}
	return func() {
		s.decodeMem.Release(cost)
		<-s.slots
	}, true
}

// jsonElements counts the objects and arrays of a JSON text (outside strings): what decoding it
// allocates grows with them.
func jsonElements(b []byte) int {
	n, inString, escaped := 0, false, false
	for _, c := range b {
		switch {
		case escaped:
			escaped = false
		case inString:
			switch c {
			case '\\':
				escaped = true
			case '"':
				inString = false
			}
		case c == '"':
			inString = true
		case c == '{', c == '[':
			n++
		}
	}
	return n
}

// otlpMessage names the messages of an ExportTraceServiceRequest that decoding allocates.
type otlpMessage uint8

const (
	pbRequest otlpMessage = iota
	pbResourceSpans
	pbResource
	pbScopeSpans
	pbScope
	pbSpan
	pbSpanEvent
	pbLink
	pbKeyValue
	pbAnyValue
	pbArray
	pbKVList
)

// otlpChildren is, per message, its fields that hold messages (the OTLP trace .proto files).
var otlpChildren = [...]map[protowire.Number]otlpMessage{
	pbRequest:       {1: pbResourceSpans},
	pbResourceSpans: {1: pbResource, 2: pbScopeSpans},
	pbResource:      {1: pbKeyValue},
	pbScopeSpans:    {1: pbScope, 2: pbSpan},
	pbScope:         {3: pbKeyValue},
	pbSpan:          {9: pbKeyValue, 11: pbSpanEvent, 13: pbLink},
	pbSpanEvent:     {3: pbKeyValue},
	pbLink:          {4: pbKeyValue},
	pbKeyValue:      {2: pbAnyValue},
	pbAnyValue:      {5: pbArray, 6: pbKVList},
	pbArray:         {1: pbAnyValue},
	pbKVList:        {1: pbKeyValue},
}

// maxOTLPDepth bounds the nesting of values (arrays and lists in arrays...) that is counted.
const maxOTLPDepth = 64

// otlpElements counts the messages of a protobuf ExportTraceServiceRequest without decoding it:
// spans, events, links, attributes and values, each an allocation when pdata decodes it (a
// 2-byte empty attribute costs about 200 bytes). It stops counting at a malformed field, which
// the decoder then reports; below maxOTLPDepth it assumes the worst.
func otlpElements(b []byte) int {
	var count func(b []byte, m otlpMessage, depth int) int
	count = func(b []byte, m otlpMessage, depth int) int {
		n := 0
		for len(b) > 0 {
			num, typ, l := protowire.ConsumeTag(b)
			if l < 0 {
				return n
			}
			b = b[l:]
			if typ == protowire.StartGroupType || typ == protowire.EndGroupType {
				// pdata skips a group only up to the first field that is not a group tag, then
				// reads on at this level: counting the fields inside as this level's keeps the
				// count an upper bound of what it decodes (OTLP itself has no groups).
				continue
			}
			if typ != protowire.BytesType {
				if l = protowire.ConsumeFieldValue(num, typ, b); l < 0 {
					return n
				}
				b = b[l:]
				continue
			}
			v, l := protowire.ConsumeBytes(b)
			if l < 0 {
				return n
			}
			b = b[l:]
			if child, ok := otlpChildren[m][num]; ok {
				n++
				if depth < maxOTLPDepth {
					n += count(v, child, depth+1)
				} else {
					n += len(v) / 2 // as if it held only empty messages, two bytes each
				}
			}
		}
		return n
	}
	return count(b, pbRequest, 0)
}
