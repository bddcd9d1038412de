package sheet

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"fmt"
	"github.com/klauspost/compress/gzip"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aispend/aispend/report"
)

// EventsCSV writes a period's events as gzip-compressed CSV: RFC 4180 (CRLF line ends, fields
// quoted when they hold a comma, quote or line break), UTF-8 without a byte-order mark, a header
// row, and the columns of the Events sheet. It is the complete event list for periods too large
// for a usable workbook. Values are written so that tools read them exactly:
//
//   - Occurred at: RFC 3339 in the report's time zone, with its offset and fractional seconds;
//   - Cost: the exact decimal (never a float), empty for an unpriced event;
//   - counts as integers, Success and Cache hit as true/false, a missing duration empty;
//   - text made inert exactly as in the workbook (a leading apostrophe before text that starts
//     with = + - @ or a control character such as tab, CR or LF, also after leading whitespace:
//     formulaLike), because a CSV opened in a spreadsheet is evaluated cell by cell; broken UTF-8
//     becomes U+FFFD. Text is not cut: a CSV has no cell limit.
//
// A line break inside a field is written as CRLF (encoding/csv with UseCRLF: RFC 4180's line
// break); a lone CR inside a field is dropped by encoding/csv.
//
// Events are written as they come, through fixed buffers, so memory does not grow with the number
// of events. Close must be called to complete the file; it does not close the underlying writer.
type EventsCSV struct {
	loc *time.Location
	gzipCSV
	rec  []string // reused for every row
	row  []byte   // the row's fields, turned into one string per row
	ends []int    // where each field ends in row, or direct
	rows int64
	err  error // the first error: a broken file is never continued
}

// csvLevel trades size for speed: BestSpeed wrote 187,000 rows/s against the default level's
// 101,000 for a file 15 % larger (23.5 against 20.4 bytes per event; BenchmarkEventsCSV), and the
// writing is what a run waits for.
const csvLevel = gzip.BestSpeed

// NewEventsCSV starts the CSV on w with its header row; times are shown in loc.
func NewEventsCSV(w io.Writer, loc *time.Location) (*EventsCSV, error) {
	if loc == nil {
		return nil, fmt.Errorf("events csv: time zone is required")
	}
	gc, err := newGzipCSV(w)
	if err != nil {
		return nil, fmt.Errorf("events csv: %w", err)
	}
	c := &EventsCSV{loc: loc, gzipCSV: gc, rec: make([]string, len(eventCols))}
	for i, col := range eventCols {
		c.rec[i] = col.header
	}
	if err := c.cw.Write(c.rec); err != nil {
		return nil, fmt.Errorf("events csv: write header: %w", err)
	}
	return c, nil
}

// Write appends one event.
func (c *EventsCSV) Write(e report.Event) error {
	if c.err != nil {
		return c.err
	}
	c.begin(e.OccurredAt)
	for _, s := range []string{e.EventID, e.Service, e.Model, e.Provider} {
		c.text(s)
	}
	for _, n := range []int64{e.InputTokens, e.OutputTokens, e.CacheReadTokens, e.CacheWriteTokens, e.ReasoningTokens} {
		c.row = strconv.AppendInt(c.row, n, 10)
		c.mark()
	}
	cost := ""
	if e.Cost.Valid {
		cost = e.Cost.Decimal.String()
	}
	c.field(cost)
	c.text(e.CostSource)
	if e.DurationMS != nil {
		c.row = strconv.AppendInt(c.row, *e.DurationMS, 10)
	}
	c.mark()
	c.field(strconv.FormatBool(e.Success))
	c.text(e.Error)
	c.field(strconv.FormatBool(e.CacheHit))
	for _, s := range []string{e.UserID, e.OrgID, e.Endpoint, e.Tags} {
		c.text(s)
	}
	return c.end()
}

// WriteRaw appends one event given as PostgreSQL prints it: the same row as Write makes of the
// same event.
func (c *EventsCSV) WriteRaw(e *report.RawEvent) error {
	if c.err != nil {
		return c.err
	}
	c.begin(e.OccurredAt)
	for _, b := range [][]byte{e.EventID, e.Service, e.Model, e.Provider} {
		c.textBytes(b)
	}
	for _, b := range [][]byte{e.InputTokens, e.OutputTokens, e.CacheReadTokens, e.CacheWriteTokens, e.ReasoningTokens, e.Cost} {
		c.row = append(c.row, b...)
		c.mark()
	}
	c.textBytes(e.CostSource)
	c.row = append(c.row, e.DurationMS...)
	c.mark()
	c.field(strconv.FormatBool(e.Success))
	c.textBytes(e.Error)
	c.field(strconv.FormatBool(e.CacheHit))
	for _, b := range [][]byte{e.UserID, e.OrgID, e.Endpoint, e.Tags} {
		c.textBytes(b)
	}
	return c.end()
}

// A row's fields are appended to one buffer (begin, then text, textBytes or an append and mark
// for each field in column order) and become a single string, sliced into the fields, at end:
// one allocation per row instead of one per field. Strings that need no change are used as they
// are instead (field, text).

func (c *EventsCSV) begin(at time.Time) {
	c.row, c.ends = at.In(c.loc).AppendFormat(c.row[:0], time.RFC3339Nano), c.ends[:0]
	c.mark()
}

// mark ends the field appended last.
func (c *EventsCSV) mark() { c.ends = append(c.ends, len(c.row)) }

// direct marks a field that is not in the buffer: rec holds it already.
const direct = -1

// field sets s as the next field, as it is.
func (c *EventsCSV) field(s string) {
	c.rec[len(c.ends)] = s
	c.ends = append(c.ends, direct)
}

// text sets untrusted text as the next field: valid UTF-8 (broken bytes become U+FFFD), made
// inert like a workbook cell. Text that needs neither is the field as it is, not copied.
func (c *EventsCSV) text(s string) {
	if formulaLike(s) || !utf8.ValidString(s) {
		s = inert(strings.ToValidUTF8(s, "\uFFFD"))
	}
	c.field(s)
}

// textBytes is text for bytes, appended to the buffer (they are the caller's only during the call).
func (c *EventsCSV) textBytes(b []byte) {
	if formulaLikeBytes(b) {
		c.row = append(c.row, '\'')
	}
	if utf8.Valid(b) {
		c.row = append(c.row, b...)
	} else {
		c.row = append(c.row, bytes.ToValidUTF8(b, []byte("\uFFFD"))...)
	}
	c.mark()
}

// end writes the row begun by begin.
func (c *EventsCSV) end() error {
	row, start := string(c.row), 0
	for i, end := range c.ends {
		if end != direct {
			c.rec[i], start = row[start:end], end
		}
	}
	if err := c.cw.Write(c.rec); err != nil {
		c.err = fmt.Errorf("events csv: write row %d: %w", c.rows+1, err)
		return c.err
	}
	c.rows++
	return nil
}

// Rows is the number of events written.
func (c *EventsCSV) Rows() int64 { return c.rows }

// Close writes what is buffered and the gzip trailer. The file is complete only if it returns nil.
func (c *EventsCSV) Close() error {
	if c.err != nil {
		return c.err
	}
	if err := c.finish(); err != nil {
		return fmt.Errorf("events csv: %w", err)
	}
	c.err = fmt.Errorf("events csv: closed")
	return nil
}

// gzipCSV is the plumbing of the gzip-compressed CSV files (EventsCSV, FocusCSV): RFC 4180 rows
// with CRLF line ends through fixed buffers into gzip at csvLevel.
type gzipCSV struct {
	out *bufio.Writer
	gz  *gzip.Writer
	buf *bufio.Writer // between cw and gz
	cw  *csv.Writer
}

func newGzipCSV(w io.Writer) (gzipCSV, error) {
	out := bufio.NewWriterSize(w, 64<<10)
	gz, err := gzip.NewWriterLevel(out, csvLevel)
	if err != nil {
		return gzipCSV{}, err
	}
	// encoding/csv uses a *bufio.Writer it is given as it is: rows reach the compressor in 64 KiB
	// pieces rather than 4 KiB ones.
	buf := bufio.NewWriterSize(gz, 64<<10)
	cw := csv.NewWriter(buf)
	cw.UseCRLF = true
	return gzipCSV{out: out, gz: gz, buf: buf, cw: cw}, nil
}

// finish writes what is buffered and the gzip trailer.
func (g *gzipCSV) finish() error {
	g.cw.Flush()
	if err := g.cw.Error(); err != nil {
		return err
	}
	if err := g.gz.Close(); err != nil {
		return err
	}
	return g.out.Flush()
}
