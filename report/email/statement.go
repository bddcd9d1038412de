package email

import (
	"errors"
	"fmt"

	"github.com/aispend/aispend/report"
	"github.com/aispend/aispend/report/format"
	"github.com/aispend/aispend/report/mail"
)

// Statement is one owner's chargeback statement of a month: their report (their events only,
// with Previous, the month before, also theirs) and the workbook made from it.
type Statement struct {
	Owner        report.Owner
	Report       *report.Report
	Currency     string
	Installation string // in the Message-ID (report.MessageID)
}

// StatementTopN is how many services, models and users a statement lists before "(other)"; the
// attached workbook lists every one.
const StatementTopN = 10

// MessageID is the statement's Message-ID for a sender address: the same for every run of the
// owner's month, so a resend after a crash is recognised as the same message.
func (s Statement) MessageID(from string) string {
	return StatementMessageID(s.Installation, s.Owner, s.Report.Period, from)
}

// StatementMessageID is the Message-ID of owner's statement of month p in an installation.
func StatementMessageID(installation string, owner report.Owner, p report.Period, from string) string {
	key := "chargeback\x00" + owner.By.String() + "\x00" + owner.Value + "\x00" + p.Label()
	return report.MessageID(installation, "aispend", key, mail.MessageIDDomain(from))
}

// statementRow is one line of a statement's table, every field formatted.
type statementRow struct {
	Name, Cost, Share, Requests, Change string
}

// statementTable is one breakdown of a statement.
type statementTable struct {
	Title, Column string
	Rows          []statementRow
}

// statementView is what the statement templates show; every field is text the templates escape.
type statementView struct {
	Subject, Owner, Noun, Month, Previous string
	Total, Requests, Unpriced             string
	// Change is the total's change against the previous month ("+12.5 % ($1,000.00)"); "" when
	// there is nothing to compare with (PreviousNone says so).
	Change       string
	PreviousNone bool
	Zero         bool // no spend in the month
	Tables       []statementTable
	Workbook     workbookNote
}

func newStatementView(s Statement) (statementView, error) {
	rep := s.Report
	if rep == nil || rep.Previous == nil {
		return statementView{}, errors.New("statement without its report or the month before")
	}
	p, cur := rep.Period, s.Currency
	month := p.Start.Format("January 2006")
	prevMonth := rep.Previous.Start.In(p.Start.Location()).Format("January 2006")
	t, prev := rep.Totals, rep.Previous.Totals
	v := statementView{
		Owner: s.Owner.Value, Noun: ownerNoun(s.Owner.By), Month: month, Previous: prevMonth,
		Total: format.Format(t.Cost, cur), Requests: format.Count(t.Requests), Zero: t.Requests == 0,
	}
	if t.Unpriced > 0 {
		v.Unpriced = format.Counted(t.Unpriced, "request") + " without a price (not in the total)"
	}
	if pct, ok := report.Change(t.Cost, prev.Cost); ok {
		v.Change = format.SignedPercent(pct) + " (" + format.Signed(t.Cost.Sub(prev.Cost), cur) + ") vs " + prevMonth +
			" (" + format.Format(prev.Cost, cur) + ")"
	} else {
		v.PreviousNone = true
	}
	for _, tb := range []struct {
		d             report.Dimension
		title, column string
	}{{report.ByService, "By service", "Service"}, {report.ByModel, "By model", "Model"}, {report.ByUser, "By user", "User"}} {
		rows := rep.Breakdowns[tb.d]
		table := statementTable{Title: tb.title, Column: tb.column}
		for _, r := range rows {
			row := statementRow{Name: r.Label(), Cost: format.Format(r.Cost, cur), Requests: format.Count(r.Requests),
				Share: format.Percent(report.PercentOf(r.Cost, t.Cost))}
			if r.Other {
				row.Name = fmt.Sprintf("(other: %s)", format.Counted(int64(r.Members), "value"))
			}
			row.Change = rowChange(rep.Previous, tb.d, r, rows, cur)
			table.Rows = append(table.Rows, row)
		}
		if len(table.Rows) > 0 {
			v.Tables = append(v.Tables, table)
		}
	}
	v.Subject = "aispend · Chargeback " + month + " · " + v.Noun + " " + s.Owner.Value + ": " + v.Total
	return v, nil
}

// rowChange is a row's change against the previous month: "new" for a value it did not have.
func rowChange(prev *report.Comparison, d report.Dimension, r report.Row, shown []report.Row, currency string) string {
	pt, ok := prev.Of(d, r, shown)
	if !ok {
		return "new"
	}
	if pct, ok := report.Change(r.Cost, pt.Cost); ok {
		return format.SignedPercent(pct)
	}
	if r.Cost.IsZero() {
		return "–"
	}
	return format.Signed(r.Cost, currency)
}

// ownerNoun names what an owner is: "organisation" (org_id), "team" (tag:team).
func ownerNoun(by report.Per) string {
	if by.Field == report.PerTag {
		return by.TagKey
	}
	return "organisation"
}

var statementTemplates = parse("statement")

// StatementEmail makes an owner's statement from `from` to `to`, with HTML and plain-text parts
// and the owner's workbook attached when it fits under its cap (otherwise the email says so).
func StatementEmail(s Statement, from, to string, attach *Attachment) (*report.Email, error) {
	if to == "" {
		return nil, report.ErrNoRecipients
	}
	note, content, err := attach.read()
	if err != nil {
		return nil, fmt.Errorf("build statement: %w", err)
	}
	v, err := newStatementView(s)
	if err != nil {
		return nil, fmt.Errorf("build statement: %w", err)
	}
	v.Workbook = note
	subject, text, html, err := statementTemplates().render(v)
	if err != nil {
		return nil, fmt.Errorf("render statement: %w", err)
	}
	e := newAutomated()
	e.From = from
	e.To = []string{to}
	e.Subject = subject
	e.Text, e.HTML = []byte(text), []byte(html)
	e.Headers.Set("Message-Id", s.MessageID(from))
	if content != nil {
		e.Attachments = []report.Attachment{{Filename: attach.Filename, ContentType: XLSXType, Content: content}}
	}
	return e, nil
}
