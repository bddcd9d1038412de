package collect

import (
	"fmt"
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
		enc, gz, ok := s.acceptTraces(w, r)
		if !ok {
			return
		}
		// Read before admission, as for /v1/events; the two share the slots and budgets.
		b, status, msg := s.readBody(w, r, gz)
		if status != 0 {
			writeOTLPStatus(w, enc, status, msg, status == http.StatusBadRequest)
			return
		}
		defer b.release()
		req, done, ok := s.decodeTraces(w, r, enc, b.data)
		if !ok {
			return
		}
		defer done()
		m, ok := s.storeSpans(w, r, enc, req)
		if !ok {
			return
		}
		s.writeTracesResponse(w, enc, m)
	})
}

// acceptTraces checks what a trace export must have before its body is read: the caller's
// ingest token, an OTLP Content-Type (enc) and a known Content-Encoding (gz). It answers a
// failure itself.
func (s *Server) acceptTraces(w http.ResponseWriter, r *http.Request) (enc otlpEncoding, gz, ok bool) {
	enc, encOK := parseOTLPContentType(r.Header.Get("Content-Type"))
	if status, msg := s.authorize(r, ingestToken, refusedIngest); status != 0 {
		if status == http.StatusUnauthorized {
			w.Header().Set("WWW-Authenticate", `Bearer realm="aispend"`)
		}
		writeOTLPStatus(w, enc, status, msg, false)
		return enc, false, false
	}
	if !encOK {
		writeOTLPStatus(w, enc, http.StatusUnsupportedMediaType, "Content-Type must be application/x-protobuf or application/json", false)
		return enc, false, false
	}
	gz, ok, ce := requestEncoding(r)
	if !ok {
		writeOTLPStatus(w, enc, http.StatusUnsupportedMediaType, unsupportedEncoding(ce), false)
		return enc, false, false
	}
	return enc, gz, true
}

// decodeTraces admits the decoding of data and decodes it; call done once the request is
// answered. It answers a failure itself.
func (s *Server) decodeTraces(w http.ResponseWriter, r *http.Request, enc otlpEncoding, data []byte) (req ptraceotlp.ExportRequest, done func(), ok bool) {
	// pdata allocates about 250 bytes per span, attribute or value, so a body of empty
	// attributes costs a hundred times its size: count them before decoding.
	var elements int
	if enc == otlpProto {
		elements = otlpElements(data)
	} else {
		elements = jsonElements(data)
	}
	cost := decodeEstimate(len(data), elements)
	if cost > s.cfg.maxDecoded() {
		s.metrics.rejected(0)
		writeOTLPStatus(w, enc, http.StatusRequestEntityTooLarge, fmt.Sprintf(
			"export too large to decode: %d spans, events, links, attributes and values in %d bytes; at most about %d per request (lower the exporter's batch size)",
			elements, len(data), (s.cfg.maxDecoded()-2*s.cfg.MaxBodyBytes)/decodeCostPerElement), false)
		return req, nil, false
	}
	done, ok = s.admitDecode(r.Context(), cost)
	if !ok {
		w.Header().Set("Retry-After", "1")
		writeOTLPStatus(w, enc, http.StatusServiceUnavailable, "server busy; nothing was stored; retry later", false)
		return req, nil, false
	}
	req = ptraceotlp.NewExportRequest()
	var err error
	if enc == otlpProto {
		err = req.UnmarshalProto(data)
	} else {
		err = req.UnmarshalJSON(data)
	}
	if err != nil {
		writeOTLPStatus(w, enc, http.StatusBadRequest, "undecodable ExportTraceServiceRequest: "+err.Error(), true)
		done()
		return req, nil, false
	}
	return req, done, true
}

// storeSpans maps the spans of req to events and stores those with GenAI usage. It answers a
// failure itself.
func (s *Server) storeSpans(w http.ResponseWriter, r *http.Request, enc otlpEncoding, req ptraceotlp.ExportRequest) (spanMapping, bool) {
	rules := Rules{Now: s.cfg.Now(), FutureSkew: s.cfg.FutureSkew, MaxAge: s.cfg.MaxAge, Prices: s.cfg.Prices}
	m, tooMany := mapSpans(req.Traces(), rules, s.cfg.MaxEvents)
	if tooMany {
		writeOTLPStatus(w, enc, http.StatusRequestEntityTooLarge,
			fmt.Sprintf("too many spans with GenAI usage: at most %d per request (lower the exporter's batch size)", s.cfg.MaxEvents), false)
		return m, false
	}
	if len(m.rows) > 0 {
		accepted, dups, err := s.store.Insert(r.Context(), m.rows)
		if err != nil {
			status, msg := s.storeFailure(w, err)
			writeOTLPStatus(w, enc, status, msg, false)
			return m, false
		}
		s.metrics.stored(accepted, dups)
	}
	s.metrics.spans(len(m.rows), m.ignored, len(m.rejected))
	s.metrics.rejected(len(m.rejected))
	return m, true
}

// writeTracesResponse answers a stored export: an ExportTraceServiceResponse, with
// partial_success when some spans were refused.
func (s *Server) writeTracesResponse(w http.ResponseWriter, enc otlpEncoding, m spanMapping) {
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
		var err error
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
