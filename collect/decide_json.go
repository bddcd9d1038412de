package collect

import (
	"net/http"
	"strconv"
	"time"
	"unicode/utf8"
)

// writeDecideAnswer writes a as writeJSON would, byte for byte (FuzzDecideAnswerJSON), from a
// reused buffer: encoding/json boxed the answer, made an encoder and copied its output on every
// decision, a quarter of what a decision left for the garbage collector.
func writeDecideAnswer(w http.ResponseWriter, a *DecideAnswer) {
	buf := decideBufs.Get().(*[]byte)
	defer decideBufs.Put(buf)
	*buf = a.appendJSON((*buf)[:0])
	startJSON(w, http.StatusOK)
	_, _ = w.Write(*buf) // the client may have gone; nothing useful to do about it
}

// appendJSON appends a as encoding/json encodes it, with the encoder's newline.
func (a *DecideAnswer) appendJSON(b []byte) []byte {
	b = append(b, `{"decision":`...)
	b = appendJSONString(b, a.Decision)
	if a.Model != "" {
		b = append(b, `,"model":`...)
		b = appendJSONString(b, a.Model)
	}
	b = append(b, `,"budgets":`...)
	if a.Budgets == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i := range a.Budgets {
			if i > 0 {
				b = append(b, ',')
			}
			b = a.Budgets[i].appendJSON(b)
		}
		b = append(b, ']')
	}
	b = append(b, `,"estimate":`...)
	b = appendJSONString(b, a.Estimate)
	b = append(b, `,"as_of":`...)
	if a.AsOf == nil {
		b = append(b, "null"...)
	} else {
		b = appendJSONTime(b, *a.AsOf)
	}
	b = append(b, `,"staleness_ms":`...)
	b = strconv.AppendInt(b, a.StalenessMS, 10)
	b = append(b, `,"max_staleness_ms":`...)
	b = strconv.AppendInt(b, a.MaxStaleness, 10)
	b = append(b, `,"stale":`...)
	b = strconv.AppendBool(b, a.Stale)
	return append(b, "}\n"...)
}

func (d *DecidingBudget) appendJSON(b []byte) []byte {
	b = append(b, `{"name":`...)
	b = appendJSONString(b, d.Name)
	if d.Entity != "" {
		b = append(b, `,"entity":`...)
		b = appendJSONString(b, d.Entity)
	}
	for _, f := range [...]struct{ key, value string }{
		{`,"decision":`, d.Decision}, {`,"spent":`, d.Spent}, {`,"limit":`, d.Limit},
		{`,"percent":`, d.Percent}, {`,"remaining":`, d.Remaining},
	} {
		b = append(b, f.key...)
		b = appendJSONString(b, f.value)
	}
	b = append(b, `,"resets_at":`...)
	b = appendJSONTime(b, d.ResetsAt)
	return append(b, '}')
}

// appendJSONTime appends t as time.Time's MarshalJSON does (RFC 3339 with nanoseconds, a year of
// four digits: a period's end or a read's start, never past 9999).
func appendJSONTime(b []byte, t time.Time) []byte {
	b = append(b, '"')
	b = t.AppendFormat(b, time.RFC3339Nano)
	return append(b, '"')
}

// appendJSONString appends s quoted as encoding/json quotes it: <, > and & escaped for HTML,
// control characters as \n, \t, … or \u00XX, invalid UTF-8 as \ufffd, and U+2028 and U+2029
// escaped. Entity names are what clients send (user ids, tag values).
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
