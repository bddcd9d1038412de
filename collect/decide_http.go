package collect

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
)

// maxDecideBody bounds POST /v1/decide's body: who and what, and an estimate.
const maxDecideBody = 64 << 10

// decideBufs are buffers for decide bodies and answers, reused: POST /v1/decide is asked before
// every AI request, and a buffer of its own for each body was the largest garbage of a decision.
var decideBufs = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

var errTooBig = errors.New("body too large")

// readLimited appends what r reads to buf, up to limit bytes; errTooBig past that.
func readLimited(r io.Reader, buf []byte, limit int) ([]byte, error) {
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := r.Read(buf[len(buf):min(cap(buf), limit+1)])
		buf = buf[:len(buf)+n]
		switch {
		case len(buf) > limit:
			return buf, errTooBig
		case err == io.EOF:
			return buf, nil
		case err != nil:
			return buf, err
		}
	}
}

// handleDecide answers POST /v1/decide from the Decider's memory; without enforced budgets
// (no Decider) every request is allowed, and the answer says no budget decided.
func (s *Server) handleDecide() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(strings.ToLower(ct), "application/json") {
			writeError(w, http.StatusUnsupportedMediaType, fmt.Sprintf("content type %q: want application/json", ct), nil)
			return
		}
		buf := decideBufs.Get().(*[]byte)
		defer decideBufs.Put(buf)
		body, err := readLimited(r.Body, (*buf)[:0], maxDecideBody)
		*buf = body[:0]
		switch {
		case errors.Is(err, errTooBig):
			writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("body over %d bytes", maxDecideBody), nil)
			return
		case err != nil:
			writeError(w, http.StatusBadRequest, "could not read the body", nil)
			return
		}
		req, problems, err := decodeDecide(body) // copies what it keeps: body goes back to the pool
		if err != nil {
			writeError(w, http.StatusBadRequest, "malformed JSON body: "+err.Error(), nil)
			return
		}
		if len(problems) > 0 {
			writeError(w, http.StatusUnprocessableEntity, fmt.Sprintf("%d invalid field(s)", len(problems)), problems)
			return
		}
		ans := DecideAnswer{Decision: Allow, Budgets: []DecidingBudget{}, Estimate: "0"}
		if s.cfg.Decide != nil {
			ans = s.cfg.Decide.Decide(req)
		}
		writeDecideAnswer(w, &ans)
	})
}

// decodeDecide reads a decide request: err for a body that is not one JSON object, problems for
// fields of the wrong type or value, every one listed.
func decodeDecide(body []byte) (DecideRequest, []Problem, error) {
	if req, ok := decodeDecideFast(body); ok {
		return req, nil, nil
	}
	return decodeDecideGeneral(body)
}

// decodeDecideGeneral reads any decide body through encoding/json, every problem listed.
func decodeDecideGeneral(body []byte) (DecideRequest, []Problem, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil || raw == nil {
		if err == nil {
			err = errors.New("want a JSON object")
		}
		return DecideRequest{}, nil, err
	}
	var req DecideRequest
	var problems []Problem
	bad := func(field, format string, args ...any) {
		problems = append(problems, Problem{Field: field, Message: fmt.Sprintf(format, args...)})
	}
	for _, k := range sortedFields(raw) {
		v := raw[k]
		if text := req.textField(k); text != nil {
			if err := json.Unmarshal(v, text); err != nil {
				bad(k, "want a string")
			} else if len(*text) > maxDecideText {
				bad(k, "longer than %d characters", maxDecideText)
			}
			continue
		}
		switch k {
		case "tags":
			if err := json.Unmarshal(v, &req.Tags); err != nil {
				bad(k, "want an object of strings")
			} else if len(req.Tags) > 32 {
				bad(k, "more than 32 pairs")
			}
		case "estimated_cost":
			var a Amount // the rules of an event's cost
			switch err := json.Unmarshal(v, &a); {
			case err != nil || a.Bad != "":
				bad(k, "%s", cmp.Or(a.Bad, "must be a decimal number or string"))
			case a.Value.IsNegative():
				bad(k, "must be ≥ 0")
			default:
				req.EstimatedCost = &a.Value
			}
		case "input_tokens", "max_output_tokens":
			var n int64
			switch err := json.Unmarshal(v, &n); {
			case err != nil:
				bad(k, "want an integer")
			case n < 0 || n > MaxTokens:
				bad(k, "want 0 to %d", int64(MaxTokens))
			case k == "input_tokens":
				req.InputTokens = &n
			default:
				req.MaxOutputTokens = &n
			}
		default:
			bad(k, "unknown field")
		}
	}
	return req, problems, nil
}

// maxDecideText is the longest text field of a decide request, in bytes.
const maxDecideText = 256

// textField is the request's text field named key; nil for any other key.
func (req *DecideRequest) textField(key string) *string {
	switch key {
	case "event_id":
		return &req.EventID
	case "user_id":
		return &req.UserID
	case "org_id":
		return &req.OrgID
	case "service":
		return &req.Service
	case "model":
		return &req.Model
	case "provider":
		return &req.Provider
	case "endpoint":
		return &req.Endpoint
	}
	return nil
}

// sortedFields is m's keys in order, so problems are listed the same way every time.
func sortedFields(m map[string]json.RawMessage) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
