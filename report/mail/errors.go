package mail

import (
	"errors"
	"net/textproto"
)

// Error is a failed Send. Permanent failures (an SMTP 5xx reply, a message or configuration
// that cannot be sent as it is, a TLS policy refusal) will fail again unchanged; anything else
// (connection refused, timeouts, 4xx replies) may succeed on a later attempt.
type Error struct {
	Op        string // what was being done, e.g. "send STARTTLS command"
	Code      int    // SMTP reply code, 0 when the failure was not an SMTP reply
	Permanent bool
	Err       error
}

func (e *Error) Error() string { return e.Op + ": " + e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// smtpError wraps err from step op, classifying SMTP replies by their code.
func smtpError(op string, err error) *Error {
	e := &Error{Op: op, Err: err}
	var te *textproto.Error
	if errors.As(err, &te) {
		e.Code = te.Code
		e.Permanent = te.Code >= 500 && te.Code < 600
	}
	return e
}

// permanent wraps an error that retrying cannot fix (bad message, policy refusal).
func permanent(op string, err error) *Error {
	return &Error{Op: op, Permanent: true, Err: err}
}
