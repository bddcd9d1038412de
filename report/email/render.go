package email

import (
	"bytes"
	"fmt"
	htmltemplate "html/template"
	"net/url"
	"strconv"
	"strings"
	"sync"
	texttemplate "text/template"

	"github.com/aispend/aispend/report/format"
	"github.com/aispend/aispend/templates"
)

// This file executes the email markup of package templates with the views of alert_view.go and
// digest_view.go: the template functions and the parsed templates. Every field of a view is
// already formatted text; the HTML templates escape each of them.

// emailFS is the email markup: alert.*, digest.* and the partials bar.html, drivers.html and
// links.html.
var emailFS = templates.Email()

// emailFuncs are the functions of the HTML email templates; the plain-text ones have noun.
var emailFuncs = htmltemplate.FuncMap{"link": link, "noun": noun,
	"msoTable": msoTable, "msoRow": msoRow, "msoCell": msoCell, "msoEndCell": msoEndCell, "msoEndRow": msoEndRow, "msoEndTable": msoEndTable}

// noun is the noun that agrees with a count as the views hold it (format.Count's "1,234"):
// noun "1" "event" is "event", any other count "events".
func noun(count, singular string) string {
	n, err := strconv.ParseInt(strings.ReplaceAll(count, ",", ""), 10, 64)
	if err != nil {
		n = 0 // not a count: the plural, as for zero
	}
	return format.Noun(n, singular)
}

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

// emailTemplates are the three parts of one email's markup.
type emailTemplates struct {
	subject, text *texttemplate.Template
	html          *htmltemplate.Template
}

// parse parses the markup of the email name: name_subject.txt, name.txt and name.html (with the
// progress bar partial), when first used: parsing every email at start took 1.5 ms of each
// process, and a budget check that sends nothing, started every few minutes, uses none.
func parse(name string) func() emailTemplates {
	return sync.OnceValue(func() emailTemplates {
		return emailTemplates{
			subject: texttemplate.Must(texttemplate.ParseFS(emailFS, name+"_subject.txt")),
			text:    texttemplate.Must(texttemplate.New(name+".txt").Funcs(texttemplate.FuncMap{"noun": noun}).ParseFS(emailFS, name+".txt")),
			html:    htmltemplate.Must(htmltemplate.New(name+".html").Funcs(emailFuncs).ParseFS(emailFS, name+".html", "bar.html", "drivers.html", "links.html")),
		}
	})
}

var (
	alertTemplates  = parse("alert")
	digestTemplates = parse("digest")
	entityTemplates = parse("entity")
)

// render executes the templates with the view v: the subject (one line), the plain-text body and
// the HTML body.
func (t emailTemplates) render(v any) (subject, text, html string, err error) {
	var s, b, h bytes.Buffer
	if err := t.subject.Execute(&s, v); err != nil {
		return "", "", "", err
	}
	if err := t.text.Execute(&b, v); err != nil {
		return "", "", "", err
	}
	if err := t.html.Execute(&h, v); err != nil {
		return "", "", "", err
	}
	// A subject is one header line: no CR/LF may come through from any value.
	subject = strings.Join(strings.Fields(s.String()), " ")
	return subject, b.String(), h.String(), nil
}

// renderAlert renders an alert's subject, plain-text body and HTML body.
func renderAlert(v alertView) (subject, text, html string, err error) {
	return alertTemplates().render(v)
}
