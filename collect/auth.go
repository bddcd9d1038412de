package collect

import (
	"crypto/subtle"
	"net/http"
)

// Bearer tokens of three kinds: ingest, read and admin. Every endpoint names the kinds it takes.

// tokenKind is a set of token kinds.
type tokenKind uint8

const (
	ingestToken tokenKind = 1 << iota
	readToken
	adminToken
)

// kindOf is the kinds of token got is, compared in constant time with every configured token.
func (s *Server) kindOf(got []byte) tokenKind {
	var k tokenKind
	for _, set := range []struct {
		kind   tokenKind
		tokens [][]byte
	}{{ingestToken, s.tokens}, {readToken, s.readTokens}, {adminToken, s.adminTokens}} {
		match := 0
		for _, t := range set.tokens {
			match |= subtle.ConstantTimeCompare(got, t)
		}
		if match == 1 {
			k |= set.kind
		}
	}
	return k
}

// open tells whether endpoints for kinds need no token: ingest endpoints when no ingest token is
// configured (a loopback-only mode that cmd/aispend allows explicitly), the others only when no
// token of any kind is.
func (s *Server) open(allowed tokenKind) bool {
	if allowed&ingestToken != 0 {
		return len(s.tokens) == 0
	}
	return len(s.tokens) == 0 && len(s.readTokens) == 0 && len(s.adminTokens) == 0
}

// authedAs requires a bearer token of one of the allowed kinds: 401 for a missing or unknown
// token, 403 for a valid token of another kind (so that an application's ingest token cannot
// read the organisation's spend, nor a dashboard's read token send alerts). refused says what
// the endpoint needs.
func (s *Server) authedAs(allowed tokenKind, refused string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if status, msg := s.authorize(r, allowed, refused); status != 0 {
			if status == http.StatusUnauthorized {
				w.Header().Set("WWW-Authenticate", `Bearer realm="aispend"`)
			}
			writeError(w, status, msg, nil)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// authorize checks r's bearer token against the allowed kinds: 0, or 401 (missing or unknown)
// or 403 (another kind: refused says what the endpoint needs) with the message to answer. A
// known token of any kind marks the connection authenticated (conn.go).
func (s *Server) authorize(r *http.Request, allowed tokenKind, refused string) (int, string) {
	if s.open(allowed) {
		markAuthenticated(r)
		return 0, ""
	}
	got, ok := bearer(r.Header.Get("Authorization"))
	kind := tokenKind(0)
	if ok {
		kind = s.kindOf(got)
	}
	if kind == 0 {
		return http.StatusUnauthorized, "missing or invalid bearer token"
	}
	markAuthenticated(r)
	if kind&allowed == 0 {
		return http.StatusForbidden, refused
	}
	return 0, ""
}
