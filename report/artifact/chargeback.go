package artifact

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"time"

	"github.com/aispend/aispend/report"
	"github.com/aispend/aispend/report/email"
	"github.com/aispend/aispend/report/format"
	"github.com/aispend/aispend/report/sheet"
)

// Chargeback configures the monthly chargeback statements: each owner (a value of By: org_id or
// a tag) with a recipient gets their own figures and workbook once per month.
type Chargeback struct {
	By report.Per
	// Recipients maps each owner's value to the one address their statement goes to.
	Recipients map[string]string
}

// ScopedEventSource streams the events of a range that match a scope, in the report's snapshot
// (report/pgquery's snapshot): an owner's lines.
type ScopedEventSource interface {
	ScopedEvents(ctx context.Context, from, to time.Time, sc report.Scope, emit func(report.Event) error) error
}

// statementName is the file name of an owner's workbook. The owner's value is not in it: it is
// the sender's text, and a file name in a MIME header must be plain ASCII.
func statementName(p report.Period) string {
	return "aispend-chargeback-" + p.Label() + ".xlsx"
}

// chargeback sends every owner with a recipient their statement of a month that is over (the
// monthly run after the month ended; any other run sends none), at most once per owner and
// month (StatementStore.SendStatement's ledger). Each statement is made from the owner's events
// in the report's snapshot, read while the statement's ledger row is locked, so a concurrent run
// or a re-run after the send makes nothing. A failed statement stays pending for the next run;
// the others are still sent.
func (o *Outputs) chargeback(ctx context.Context, res *report.Result, at time.Time) error {
	cb, rep := o.cfg.Chargeback, res.Report
	if cb == nil || len(cb.Recipients) == 0 || res.Period.Kind != report.Monthly {
		return nil
	}
	log := o.cfg.Logger.With("period", res.Period.String())
	if at.Before(res.Period.End) {
		log.Info("chargeback statements are sent after the month ends", "ends", res.Period.End)
		return nil
	}
	src, ok := rep.Events.(ScopedEventSource)
	if !ok {
		return errors.New("chargeback statements need the report's event snapshot")
	}
	owners := make([]string, 0, len(cb.Recipients))
	for v := range cb.Recipients {
		owners = append(owners, v)
	}
	slices.Sort(owners)
	var errs []error
	sent := 0
	for _, v := range owners {
		owner, to := report.Owner{By: cb.By, Value: v}, cb.Recipients[v]
		msgID := email.StatementMessageID(o.cfg.Installation, owner, res.Period, o.cfg.From)
		if res.DryRun {
			log.Info("dry run: chargeback statement not sent", "owner", owner.String(), "to", to)
			continue
		}
		ok, err := o.cfg.Store.SendStatement(ctx, owner, res.Period.Label(), to, msgID, func(ctx context.Context) error {
			return o.sendStatement(ctx, src, owner, to, rep, at)
		})
		if err != nil {
			errs = append(errs, fmt.Errorf("statement of %s: %w", owner, err))
			continue
		}
		if ok {
			sent++
			log.Info("chargeback statement sent", "owner", owner.String(), "to", to, "message_id", msgID)
		}
	}
	log.Info("chargeback statements", "sent", sent, "owners", len(owners), "failed", len(errs))
	return errors.Join(errs...)
}

// sendStatement makes and sends owner's statement of rep's month: their report from their
// events (and the month before's, for the comparison), their workbook, the email.
func (o *Outputs) sendStatement(ctx context.Context, src ScopedEventSource, owner report.Owner, to string, rep *report.Report, at time.Time) error {
	own, err := ownerReport(ctx, src, owner, rep)
	if err != nil {
		return err
	}
	book, err := o.statementWorkbook(ctx, src, owner, own, at)
	if err != nil {
		return err
	}
	defer os.Remove(book)
	attach, err := email.FileAttachment(book, o.cfg.AttachMaxBytes)
	if err != nil {
		return err
	}
	attach.Filename = statementName(rep.Period)
	msg, err := email.StatementEmail(email.Statement{Owner: owner, Report: own, Currency: rep.Currency,
		Installation: o.cfg.Installation}, o.cfg.From, to, attach)
	if err != nil {
		return err
	}
	if o.cfg.Sender == nil {
		return errors.New("no mail transport configured")
	}
	return o.cfg.Sender.Send(ctx, msg)
}

// ownerReport is rep's report restricted to owner's events: read from the report's snapshot
// (the aggregates do not carry tags), and compared with the owner's events of the month before.
// Budgets, alerts, envelopes and cache savings are left out: they are the installation's, not
// the owner's.
func ownerReport(ctx context.Context, src ScopedEventSource, owner report.Owner, rep *report.Report) (*report.Report, error) {
	p, sc := rep.Period, owner.Scope()
	cur := report.NewEventReport(p)
	if err := src.ScopedEvents(ctx, p.Start, p.End, sc, func(e report.Event) error { cur.Add(e); return nil }); err != nil {
		return nil, fmt.Errorf("read the owner's events: %w", err)
	}
	prev := report.NewEventReport(p.Previous())
	if err := src.ScopedEvents(ctx, p.Previous().Start, p.Previous().End, sc, func(e report.Event) error { prev.Add(e); return nil }); err != nil {
		return nil, fmt.Errorf("read the owner's events of the month before: %w", err)
	}
	own := cur.Report(email.StatementTopN)
	own.Currency = rep.Currency
	own.Previous = prev.Comparison()
	return own, nil
}

// statementWorkbook writes owner's workbook to a temporary file and returns its name: the
// report/sheet workbook of their report, their events on its Events sheet (while they have at
// most EventsSheetMaxRows), and no link to the period's published files, which hold every
// owner's lines.
func (o *Outputs) statementWorkbook(ctx context.Context, src ScopedEventSource, owner report.Owner, own *report.Report, at time.Time) (name string, err error) {
	f, err := os.CreateTemp(o.cfg.TmpDir, "aispend-chargeback-*.xlsx")
	if err != nil {
		return "", fmt.Errorf("create statement workbook: %w", err)
	}
	defer func() {
		if cerr := f.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("write statement workbook: %w", cerr)
		}
		if err != nil {
			os.Remove(f.Name())
		}
	}()
	p := own.Period
	wb := Workbook(own, nil, at, nil)
	for _, rate := range o.cfg.Rates {
		wb.Rates = append(wb.Rates, sheet.Rate{Currency: rate.Currency, Value: rate.Value, Since: rate.Since})
	}
	if limit := o.eventsSheetMax(); limit >= 0 && own.Totals.Requests <= int64(limit) {
		wb.Events = func(emit func(report.Event) error) error {
			return src.ScopedEvents(ctx, p.Start, p.End, owner.Scope(), emit)
		}
	} else {
		// A statement has no events CSV of its own (the period's holds every owner's lines).
		wb.EventsOmitted = fmt.Sprintf("This statement has %s events, more than a workbook lists; its totals count every one.",
			format.Count(own.Totals.Requests))
	}
	if err := sheet.Write(f, wb, sheet.Options{MaxRowsPerSheet: o.cfg.MaxEventRowsPerSheet, TmpDir: o.cfg.TmpDir}); err != nil {
		return "", err
	}
	return f.Name(), nil
}

// eventsSheetMax is EventsSheetMaxRows with its default; negative: workbooks list no events.
func (o *Outputs) eventsSheetMax() int {
	if o.cfg.EventsSheetMaxRows == 0 {
		return DefaultEventsSheetMaxRows
	}
	return o.cfg.EventsSheetMaxRows
}
