package collect

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	rpcstatus "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
)

// otlpEncoding is how an OTLP/HTTP body is encoded; the answer uses the same encoding.
type otlpEncoding int

const (
	otlpProto otlpEncoding = iota
	otlpJSON
)

func (e otlpEncoding) contentType() string {
	if e == otlpJSON {
		return "application/json"
	}
	return "application/x-protobuf"
}

// parseOTLPContentType tells the encoding of a Content-Type. Unknown types report JSON, the
// encoding a person reading the refusal can read.
func parseOTLPContentType(h string) (otlpEncoding, bool) {
	mt, _, err := mime.ParseMediaType(h)
	if err != nil {
		return otlpJSON, false
	}
	switch mt {
	case "application/x-protobuf", "application/protobuf":
		return otlpProto, true
	case "application/json":
		return otlpJSON, true
	}
	return otlpJSON, false
}

// handleTracesCreate is POST /v1/traces, an OTLP/HTTP trace export: every span with GenAI
// usage becomes an event, stored through the same store, limits and admission as
// POST /v1/events, so a 200 means the events of every accepted span are committed. Answers
// follow the OTLP specification: an ExportTraceServiceResponse (with partial_success when some
// spans were refused) or a google.rpc.Status, in the encoding of the request.
func (s *Server) handleTracesCreate() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		enc, encOK := parseOTLPContentType(r.Header.Get("Content-Type"))
		if !s.tokenOK(r) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="aispend"`)
			writeOTLPStatus(w, enc, http.StatusUnauthorized, "missing or invalid bearer token", false)
			return
		}
		if !encOK {
			writeOTLPStatus(w, enc, http.StatusUnsupportedMediaType, "Content-Type must be application/x-protobuf or application/json", false)
			return
		}
		gz := false
		switch ce := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding"))); ce {
		case "", "identity":
		case "gzip", "x-gzip":
			gz = true
		default:
			writeOTLPStatus(w, enc, http.StatusUnsupportedMediaType, fmt.Sprintf("Content-Encoding %q is not supported: send gzip or no encoding", ce), false)
			return
		}
		if r.ContentLength > s.cfg.MaxBodyBytes {
			writeOTLPStatus(w, enc, http.StatusRequestEntityTooLarge, fmt.Sprintf("body larger than %d bytes", s.cfg.MaxBodyBytes), false)
			return
		}
		// Admission before the body is read, as for /v1/events: the two share the slots.
		if !s.admit() {
			w.Header().Set("Retry-After", "1")
			writeOTLPStatus(w, enc, http.StatusServiceUnavailable, "server busy; nothing was stored; retry later", false)
			return
		}
		defer func() { <-s.slots }()

		buf := bufPool.Get().(*bytes.Buffer)
		buf.Reset()
		defer bufPool.Put(buf)
		if status, msg := s.readOTLPBody(w, r, gz, buf); status != 0 {
			writeOTLPStatus(w, enc, status, msg, status == http.StatusBadRequest)
			return
		}

		req := ptraceotlp.NewExportRequest()
		var err error
		if enc == otlpProto {
			err = req.UnmarshalProto(buf.Bytes())
		} else {
			err = req.UnmarshalJSON(buf.Bytes())
		}
		if err != nil {
			writeOTLPStatus(w, enc, http.StatusBadRequest, "undecodable ExportTraceServiceRequest: "+err.Error(), true)
			return
		}

		rules := Rules{Now: s.cfg.Now(), FutureSkew: s.cfg.FutureSkew, MaxAge: s.cfg.MaxAge, Prices: s.cfg.Prices}
		m, tooMany := mapSpans(req.Traces(), rules, s.cfg.MaxEvents)
		if tooMany {
			writeOTLPStatus(w, enc, http.StatusRequestEntityTooLarge,
				fmt.Sprintf("too many spans with GenAI usage: at most %d per request (lower the exporter's batch size)", s.cfg.MaxEvents), false)
			return
		}
		if len(m.rows) > 0 {
			accepted, dups, err := s.store.Insert(r.Context(), m.rows)
			if err != nil {
				status, msg := s.storeFailure(w, err)
				writeOTLPStatus(w, enc, status, msg, false)
				return
			}
			s.metrics.stored(accepted, dups)
		}
		s.metrics.spans(len(m.rows), m.ignored, len(m.rejected))
		s.metrics.rejected(len(m.rejected))

		// Full success leaves partial_success unset, as the specification requires; pdata's
		// marshalers always write the field, so the empty message is written here.
		var body []byte
		if enc == otlpJSON {
			body = []byte("{}")
		}
		if len(m.rejected) > 0 {
			resp := ptraceotlp.NewExportResponse()
			ps := resp.PartialSuccess()
			ps.SetRejectedSpans(int64(len(m.rejected)))
			ps.SetErrorMessage(strings.ToValidUTF8(m.rejectedMessage(), "\uFFFD"))
			if enc == otlpProto {
				body, err = resp.MarshalProto()
			} else {
				body, err = resp.MarshalJSON()
			}
			if err != nil { // cannot happen for a message this small; the events are stored
				s.log.Error("encode OTLP response", "error", err)
			}
		}
		w.Header().Set("Content-Type", enc.contentType())
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(body)
	})
}

// readOTLPBody reads the body into buf, gunzipping it when gz is set. Both the body as sent
// and the body after decompression are limited to MaxBodyBytes, so that a small gzip bomb
// cannot make the server hold a large body. A non-zero status refuses the request.
func (s *Server) readOTLPBody(w http.ResponseWriter, r *http.Request, gz bool, buf *bytes.Buffer) (int, string) {
	tooBig := func() (int, string) {
		s.metrics.rejected(0)
		return http.StatusRequestEntityTooLarge, fmt.Sprintf("body larger than %d bytes", s.cfg.MaxBodyBytes)
	}
	var src io.Reader = http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes)
	if gz {
		zr, err := gzip.NewReader(src)
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				return tooBig()
			}
			return http.StatusBadRequest, "Content-Encoding is gzip but the body is not: " + err.Error()
		}
		defer zr.Close()
		src = io.LimitReader(zr, s.cfg.MaxBodyBytes+1)
	} else if r.ContentLength > 0 {
		buf.Grow(int(r.ContentLength) + bytes.MinRead) // read without doubling the buffer
	}
	if _, err := buf.ReadFrom(src); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return tooBig()
		}
		if gz {
			return http.StatusBadRequest, "corrupt gzip body: " + err.Error()
		}
		return http.StatusBadRequest, "read body: " + err.Error()
	}
	if int64(buf.Len()) > s.cfg.MaxBodyBytes {
		return tooBig()
	}
	return 0, ""
}

// writeOTLPStatus writes an OTLP failure: a google.rpc.Status in the request's encoding. A bad
// request carries a google.rpc.BadRequest detail, as the specification recommends.
// Status.code is left unset: OTLP/HTTP does not use it.
func writeOTLPStatus(w http.ResponseWriter, enc otlpEncoding, code int, msg string, badRequest bool) {
	// A decoder's error can quote the body: protobuf strings must be valid UTF-8, and the
	// answer need not echo much of it.
	msg = strings.ToValidUTF8(msg, "\uFFFD")
	if len(msg) > 1024 {
		msg = strings.ToValidUTF8(msg[:1024], "") + "…"
	}
	st := &rpcstatus.Status{Message: msg}
	if badRequest {
		if d, err := anypb.New(&errdetails.BadRequest{FieldViolations: []*errdetails.BadRequest_FieldViolation{
			{Field: "body", Description: msg},
		}}); err == nil {
			st.Details = append(st.Details, d)
		}
	}
	var body []byte
	if enc == otlpProto {
		body, _ = proto.Marshal(st) // a Status with a message and an Any always marshals
	} else {
		body, _ = protojson.Marshal(st)
	}
	w.Header().Set("Content-Type", enc.contentType())
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	_, _ = w.Write(body)
}
