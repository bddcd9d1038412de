// Package testkit is the one home of what tests share. This package holds the small helpers every
// test package may import (it imports nothing of aispend, so internal tests of any package can
// use it); the sub-packages start or fill real components:
//
//   - pgtest: a private PostgreSQL, a fresh migrated database per test
//   - eventtest: events built with valid defaults and stored through the collector's store
//   - mailtest: Mailpit as the SMTP server, and its messages
//   - s3test: versitygw as the S3 server
//   - browsertest: a headless Chromium for pages and emails
package testkit

import (
	"net"
	"testing"
	"time"

	"github.com/shopspring/decimal"
)

// Dec parses a decimal literal written in a test; a typo panics at once rather than comparing
// against zero.
func Dec(s string) decimal.Decimal { return decimal.RequireFromString(s) }

// Eventually polls cond every 10 ms until it holds, and fails the test naming what when the
// limit passes first. Give a generous limit: it bounds a wait, it measures nothing.
func Eventually(t testing.TB, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %s: %s", limit, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// FreePort is a TCP port on 127.0.0.1 free a moment ago, for a test server to listen on.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
