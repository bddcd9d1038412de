package channel

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// SignatureHeader is the webhook signature's header: "t=<unix seconds>,v1=<hex HMAC-SHA256 of
// "<t>.<body>" with the channel's secret>".
const SignatureHeader = "Aispend-Signature"

// Tolerance is how old a signature Verify accepts: an older one is a replay.
const Tolerance = 5 * time.Minute

// Sign is the Aispend-Signature value of body signed at t with secret.
func Sign(secret []byte, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	return "t=" + ts + ",v1=" + hex.EncodeToString(mac(secret, ts, body))
}

func mac(secret []byte, ts string, body []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(ts))
	m.Write([]byte("."))
	m.Write(body)
	return m.Sum(nil)
}

// Verification errors.
var (
	ErrNoSignature  = errors.New("no valid Aispend-Signature: want t=<unix seconds>,v1=<hex>")
	ErrBadSignature = errors.New("the signature does not match the body")
	ErrTooOld       = errors.New("the signature's timestamp is outside the tolerance (a replay, or a clock far off)")
)

// Verify checks a webhook as a receiver should: header is the Aispend-Signature value, body the
// raw request body (before any JSON parsing), now the receiver's clock. It accepts a signature
// made within Tolerance of now with secret (any of several v1 values, so that a secret can be
// rotated), compared in constant time.
func Verify(secret []byte, header string, body []byte, now time.Time) error {
	var ts string
	var sigs [][]byte
	for _, part := range strings.Split(header, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			continue
		}
		switch k {
		case "t":
			ts = v
		case "v1":
			if b, err := hex.DecodeString(v); err == nil {
				sigs = append(sigs, b)
			}
		}
	}
	t, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || len(sigs) == 0 {
		return ErrNoSignature
	}
	want := mac(secret, ts, body)
	matched := false
	for _, s := range sigs {
		if hmac.Equal(s, want) {
			matched = true
		}
	}
	if !matched {
		return ErrBadSignature
	}
	if age := now.Sub(time.Unix(t, 0)); age > Tolerance || age < -Tolerance {
		return fmt.Errorf("%w: signed at %s", ErrTooOld, time.Unix(t, 0).UTC().Format(time.RFC3339))
	}
	return nil
}
