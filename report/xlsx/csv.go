package xlsx

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
)

// EventsCSV writes a period's events as gzip-compressed CSV: RFC 4180 (CRLF line ends, fields
// quoted when they hold a comma, quote or line break), UTF-8 without a byte-order mark, a header
// row, and the columns of the Events sheet. It is the complete event list for periods too large
// for a usable workbook. Values are written so that tools read them exactly:
//
//   - Occurred at: RFC 3339 in the report's time zone, with its offset and fractional seconds;
//   - Cost: the exact decimal (never a float), empty for an unpriced event;
//   - counts as integers, Success and Cache hit as true/false, a missing duration empty;
//   - text made inert exactly as in the workbook (a leading apostrophe before = + - @, tab, CR),
//     because a CSV opened in a spreadsheet is evaluated cell by cell; broken UTF-8 becomes
//     U+FFFD. Text is not cut: a CSV has no cell limit.
//
// A line break inside a field is written as CRLF (encoding/csv with UseCRLF: RFC 4180's line
// break); a lone CR inside a field is dropped by encoding/csv.
//
// Events are written as they come, through fixed buffers, so memory does not grow with the number
// of events. Close must be called to complete the file; it does not close the underlying writer.
type EventsCSV struct {
	loc  *time.Location
	out  *bufio.Writer
	gz   *gzip.Writer
	buf  *bufio.Writer // between cw and gz
	cw   *csv.Writer
	rec  []string // reused for every row
	num  []byte   // the row's formatted numbers and time, turned into one string per row
	ends []int    // where each formatted value ends in num
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
	c := &EventsCSV{loc: loc, out: bufio.NewWriterSize(w, 64<<10), rec: make([]string, len(eventCols))}
	gz, err := gzip.NewWriterLevel(c.out, csvLevel)
	if err != nil {
		return nil, fmt.Errorf("events csv: %w", err)
	}
	c.gz = gz
	// encoding/csv uses a *bufio.Writer it is given as it is: rows reach the compressor in 64 KiB
	// pieces rather than 4 KiB ones.
	c.buf = bufio.NewWriterSize(gz, 64<<10)
	c.cw = csv.NewWriter(c.buf)
	c.cw.UseCRLF = true
	for i, col := range eventCols {
		c.rec[i] = col.header
	}
	if err := c.cw.Write(c.rec); err != nil {
		return nil, fmt.Errorf("events csv: write header: %w", err)
	}
	return c, nil
}

// Write appends one event.
func (c *EventsCSV) Write(e Event) error {
	if c.err != nil {
		return c.err
	}
	// Numbers and the time are appended to one buffer and become a single string, sliced into
	// the fields: one allocation per row instead of one per field.
	c.num, c.ends = c.num[:0], c.ends[:0]
	mark := func() { c.ends = append(c.ends, len(c.num)) }
	c.num = e.OccurredAt.In(c.loc).AppendFormat(c.num, time.RFC3339Nano)
	mark()
	for _, n := range []int64{e.InputTokens, e.OutputTokens, e.CacheReadTokens, e.CacheWriteTokens, e.ReasoningTokens} {
		c.num = strconv.AppendInt(c.num, n, 10)
		mark()
	}
	if e.DurationMS != nil {
		c.num = strconv.AppendInt(c.num, *e.DurationMS, 10)
	}
	mark()
	nums := string(c.num)
	field := func(i int) string {
		start := 0
		if i > 0 {
			start = c.ends[i-1]
		}
		return nums[start:c.ends[i]]
	}
	cost := ""
	if e.Cost.Valid {
		cost = e.Cost.Decimal.String()
	}
	r := c.rec
	r[0] = field(0)
	r[1], r[2], r[3], r[4] = csvText(e.EventID), csvText(e.Service), csvText(e.Model), csvText(e.Provider)
	r[5], r[6], r[7], r[8], r[9] = field(1), field(2), field(3), field(4), field(5)
	r[10], r[11], r[12] = cost, csvText(e.CostSource), field(6)
	r[13], r[14], r[15] = strconv.FormatBool(e.Success), csvText(e.Error), strconv.FormatBool(e.CacheHit)
	r[16], r[17], r[18], r[19] = csvText(e.UserID), csvText(e.OrgID), csvText(e.Endpoint), csvText(e.Tags)
	if err := c.cw.Write(r); err != nil {
		c.err = fmt.Errorf("events csv: write row %d: %w", c.rows+1, err)
		return c.err
	}
	c.rows++
	return nil
}

// WriteRows appends rows formatted elsewhere exactly as Write formats events (report/pgquery
// formats them in the database): copy writes RFC 4180 rows with LF line ends to the writer it is
// given, which turns each LF into CRLF, and returns how many rows it wrote.
func (c *EventsCSV) WriteRows(copy func(w io.Writer) (int64, error)) error {
	if c.err != nil {
		return c.err
	}
	c.cw.Flush()
	if err := c.cw.Error(); err != nil {
		c.err = fmt.Errorf("events csv: %w", err)
		return c.err
	}
	n, err := copy(crlf{c.buf})
	c.rows += n
	if err != nil {
		c.err = fmt.Errorf("events csv: %w", err)
		return c.err
	}
	return nil
}

// crlf writes LF as CRLF.
type crlf struct{ w *bufio.Writer }

func (c crlf) Write(p []byte) (int, error) {
	n := 0
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			m, err := c.w.Write(p)
			return n + m, err
		}
		if _, err := c.w.Write(p[:i]); err != nil {
			return n, err
		}
		if _, err := c.w.WriteString("\r\n"); err != nil {
			return n, err
		}
		n, p = n+i+1, p[i+1:]
	}
	return n, nil
}

// Rows is the number of events written.
func (c *EventsCSV) Rows() int64 { return c.rows }

// Close writes what is buffered and the gzip trailer. The file is complete only if it returns nil.
func (c *EventsCSV) Close() error {
	if c.err != nil {
		return c.err
	}
	c.cw.Flush()
	if err := c.cw.Error(); err != nil {
		return fmt.Errorf("events csv: %w", err)
	}
	if err := c.gz.Close(); err != nil {
		return fmt.Errorf("events csv: %w", err)
	}
	if err := c.out.Flush(); err != nil {
		return fmt.Errorf("events csv: %w", err)
	}
	c.err = fmt.Errorf("events csv: closed")
	return nil
}

// csvText is untrusted text as a CSV field: valid UTF-8, made inert like a workbook cell.
func csvText(s string) string { return inert(strings.ToValidUTF8(s, "\uFFFD")) }
