package collect

import (
	"unicode/utf8"
)

// decodeDecideFast reads the request nearly every client sends — one JSON object of known
// fields, strings without escapes, token counts as plain integers, every value valid — without
// reflection or a map of raw values: POST /v1/decide is asked before every AI request, and
// decoding through encoding/json took as much of the collector's CPU as the decision itself.
// ok is false for anything else; decodeDecide then reads the body the general way, which
// accepts every valid form and names each problem. Whenever ok, the result is the general
// path's (FuzzDecodeDecideFast).
func decodeDecideFast(body []byte) (req DecideRequest, ok bool) {
	s := scanner{b: body}
	s.space()
	if !s.next('{') {
		return req, false
	}
	s.space()
	if s.next('}') {
		return req, s.end()
	}
	for {
		key, ok := s.bytes()
		if !ok {
			return req, false
		}
		s.space()
		if !s.next(':') {
			return req, false
		}
		s.space()
		if !s.field(&req, key) {
			return req, false
		}
		s.space()
		if s.next('}') {
			return req, s.end()
		}
		if !s.next(',') {
			return req, false
		}
		s.space()
	}
}

// scanner walks a JSON text for decodeDecideFast.
type scanner struct {
	b []byte
	i int
}

// field reads the value of key into req; false for an unknown key or a value the general path
// would refuse or read differently.
func (s *scanner) field(req *DecideRequest, key []byte) bool {
	// string(key) does not allocate here: the compiler converts in place for a call that keeps
	// nothing of it, and for a switch (TestDecodeDecideFastAllocs).
	if text := req.textField(string(key)); text != nil {
		v, ok := s.str()
		if !ok || len(v) > maxDecideText {
			return false
		}
		*text = v
		return true
	}
	switch string(key) {
	case "input_tokens", "max_output_tokens":
		n, ok := s.count()
		if !ok {
			return false
		}
		if string(key) == "input_tokens" {
			req.InputTokens = &n
		} else {
			req.MaxOutputTokens = &n
		}
		return true
	case "estimated_cost":
		return s.cost(req)
	case "tags":
		return s.tags(req)
	}
	return false
}

// cost reads estimated_cost, a decimal string or number, by an event's cost rules (Amount).
func (s *scanner) cost(req *DecideRequest) bool {
	start := s.i
	if s.i < len(s.b) && s.b[s.i] == '"' {
		if _, ok := s.str(); !ok {
			return false
		}
	} else if !s.number() {
		return false
	}
	var a Amount
	if err := a.UnmarshalJSON(s.b[start:s.i]); err != nil || a.Bad != "" || a.Value.IsNegative() {
		return false
	}
	req.EstimatedCost = &a.Value
	return true
}

// tags reads an object of at most 32 string values.
func (s *scanner) tags(req *DecideRequest) bool {
	if !s.next('{') {
		return false
	}
	req.Tags = map[string]string{}
	s.space()
	if s.next('}') {
		return true
	}
	for {
		k, ok := s.str()
		if !ok {
			return false
		}
		s.space()
		if !s.next(':') {
			return false
		}
		s.space()
		v, ok := s.str()
		if !ok {
			return false
		}
		req.Tags[k] = v
		if len(req.Tags) > 32 {
			return false
		}
		s.space()
		if s.next('}') {
			return true
		}
		if !s.next(',') {
			return false
		}
		s.space()
	}
}

func (s *scanner) space() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// next consumes c if it comes next.
func (s *scanner) next(c byte) bool {
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

// end tells whether only white space follows.
func (s *scanner) end() bool {
	s.space()
	return s.i == len(s.b)
}

// str reads a string without escapes, of valid UTF-8 (the general path would replace invalid
// bytes, and decode escapes).
func (s *scanner) str() (string, bool) {
	v, ok := s.bytes()
	return string(v), ok
}

// bytes is str's text, in the body: a key is only compared, never kept.
func (s *scanner) bytes() ([]byte, bool) {
	if !s.next('"') {
		return nil, false
	}
	start := s.i
	for s.i < len(s.b) {
		c := s.b[s.i]
		switch {
		case c == '"':
			v := s.b[start:s.i]
			s.i++
			if !utf8.Valid(v) {
				return nil, false
			}
			return v, true
		case c == '\\' || c < 0x20:
			return nil, false
		}
		s.i++
	}
	return nil, false
}

// count reads a token count: a plain non-negative integer of at most MaxTokens.
func (s *scanner) count() (int64, bool) {
	start := s.i
	var n int64
	for s.i < len(s.b) && s.b[s.i] >= '0' && s.b[s.i] <= '9' {
		n = n*10 + int64(s.b[s.i]-'0')
		s.i++
		if n > MaxTokens {
			return 0, false
		}
	}
	digits := s.i - start
	if digits == 0 || (digits > 1 && s.b[start] == '0') {
		return 0, false
	}
	if s.i < len(s.b) {
		switch s.b[s.i] {
		case '.', 'e', 'E':
			return 0, false // a JSON number, but not an integer as written
		}
	}
	return n, true
}

// number consumes a JSON number: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (s *scanner) number() bool {
	s.next('-')
	switch {
	case s.next('0'):
	case s.i < len(s.b) && s.b[s.i] >= '1' && s.b[s.i] <= '9':
		s.digits()
	default:
		return false
	}
	if s.next('.') && !s.digits() {
		return false
	}
	if s.next('e') || s.next('E') {
		if !s.next('+') {
			s.next('-')
		}
		if !s.digits() {
			return false
		}
	}
	return true
}

// digits consumes one or more digits.
func (s *scanner) digits() bool {
	start := s.i
	for s.i < len(s.b) && s.b[s.i] >= '0' && s.b[s.i] <= '9' {
		s.i++
	}
	return s.i > start
}
