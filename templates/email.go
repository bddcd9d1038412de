package templates

import (
	"bytes"
	"embed"
	"fmt"
	htmltemplate "html/template"
	"net/url"
	"strings"
	texttemplate "text/template"
)

//go:embed email/*.html email/*.txt
var emailFS embed.FS

// AlertEmail is the view of a budget alert email: every field is already formatted text; the
// HTML template escapes each of them.
type AlertEmail struct {
	Budget      string
	Severity    string // INFO | WARNING | CRITICAL
	Forecast    bool   // an estimate of the period-end spend, not the spend so far
	Threshold   int    // percent
	Period      string // "daily 2025-10-01"
	PeriodRange string // "2025-10-01 00:00 – 2025-10-02 00:00 Asia/Seoul"
	ResetsAt    string // when the next period starts; empty once the period is over
	EndedAt     string // the period had ended when the alert was sent: when it ended; else empty
	Scope       string // "all events" or "service=QA_CHAT"
	Spent       string
	Limit       string
	Remaining   string
	Percent     string // "80.0 %"
	// SubjectPercent is the figure of the subject: Percent, or for a forecast the projected
	// period end against the limit.
	SubjectPercent string
	Projected      string // forecast period-end spend, when known
	Unpriced       string // events in scope without a price (not in Spent), "1,234"; "0": none
	BarPercent     int    // 0..100, the filled part of the progress bar
	Drivers        []DriverTable
	Actions        []string // shown for CRITICAL
	ReportURL      string   // the period page; empty: no link
	WorkbookURL    string   // the period's workbook; empty: no link
	LocalLinks     bool     // the links are file:// URLs: no public URL is configured
	Also           []string // lower thresholds this email stands for, "50 %"
	AsOf           string
}

// DriverTable is one "top …" table of an alert.
type DriverTable struct {
	Title string
	Rows  []DriverRow
}

// DriverRow is one line of a DriverTable.
type DriverRow struct {
	Name     string
	Cost     string
	Requests string
	Share    string // of the budget's spend, "42.0 %"
}

// Bar is the alert's progress bar, in the severity's colour.
func (a AlertEmail) Bar() Bar { return NewBar(a.BarPercent, a.Color()) }

// Color is the severity's colour.
func (a AlertEmail) Color() string {
	switch a.Severity {
	case "CRITICAL":
		return "#b91c1c"
	case "WARNING":
		return "#b45309"
	default:
		return "#1d4ed8"
	}
}

// emailFuncs are the functions of the HTML email templates.
var emailFuncs = htmltemplate.FuncMap{"link": link,
	"msoTable": msoTable, "msoRow": msoRow, "msoCell": msoCell, "msoEndCell": msoEndCell, "msoEndRow": msoEndRow, "msoEndTable": msoEndTable}

// Outlook for Windows lays mail out with Word, which ignores max-width and inline-block: the key
// numbers, inline blocks that sit side by side elsewhere and stack on a phone, would stack there
// too. The msoTable … msoEndTable functions write an MSO conditional "ghost table" around them
// that only Outlook reads (<!--[if mso]>…<![endif]-->: a comment to every other client), with
// fixed cells side by side. html/template drops every comment written in a template, so the
// conditional comments come from these functions, as template.HTML; nothing but the integer
// widths goes into them.

// msoTable opens a ghost table width pixels wide.
func msoTable(width int) htmltemplate.HTML {
	return htmltemplate.HTML(fmt.Sprintf(`<!--[if mso]><table role="presentation" width="%d" cellpadding="0" cellspacing="0" border="0"><![endif]-->`, width))
}

// msoRow opens a row of the ghost table.
func msoRow() htmltemplate.HTML { return `<!--[if mso]><tr><![endif]-->` }

// msoCell opens a cell width pixels wide.
func msoCell(width int) htmltemplate.HTML {
	return htmltemplate.HTML(fmt.Sprintf(`<!--[if mso]><td width="%d" valign="top"><![endif]-->`, width))
}

// msoEndCell closes a cell.
func msoEndCell() htmltemplate.HTML { return `<!--[if mso]></td><![endif]-->` }

// msoEndRow closes a row.
func msoEndRow() htmltemplate.HTML { return `<!--[if mso]></tr><![endif]-->` }

// msoEndTable closes the ghost table.
func msoEndTable() htmltemplate.HTML { return `<!--[if mso]></table><![endif]-->` }

// link lets a link through to an href: html/template would replace a file:// URL (the local
// output directory's links, when no public URL is configured) by "#ZgotmplZ". Only http, https
// and file URLs pass; anything else becomes "#".
func link(u string) htmltemplate.URL {
	if p, err := url.Parse(u); err == nil && (p.Scheme == "http" || p.Scheme == "https" || p.Scheme == "file") {
		return htmltemplate.URL(p.String())
	}
	return "#"
}

var (
	alertHTML    = htmltemplate.Must(htmltemplate.New("alert.html").Funcs(emailFuncs).ParseFS(emailFS, "email/alert.html", "email/bar.html"))
	alertText    = texttemplate.Must(texttemplate.ParseFS(emailFS, "email/alert.txt"))
	alertSubject = texttemplate.Must(texttemplate.ParseFS(emailFS, "email/alert_subject.txt"))
)

// RenderAlert renders an alert's subject (one line), plain-text body and HTML body.
func RenderAlert(v AlertEmail) (subject, text, html string, err error) {
	var s, t, h bytes.Buffer
	if err := alertSubject.Execute(&s, v); err != nil {
		return "", "", "", err
	}
	if err := alertText.Execute(&t, v); err != nil {
		return "", "", "", err
	}
	if err := alertHTML.Execute(&h, v); err != nil {
		return "", "", "", err
	}
	// A subject is one header line: no CR/LF may come through from any value.
	subject = strings.Join(strings.Fields(s.String()), " ")
	return subject, t.String(), h.String(), nil
}
