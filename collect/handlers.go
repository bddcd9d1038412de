package collect

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	json "github.com/goccy/go-json"
	"io"
	"mime"
	"net/http"
	"strings"
	"time"
)

// handleEventsCreate is POST /v1/events: read, decode, validate every event, store all or none.
func (s *Server) handleEventsCreate() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ndjson, ok := eventContentType(r.Header.Get("Content-Type"))
		if !ok {
			writeError(w, http.StatusUnsupportedMediaType, "Content-Type must be application/json or application/x-ndjson", nil)
			return
		}
		gz, ok, ce := requestEncoding(r)
		if !ok {
			writeError(w, http.StatusUnsupportedMediaType, unsupportedEncoding(ce), nil)
			return
		}
		// The body is read before admission (body.go): a slow client holds no slot.
		b, status, msg := s.readBody(w, r, gz)
		if status != 0 {
			writeError(w, status, msg, nil)
			return
		}
		defer b.release()
		// Decoding costs about twice the body plus a fixed amount per event, whatever the
		// body holds: decodeEvents stops at MaxEvents.
		cost := decodeEstimate(len(b.data), 0) + decodeCostPerEvent*int64(min(jsonElements(b.data), s.cfg.MaxEvents))
		done, ok := s.admitDecode(r.Context(), cost)
		if !ok {
			w.Header().Set("Retry-After", "1")
			writeError(w, http.StatusServiceUnavailable, "server busy; nothing was stored; retry later", nil)
			return
		}
		defer done()

		events, status, msg := decodeEvents(b.data, ndjson, s.cfg.MaxEvents)
		if status != 0 {
			s.metrics.rejected(len(events))
			writeError(w, status, msg, nil)
			return
		}
		rules := Rules{Now: s.cfg.Now(), FutureSkew: s.cfg.FutureSkew, MaxAge: s.cfg.MaxAge, Prices: s.cfg.Prices}
		rows := make([]Row, len(events))
		var problems []Problem
		for i := range events {
			row, ps := events[i].ev.Validate(i, rules)
			problems = append(problems, events[i].typeProblems(i, ps)...)
			rows[i] = row
		}
		if len(problems) > 0 {
			s.metrics.rejected(len(events))
			writeError(w, http.StatusUnprocessableEntity, fmt.Sprintf("%d invalid field(s); nothing was stored", len(problems)), problems)
			return
		}

		accepted, dups, err := s.store.Insert(r.Context(), rows)
		if err != nil {
			s.storeError(w, r, err)
			return
		}
		s.metrics.stored(accepted, dups)
		writeJSON(w, http.StatusOK, map[string]int{"accepted": accepted, "duplicates": dups})
	})
}

// admit takes a slot for an event request, waiting at most AdmitWait for one to free up.
func (s *Server) admit() bool {
	select {
	case s.slots <- struct{}{}:
		return true
	default:
	}
	t := time.NewTimer(s.cfg.AdmitWait)
	defer t.Stop()
	select {
	case s.slots <- struct{}{}:
		return true
	case <-t.C:
		return false
	}
}

func (s *Server) storeError(w http.ResponseWriter, r *http.Request, err error) {
	status, msg := s.storeFailure(w, err)
	writeError(w, status, msg, nil)
}

// storeFailure logs a failed commit and tells how to answer it: 503 with Retry-After when the
// server is saturated or the database unavailable, else 500. It sets the Retry-After header.
func (s *Server) storeFailure(w http.ResponseWriter, err error) (int, string) {
	switch {
	case errors.Is(err, ErrSaturated):
		w.Header().Set("Retry-After", "1")
		return http.StatusServiceUnavailable, "server busy; retry later"
	case errors.Is(err, ErrUnavailable), errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		s.log.Warn("store events", "error", err)
		w.Header().Set("Retry-After", "5")
		return http.StatusServiceUnavailable, "database unavailable; nothing was stored; retry later"
	default:
		s.log.Error("store events", "error", err)
		return http.StatusInternalServerError, "internal error; nothing was stored"
	}
}

func eventContentType(h string) (ndjson, ok bool) {
	mt, _, err := mime.ParseMediaType(h)
	if err != nil {
		return false, false
	}
	switch mt {
	case "application/json":
		return false, true
	case "application/x-ndjson", "application/jsonl", "application/jsonlines":
		return true, true
	}
	return false, false
}

// decoded is one event and the first JSON type error met while decoding it, if any.
type decoded struct {
	ev      Event
	typeErr *json.UnmarshalTypeError
}

// typeProblems merges a JSON type error (a string where a number belongs, say) with the
// rule problems of the same event, reporting each field once.
func (d *decoded) typeProblems(i int, ps []Problem) []Problem {
	if d.typeErr == nil {
		return ps
	}
	field := d.typeErr.Field
	if strings.HasPrefix(field, "tags.") {
		field = "tags" // a tag's value of the wrong type is a problem of tags
	}
	out := []Problem{{Index: i, Field: field, Message: "must be " + jsonKind(d.typeErr.Type.Kind().String())}}
	for _, p := range ps {
		if p.Field != field {
			out = append(out, p)
		}
	}
	return out
}

func jsonKind(k string) string {
	switch k {
	case "int64":
		return "an integer"
	case "bool":
		return "true or false"
	case "string", "ptr":
		return "a string"
	case "map":
		return "an object of string values"
	}
	return "of another type"
}

// decodeEvents splits a body into events. A non-zero status means the body as a whole is refused.
// A JSON type error (a string where a number belongs) is kept with its event, so that it is
// reported together with that event's other problems.
func decodeEvents(body []byte, ndjson bool, max int) ([]decoded, int, string) {
	var out []decoded
	add := func() *decoded {
		out = append(out, decoded{ev: NewEvent()})
		return &out[len(out)-1]
	}
	keep := func(d *decoded, err error) error {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			d.typeErr = te
			return nil
		}
		return err
	}
	if ndjson {
		for len(body) > 0 {
			line := body
			if i := bytes.IndexByte(body, '\n'); i >= 0 {
				line, body = body[:i], body[i+1:]
			} else {
				body = nil
			}
			if line = bytes.TrimSpace(line); len(line) == 0 {
				continue
			}
			if len(out) == max {
				return nil, http.StatusRequestEntityTooLarge, fmt.Sprintf("too many events: at most %d per request", max)
			}
			if line[0] != '{' {
				return nil, http.StatusBadRequest, fmt.Sprintf("event %d: must be a JSON object", len(out))
			}
			d := add()
			if err := keep(d, json.Unmarshal(line, &d.ev)); err != nil {
				return nil, http.StatusBadRequest, fmt.Sprintf("event %d: malformed JSON: %s", len(out)-1, syntaxMessage(err))
			}
		}
	} else {
		body = bytes.TrimSpace(body)
		if len(body) == 0 {
			return nil, http.StatusBadRequest, "empty body"
		}
		dec := json.NewDecoder(bytes.NewReader(body))
		if body[0] == '[' {
			dec.Token() // the opening bracket, known to be there
			for dec.More() {
				if len(out) == max {
					return nil, http.StatusRequestEntityTooLarge, fmt.Sprintf("too many events: at most %d per request", max)
				}
				if !nextIsObject(body, dec.InputOffset()) {
					return nil, http.StatusBadRequest, fmt.Sprintf("malformed JSON array: element %d is not an object", len(out))
				}
				d := add()
				if err := keep(d, dec.Decode(&d.ev)); err != nil {
					return nil, http.StatusBadRequest, fmt.Sprintf("event %d: malformed JSON array: %s", len(out)-1, syntaxMessage(err))
				}
			}
			if _, err := dec.Token(); err != nil {
				return nil, http.StatusBadRequest, "malformed JSON array: " + syntaxMessage(err)
			}
		} else {
			if body[0] != '{' {
				return nil, http.StatusBadRequest, "body must be a JSON object, an array of objects, or NDJSON"
			}
			d := add()
			if err := keep(d, dec.Decode(&d.ev)); err != nil {
				return nil, http.StatusBadRequest, "malformed JSON: " + syntaxMessage(err)
			}
		}
		if _, err := dec.Token(); err != io.EOF {
			return nil, http.StatusBadRequest, "malformed JSON: unexpected data after the end of the body"
		}
	}
	if len(out) == 0 {
		return nil, http.StatusBadRequest, "no events in body"
	}
	return out, 0, ""
}

// nextIsObject tells whether the next value after off (skipping spaces and a comma) is an object.
func nextIsObject(body []byte, off int64) bool {
	for i := int(off); i < len(body); i++ {
		switch body[i] {
		case ' ', '\t', '\r', '\n', ',':
			continue
		case '{':
			return true
		default:
			return false
		}
	}
	return false
}

func syntaxMessage(err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("%s at byte %d", se.Error(), se.Offset)
	}
	return err.Error()
}

// errorBody is the JSON shape of every error answer.
type errorBody struct {
	Error    string    `json:"error"`
	Problems []Problem `json:"problems,omitempty"`
}

func writeError(w http.ResponseWriter, status int, msg string, problems []Problem) {
	writeJSON(w, status, errorBody{Error: msg, Problems: problems})
}

// The values of startJSON's headers, shared by every answer (net/http only reads them):
// Header.Set makes a slice for each, on every answer, POST /v1/decide's included.
var (
	jsonType = []string{"application/json"}
	nosniff  = []string{"nosniff"}
)

// startJSON writes the status and the headers of a JSON answer.
func startJSON(w http.ResponseWriter, status int) {
	h := w.Header()
	h["Content-Type"], h["X-Content-Type-Options"] = jsonType, nosniff
	w.WriteHeader(status)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	startJSON(w, status)
	enc := json.NewEncoder(w)
	_ = enc.Encode(v) // the client may have gone; nothing useful to do about it
}
