// Package artifact makes what a batch run leaves behind, from the run's report: the period page and
// the landing page (report/site), the workbook and the events CSV beside it (report/sheet),
// publishing them (report/publish) and the digest email (composed by report/email, delivered by
// report/mail). Outputs.Write runs them as steps of the run (report.Job.Outputs), in this order,
// after the alerts: pages → workbooks → publish → digest. Each step takes what the steps before
// it made and returns what it made.
//
// What succeeded is kept when a later step fails: a failed workbook or events CSV (made
// together: the workbook links the CSV) leaves the page published without either link; a failed
// upload leaves the landing page as it was (it is written last and only when everything before
// it succeeded); a failed publish holds the digest back, so that it is not sent with links to
// missing files and the next run sends it.
//
// Dry runs render everything into a local directory (Config.DryRunDir) instead of the target —
// the site, the workbook, the events CSV and the digest as an .eml file under outbox/ — and send
// nothing.
package artifact

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/aispend/aispend/report"
	"github.com/aispend/aispend/report/email"
	"github.com/aispend/aispend/report/format"
	"github.com/aispend/aispend/report/mail"
	"github.com/aispend/aispend/report/publish"
	"github.com/aispend/aispend/report/sheet"
	"github.com/aispend/aispend/report/site"
)

// Store is what the outputs read and record in the database (report/pgquery).
type Store interface {
	report.SpendReader
	// MonthToDate is the landing page's headline: the month's cost to date as of asOf, its
	// comparison and the daily costs of the last report.SeriesDays days (pgquery).
	MonthToDate(ctx context.Context, month report.Period, asOf time.Time) (*report.Report, error)
	// Alerts lists the ledger entries of budget periods that overlap [from, to).
	Alerts(ctx context.Context, from, to time.Time) ([]report.LedgerEntry, error)
	// Events calls emit for every event of [from, to), oldest first, streaming.
	Events(ctx context.Context, from, to time.Time, emit func(report.Event) error) error
	// SendDigest calls send unless the period's digest was sent already (force: send anyway)
	// or another run is sending it, and records the outcome; false when it did not call send.
	SendDigest(ctx context.Context, kind, period, messageID string, recipients []string, force bool, send func(context.Context) error) (bool, error)
	// DigestSent reports whether the period's digest was sent.
	DigestSent(ctx context.Context, kind, period string) (bool, error)
	// SendStatement calls send unless owner's statement of month was sent already or another
	// run is sending it, and records the outcome (chargeback.go); false when it did not call
	// send. A failed send stays pending for the next run.
	SendStatement(ctx context.Context, owner report.Owner, month, recipient, messageID string, send func(context.Context) error) (bool, error)
}

// eventSource streams a period's events: the Store, or the report's own snapshot.
type eventSource interface {
	Events(ctx context.Context, from, to time.Time, emit func(report.Event) error) error
}

// Config is what the outputs need.
type Config struct {
	Store  Store
	Target publish.Target // where the site is published
	Sender report.Sender  // the digest's transport
	// Rates are the configured exchange rates, stated on every page.
	Rates []site.Rate
	// Budgets are shown on the landing page with their status as of the run.
	Budgets  []report.Budget
	Location *time.Location
	// From and Recipients address the digest; with no recipient no digest is sent.
	From       string
	Recipients []string
	// Installation is the installation's id, in the digest's Message-ID (report.MessageID).
	Installation string
	// AttachWorkbook attaches the workbook to the digest when it is at most AttachMaxBytes
	// (0: email.DefaultAttachMaxBytes).
	AttachWorkbook bool
	AttachMaxBytes int64
	// ResendDigest sends the digest even if this period's was sent before.
	ResendDigest bool
	// DryRunDir receives what a dry run renders (a site like the published one, and the digest
	// under outbox/). Empty: a new directory under the system temporary directory, logged.
	DryRunDir string
	// TmpDir holds the workbook between rendering and upload; empty: the system default.
	TmpDir string
	// MaxEventRowsPerSheet is the workbook's events per sheet; 0: Excel's limit (tests set less).
	MaxEventRowsPerSheet int
	// EventsSheetMaxRows: the workbook lists the period's events while the period has at most
	// this many (the report's request count); a larger period's Events sheet names the events
	// CSV instead, which always holds every event. 0: DefaultEventsSheetMaxRows; negative: the
	// workbook never lists events.
	EventsSheetMaxRows int
	// NoEventsExport turns the events CSV and the FOCUS CSV off (reports.events_export: false):
	// no raw event leaves the database except on a workbook's Events sheet.
	NoEventsExport bool
	// NoFocusExport turns the FOCUS CSV alone off (reports.focus_export: false).
	NoFocusExport bool
	// Chargeback sends the monthly chargeback statements (chargeback.go); nil: none.
	Chargeback *Chargeback
	// UnitPrices gives the FOCUS export its list prices per token meter (the price table); nil:
	// ListUnitPrice is empty and each group's cost is on one row (sheet.FocusCSV).
	UnitPrices report.UnitPrices
	Now        func() time.Time
	Logger     *slog.Logger
}

// DefaultEventsSheetMaxRows is the default Config.EventsSheetMaxRows. A workbook of 200,000
// events is about 10 MB and opens in seconds; ten times that is slow to write and to open, and
// such a period's events are better read from the CSV.
const DefaultEventsSheetMaxRows = 200_000

// Outputs makes the artifacts of report runs (report.Job.Outputs). It holds only its
// configuration: the steps of a run hand what they made to the next as values, so runs do not
// share state.
type Outputs struct {
	cfg Config
}

// New checks cfg.
func New(cfg Config) (*Outputs, error) {
	var missing []string
	if cfg.Store == nil {
		missing = append(missing, "store")
	}
	if cfg.Target == nil {
		missing = append(missing, "publish target")
	}
	if cfg.Location == nil {
		missing = append(missing, "time zone")
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("outputs: missing %s", strings.Join(missing, ", "))
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Outputs{cfg: cfg}, nil
}

// Write runs the output steps of a run, in order: pages, workbooks, publish, digest, and on a
// monthly run with chargeback configured the statements. Each takes
// what the steps before it made (nil when one failed) and returns what it made. It returns the
// outcome of each step, in order.
func (o *Outputs) Write(ctx context.Context, res *report.Result) (steps []report.StepResult) {
	step := func(name string, fn func() error) {
		steps = append(steps, report.StepResult{Name: name, Err: fn()})
	}
	at := o.cfg.Now()
	history := o.history(ctx, res.Period)
	var pg *page
	step("pages", func() error {
		alerts, err := history()
		if err != nil {
			return err
		}
		pg, err = o.pages(res.Report, alerts, at)
		return err
	})
	var files *workbookFiles
	step("workbooks", func() error {
		alerts, err := history()
		if err != nil {
			return err
		}
		files, err = o.workbooks(ctx, res.Report, alerts, at)
		return err
	})
	defer files.remove()
	var site *published
	step("publish", func() (err error) {
		site, err = o.publish(ctx, res, at, pg, files)
		return err
	})
	step("digest", func() error { return o.digest(ctx, res, at, site, files, history) })
	if o.cfg.Chargeback != nil && res.Period.Kind == report.Monthly {
		step("chargeback", func() error { return o.chargeback(ctx, res, at) })
	}
	return steps
}

// history reads the alert history of period p (the ledger entries of the budget periods that
// overlap it) once it succeeds: the pages and the workbook show the same.
func (o *Outputs) history(ctx context.Context, p report.Period) func() ([]report.LedgerEntry, error) {
	var alerts []report.LedgerEntry
	read := false
	return func() ([]report.LedgerEntry, error) {
		if read {
			return alerts, nil
		}
		var err error
		if alerts, err = o.cfg.Store.Alerts(ctx, p.Start, p.End); err != nil {
			return nil, err
		}
		read = true
		return alerts, nil
	}
}

// page is what the pages step made: the period page, checked and laid out but not written (it
// drops its links to the workbook and the events CSV when they are not made), and its numbers
// as report.json.
type page struct {
	html *site.PeriodHTML
	json []byte
}

// pages prepares the period page of a report and its report.json; publish writes them.
func (o *Outputs) pages(rep *report.Report, alerts []report.LedgerEntry, at time.Time) (*page, error) {
	sp := SitePeriod(rep.Period)
	pg := Page(rep, alerts, at, sp.WorkbookName())
	if !o.cfg.NoEventsExport {
		pg.EventsCSV = sp.EventsCSVName()
	}
	if o.focusSource(rep) != nil {
		pg.FocusCSV = sp.FocusCSVName()
	}
	pg.Rates = o.cfg.Rates
	html, err := site.PreparePeriod(pg)
	if err != nil {
		return nil, err
	}
	doc, err := ReportJSON(rep, alerts, at)
	if err != nil {
		return nil, err
	}
	return &page{html: html, json: doc}, nil
}

// workbookFiles are the temporary files the workbooks step made.
type workbookFiles struct {
	workbook string
	events   string     // the events CSV; "": the export is off
	focus    *focusFile // the FOCUS CSV; nil: no FOCUS source
}

// remove deletes the files; a nil *workbookFiles has none.
func (f *workbookFiles) remove() {
	if f == nil {
		return
	}
	names := []string{f.workbook, f.events}
	if f.focus != nil {
		names = append(names, f.focus.path)
	}
	for _, name := range names {
		if name != "" {
			os.Remove(name)
		}
	}
}

// workbooks writes the workbook and the events CSV to temporary files, streaming the period's
// events into them. The CSV always holds every event; the workbook's Events sheet lists them too
// while the period has at most EventsSheetMaxRows, and otherwise names the CSV. Both are made or
// neither: the workbook links the CSV, and a CSV without its workbook is not published.
func (o *Outputs) workbooks(ctx context.Context, rep *report.Report, alerts []report.LedgerEntry, at time.Time) (made *workbookFiles, err error) {
	book, err := os.CreateTemp(o.cfg.TmpDir, "aispend-workbook-*.xlsx")
	if err != nil {
		return nil, fmt.Errorf("create workbook file: %w", err)
	}
	files := []*os.File{book}
	var csvFile *os.File
	if !o.cfg.NoEventsExport {
		if csvFile, err = os.CreateTemp(o.cfg.TmpDir, "aispend-events-*.csv.gz"); err != nil {
			book.Close()
			os.Remove(book.Name())
			return nil, fmt.Errorf("create events csv file: %w", err)
		}
		files = append(files, csvFile)
	}
	defer func() {
		for _, f := range files {
			if cerr := f.Close(); err == nil && cerr != nil {
				err = fmt.Errorf("write %s: %w", f.Name(), cerr)
			}
		}
		if err != nil {
			for _, f := range files {
				os.Remove(f.Name())
			}
			made = nil
		}
	}()
	made = &workbookFiles{workbook: book.Name()}
	if csvFile != nil {
		made.events = csvFile.Name()
	}
	if err := o.writeWorkbook(ctx, rep, alerts, at, book, csvFile); err != nil {
		return made, err
	}
	// The FOCUS file is made with the workbook, which links it: both or neither.
	if made.focus, err = o.focus(ctx, rep); err != nil {
		return made, err
	}
	return made, nil
}

// writeWorkbook writes the workbook of rep into book and, unless csvFile is nil, the events CSV.
func (o *Outputs) writeWorkbook(ctx context.Context, rep *report.Report, alerts []report.LedgerEntry, at time.Time, book, csvFile *os.File) error {
	p, sp := rep.Period, SitePeriod(rep.Period)
	var csv *sheet.EventsCSV // nil: no events export
	wb := Workbook(rep, alerts, at, nil)
	if csvFile != nil {
		var err error
		if csv, err = sheet.NewEventsCSV(csvFile, p.Start.Location()); err != nil {
			return err
		}
		wb.EventsCSV = sp.EventsCSVName()
	}
	if o.focusSource(rep) != nil {
		wb.FocusCSV = sp.FocusCSVName()
	}
	for _, rate := range o.cfg.Rates {
		wb.Rates = append(wb.Rates, sheet.Rate{Currency: rate.Currency, Value: rate.Value, Since: rate.Since})
	}
	if err := o.events(ctx, rep, &wb, csv); err != nil {
		return err
	}
	if err := sheet.Write(book, wb, sheet.Options{MaxRowsPerSheet: o.cfg.MaxEventRowsPerSheet, TmpDir: o.cfg.TmpDir}); err != nil {
		return err
	}
	if csv == nil {
		o.cfg.Logger.Info("workbook written", "period", p.String(), "events_in_workbook", wb.EventsOmitted == "")
		return nil
	}
	if err := csv.Close(); err != nil {
		return err
	}
	o.cfg.Logger.Info("workbook and events csv written", "period", p.String(), "events", csv.Rows(),
		"events_in_workbook", wb.EventsOmitted == "")
	return nil
}

// events routes the period's events: into the CSV and the workbook's Events sheet in one read
// while the period has at most EventsSheetMaxRows events (wb.Events, read while the workbook is
// written), otherwise into the CSV alone, now, and the sheet says where they are.
func (o *Outputs) events(ctx context.Context, rep *report.Report, wb *sheet.Workbook, csv *sheet.EventsCSV) error {
	// The report's own snapshot (report/pgquery, which may read it from a replica), so that the
	// rows are exactly the events its totals count.
	var src eventSource = o.cfg.Store
	if rep.Events != nil {
		src = rep.Events
	}
	p := rep.Period
	limit := o.cfg.EventsSheetMaxRows
	if limit == 0 {
		limit = DefaultEventsSheetMaxRows
	}
	// The report's count decides, known before any event is read: the workbook cannot take back
	// rows already streamed into it.
	n := rep.Totals.Requests
	if limit >= 0 && n <= int64(limit) {
		// One read fills both, so the sheet and the CSV list the same events.
		wb.Events = func(emit func(report.Event) error) error {
			return src.Events(ctx, p.Start, p.End, func(e report.Event) error {
				if csv != nil {
					if err := csv.Write(e); err != nil {
						return err
					}
				}
				return emit(e)
			})
		}
		return nil
	}
	wb.EventsOmitted = "This workbook lists no events."
	if limit >= 0 {
		wb.EventsOmitted = fmt.Sprintf("This period has %s events, more than the %s a workbook lists.",
			format.Group(strconv.FormatInt(n, 10)), format.Group(strconv.Itoa(limit)))
	}
	if csv == nil {
		wb.EventsOmitted += " The events export is turned off (reports.events_export)."
		return nil
	}
	if rs, ok := src.(RawEventSource); ok {
		return rs.RawEvents(ctx, p.Start, p.End, func(e *report.RawEvent) error { return csv.WriteRaw(e) })
	}
	if err := src.Events(ctx, p.Start, p.End, csv.Write); err != nil {
		return fmt.Errorf("write events csv: %w", err)
	}
	return nil
}

// RawEventSource is an event source that also gives its events as the text PostgreSQL prints
// (report/pgquery): for a period's millions of events, several times cheaper than decoding each
// value and formatting it again. The workbook step uses it when the CSV alone holds the events.
type RawEventSource interface {
	RawEvents(ctx context.Context, from, to time.Time, emit func(*report.RawEvent) error) error
}

// published is what the publish step put on its target.
type published struct {
	target publish.Target // Config.Target, or the dry run's directory
	dryDir string         // the dry run's directory; "" for a real run
	page   bool           // the period page
	files  bool           // the workbook, and the events CSV unless the export is off
	events bool           // the events CSV
	focus  bool           // the FOCUS CSV
}

// publish uploads the events CSV, the workbook, the assets, the period page and, last, the
// landing page, which links every period page the target holds. It writes the page prepared by
// the pages step, without the links to the workbook and CSV when those were not made.
func (o *Outputs) publish(ctx context.Context, res *report.Result, at time.Time, pg *page, made *workbookFiles) (*published, error) {
	if pg == nil && made == nil {
		return nil, errors.New("nothing to publish: the page and the workbook failed")
	}
	out := &published{target: o.cfg.Target, page: pg != nil, files: made != nil, events: made != nil && made.events != "",
		focus: made != nil && made.focus != nil}
	if res.DryRun {
		var err error
		if out.dryDir, err = o.dryRunDir(res.Period); err != nil {
			return nil, err
		}
		out.target = publish.Dir{Root: out.dryDir}
	}
	// Every upload that succeeds is recorded, also when a later one fails.
	t := &recorder{Target: out.target}
	defer func() {
		if !res.DryRun {
			res.Published = append(res.Published, t.keys...)
		}
	}()
	keys, err := listPeriods(ctx, t)
	if err != nil {
		return nil, err
	}
	statuses, err := report.CurrentStatuses(ctx, o.cfg.Store, o.cfg.Budgets, o.cfg.Now(), o.cfg.Location)
	if err != nil {
		return nil, err
	}
	sp := SitePeriod(res.Period)
	// The events CSV and the workbook (which links it) go up first and straight from their
	// files: they can be large.
	if err := putMade(ctx, t, sp, made, keys); err != nil {
		return nil, err
	}
	var files []publish.File
	for name, body := range site.Assets() {
		files = append(files, publish.File{Key: "assets/" + name, Body: body})
	}
	if pg != nil {
		html := pg.html
		if made == nil {
			html = html.WithoutFiles()
		}
		var b bytes.Buffer
		if err := html.Write(&b); err != nil {
			return nil, err
		}
		files = append(files, publish.File{Key: sp.PagePath(), Body: b.Bytes()})
		keys[sp.PagePath()] = true
		// The page's numbers as JSON beside it; it goes up before the page (publish.Site ranks
		// pages after everything else).
		files = append(files, publish.File{Key: sp.File(ReportJSONName), Body: pg.json})
	}
	// The manifest goes up with the other files of the period, before the pages and the index.
	manifest, err := o.manifest(res, at, made, files)
	if err != nil {
		return nil, err
	}
	files = append(files, publish.File{Key: sp.ManifestPath(), Body: manifest})
	index, err := o.index(ctx, res, at, keys, statuses)
	if err != nil {
		return nil, err
	}
	files = append(files, publish.File{Key: publish.IndexKey, Body: index})
	if err := publish.Site(ctx, t, files); err != nil {
		return nil, err
	}
	if res.DryRun {
		o.cfg.Logger.Info("dry run: site rendered, nothing published", "dir", out.dryDir)
	}
	return out, nil
}

// putMade uploads the files the workbooks step made (none when made is nil), the workbook last
// (it links the others), and adds the keys the landing page looks for to keys.
func putMade(ctx context.Context, t publish.Target, sp site.Period, made *workbookFiles, keys map[string]bool) error {
	if made == nil {
		return nil
	}
	if made.events != "" {
		if err := putFile(ctx, t, sp.EventsCSVPath(), made.events); err != nil {
			return err
		}
		keys[sp.EventsCSVPath()] = true
	}
	if made.focus != nil {
		if err := putFile(ctx, t, sp.FocusCSVPath(), made.focus.path); err != nil {
			return err
		}
	}
	if err := putFile(ctx, t, sp.WorkbookPath(), made.workbook); err != nil {
		return err
	}
	keys[sp.WorkbookPath()] = true
	return nil
}

// index renders the landing page: the budgets' statuses, the published reports (keys) and the
// headline of the month in progress as of the run, whatever period the run reports.
func (o *Outputs) index(ctx context.Context, res *report.Result, at time.Time, keys map[string]bool, statuses []report.Status) ([]byte, error) {
	month, err := o.cfg.Store.MonthToDate(ctx, report.PeriodContaining(report.Monthly, at, o.cfg.Location), at)
	if err != nil {
		return nil, fmt.Errorf("landing page headline: %w", err)
	}
	var b bytes.Buffer
	if err := site.RenderIndex(&b, site.IndexPage{
		Currency: res.Report.Currency, Location: o.cfg.Location, GeneratedAt: at, Rates: o.cfg.Rates,
		Budgets: BudgetCards(statuses), Reports: reports(keys, o.cfg.Location), Spend: Headline(month),
	}); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// dryRunDir is where a dry run writes: the configured directory, or a new temporary one.
func (o *Outputs) dryRunDir(p report.Period) (string, error) {
	if o.cfg.DryRunDir != "" {
		return o.cfg.DryRunDir, nil
	}
	dir, err := os.MkdirTemp("", "aispend-dry-run-"+string(p.Kind)+"-"+p.Label()+"-")
	if err != nil {
		return "", fmt.Errorf("create dry-run directory: %w", err)
	}
	return dir, nil
}

// listPeriods is the set of period pages and workbooks the target holds.
func listPeriods(ctx context.Context, t publish.Target) (map[string]bool, error) {
	keys := map[string]bool{}
	for _, kind := range report.PeriodKinds() {
		list, err := t.List(ctx, site.KindDir(kind))
		if err != nil {
			return nil, err
		}
		for _, k := range list {
			keys[k] = true
		}
	}
	return keys, nil
}

// reports lists the period pages among keys, each with its workbook when that is published too.
// Keys that are not a page of a well-formed period are ignored.
func reports(keys map[string]bool, loc *time.Location) []site.PublishedReport {
	var out []site.PublishedReport
	for k := range keys {
		kind, label, ok := site.ParsePagePath(k)
		if !ok {
			continue
		}
		p, err := report.ParseLabel(kind, label, loc)
		if err != nil || p.Label() != label {
			continue
		}
		sp := SitePeriod(p)
		pr := site.PublishedReport{Period: sp}
		if keys[sp.WorkbookPath()] {
			pr.Workbook = sp.WorkbookName()
		}
		out = append(out, pr)
	}
	return out
}

// putFile uploads a file with its size; an *os.File is seekable, so retries can resend it.
func putFile(ctx context.Context, t publish.Target, key, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("open %s: %w", key, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("open %s: %w", key, err)
	}
	return t.Put(ctx, key, f, fi.Size(), "")
}

// recorder remembers the keys put successfully.
type recorder struct {
	publish.Target
	keys []string
}

func (r *recorder) Put(ctx context.Context, key string, body io.Reader, size int64, contentType string) error {
	if err := r.Target.Put(ctx, key, body, size, contentType); err != nil {
		return err
	}
	r.keys = append(r.keys, key)
	return nil
}

// digest emails the digest once per period (unless ResendDigest), after a successful publish
// (site; nil when it failed), linking what it published and attaching the workbook made.
func (o *Outputs) digest(ctx context.Context, res *report.Result, at time.Time, pub *published, made *workbookFiles,
	history func() ([]report.LedgerEntry, error)) error {
	log := o.cfg.Logger.With("period", res.Period.String())
	if len(o.cfg.Recipients) == 0 {
		log.Info("no digest recipients configured: digest not sent")
		return nil
	}
	if pub == nil {
		return errors.New("not sent: publishing failed, so its links would be broken; the next run sends it")
	}
	recorded, err := history()
	if err != nil {
		return err
	}
	d, err := o.digestOf(ctx, res, periodAlerts(recorded, res), at, pub)
	if err != nil {
		return err
	}
	if !res.DryRun && d.LocalLinks {
		log.Info("the digest links the files by file:// URLs, which work only on this machine: set a public URL (AISPEND_PUBLIC_URL)")
	}
	var attach *email.Attachment
	if o.cfg.AttachWorkbook && made != nil {
		if attach, err = email.FileAttachment(made.workbook, o.cfg.AttachMaxBytes); err != nil {
			return err
		}
		attach.Filename = SitePeriod(res.Period).WorkbookName()
	}
	msg, err := email.DigestEmail(d, o.cfg.From, o.cfg.Recipients, attach)
	if err != nil {
		return err
	}
	if res.DryRun {
		return o.dryRunDigest(ctx, res.Period, pub.dryDir, msg, log)
	}
	kind, label := string(res.Period.Kind), res.Period.Label()
	sent, err := o.cfg.Store.SendDigest(ctx, kind, label, msg.Headers.Get("Message-Id"), o.cfg.Recipients, o.cfg.ResendDigest,
		func(ctx context.Context) error {
			if o.cfg.Sender == nil {
				return errors.New("no mail transport configured")
			}
			return o.cfg.Sender.Send(ctx, msg)
		})
	if err != nil {
		return fmt.Errorf("send digest: %w", err)
	}
	if sent {
		log.Info("digest sent", "recipients", len(o.cfg.Recipients), "message_id", msg.Headers.Get("Message-Id"))
	} else {
		log.Info("digest not sent: already sent for this period (aispend run --resend-digest sends it again)")
	}
	return nil
}

// digestOf is the digest of the run's report listing alerts, linking the files pub published.
func (o *Outputs) digestOf(ctx context.Context, res *report.Result, alerts []report.LedgerEntry, at time.Time, pub *published) (email.Digest, error) {
	sp := SitePeriod(res.Period)
	var urls [4]string
	for i, l := range []struct {
		key  string
		made bool
	}{{sp.PagePath(), pub.page}, {sp.WorkbookPath(), pub.files}, {sp.EventsCSVPath(), pub.events}, {sp.FocusCSVPath(), pub.focus}} {
		var err error
		if urls[i], err = link(ctx, pub.target, l.key, l.made); err != nil {
			return email.Digest{}, err
		}
	}
	d := email.DigestOf(res.Report, alerts, at, urls[0], urls[1])
	d.EventsURL, d.FocusURL = urls[2], urls[3]
	d.Installation = o.cfg.Installation
	d.LocalLinks = strings.HasPrefix(urls[0], "file://")
	return d, nil
}

// dryRunDigest writes the digest into the dry run's outbox instead of sending it.
func (o *Outputs) dryRunDigest(ctx context.Context, p report.Period, dryDir string, msg *report.Email, log *slog.Logger) error {
	box, err := mail.NewOutbox(filepath.Join(dryDir, "outbox"), o.cfg.From)
	if err != nil {
		return err
	}
	if err := box.Send(ctx, msg); err != nil {
		return err
	}
	sent, err := o.cfg.Store.DigestSent(ctx, string(p.Kind), p.Label())
	if err != nil {
		return err
	}
	log.Info("dry run: digest rendered, not sent", "dir", box.Dir(), "already_sent", sent,
		"would_send", !sent || o.cfg.ResendDigest)
	return nil
}

// periodAlerts are the alerts the digest lists: every one the ledger recorded for the budget
// periods overlapping the run's period (each threshold, also those an email of a higher one
// named), in the ledger's order, then the alerts of other periods this run sent (pending ones of
// earlier runs). A dry run records nothing: its alerts are those a real run would record.
func periodAlerts(recorded []report.LedgerEntry, res *report.Result) []report.LedgerEntry {
	out := append([]report.LedgerEntry(nil), recorded...)
	at := map[string]int{}
	for i, e := range out {
		at[e.Key()] = i
	}
	for _, e := range res.SentAlerts {
		if i, ok := at[e.Key()]; ok {
			out[i].Status = e.Status
			continue
		}
		at[e.Key()] = len(out)
		out = append(out, e)
	}
	return out
}

// link is the URL of a published key for an email: an absolute http(s) URL (public or
// presigned), or the file:// URL of the published file for a local directory without a public
// URL (so that the demo's emails work on the machine that made them); "" when the key was not
// published.
func link(ctx context.Context, t publish.Target, key string, published bool) (string, error) {
	if !published {
		return "", nil
	}
	return t.URL(ctx, key)
}

// PeriodLinks gives alert emails (report.Job.Links) the links to a period's page and workbook
// on target t, as the digest links them.
func PeriodLinks(t publish.Target) func(ctx context.Context, p report.Period) (report.Links, error) {
	return func(ctx context.Context, p report.Period) (report.Links, error) {
		sp := SitePeriod(p)
		page, err := link(ctx, t, sp.PagePath(), true)
		if err != nil {
			return report.Links{}, err
		}
		book, err := link(ctx, t, sp.WorkbookPath(), true)
		if err != nil {
			return report.Links{}, err
		}
		return report.Links{Page: page, Workbook: book, Local: strings.HasPrefix(page, "file://")}, nil
	}
}
