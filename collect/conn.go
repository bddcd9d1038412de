package collect

import (
	"context"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"golang.org/x/net/netutil"
)

// Listen limits ln to maxConns connections at once (more wait in the kernel's accept queue
// instead of failing with "too many open files") and keeps a connection on which no request
// has authenticated for at most unauthIdle between reads: a client that never sends a token
// (idle after GET /healthz, say) cannot hold a connection for the server's idle timeout. Serve
// it with ConnContext.
func Listen(ln net.Listener, maxConns int, unauthIdle time.Duration) net.Listener {
	return &authListener{Listener: netutil.LimitListener(ln, maxConns), unauthIdle: unauthIdle}
}

// ConnContext is http.Server.ConnContext for a listener of Listen: it lets the handlers mark
// the connection authenticated.
func ConnContext(ctx context.Context, c net.Conn) context.Context {
	if ac, ok := c.(*authConn); ok {
		return context.WithValue(ctx, authConnKey{}, ac)
	}
	return ctx
}

type authConnKey struct{}

type authListener struct {
	net.Listener
	unauthIdle time.Duration
}

func (l *authListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &authConn{Conn: c, unauthIdle: l.unauthIdle}, nil
}

// authConn caps every read deadline the server sets (for headers, bodies, the idle wait) at
// unauthIdle from now until a request on it carries a known token.
type authConn struct {
	net.Conn
	unauthIdle    time.Duration
	authenticated atomic.Bool
}

func (c *authConn) SetReadDeadline(t time.Time) error {
	return c.Conn.SetReadDeadline(c.capped(t))
}

func (c *authConn) SetDeadline(t time.Time) error {
	return c.Conn.SetDeadline(c.capped(t))
}

func (c *authConn) capped(t time.Time) time.Time {
	if c.authenticated.Load() {
		return t
	}
	limit := time.Now().Add(c.unauthIdle)
	if t.IsZero() || t.After(limit) {
		return limit
	}
	return t
}

// markAuthenticated lifts the connection's cap once a request on it carries a known token.
func markAuthenticated(r *http.Request) {
	if ac, ok := r.Context().Value(authConnKey{}).(*authConn); ok {
		ac.authenticated.Store(true)
	}
}
