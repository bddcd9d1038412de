// Package templates holds the project's markup and nothing else: every HTML template and
// stylesheet lives here, embedded into the binary, so that the files can be reviewed as HTML.
// The Go code that fills them (the view structs and the template functions) lives beside its
// renderer: report/site for the pages, report/email for the emails. Each consumer gets its own
// subfolder and accessor.
package templates

import (
	"embed"
	"io/fs"
)

//go:embed site
var siteFS embed.FS

//go:embed email/*.html email/*.txt
var emailFS embed.FS

// Site is the static report site: layout.html, period.html and index.html (html/template
// sources), plus site.css and site.js, which are published under assets/.
func Site() fs.FS { return sub(siteFS, "site") }

// Email is the markup of the emails (report/email executes it): alert.html, alert.txt and
// alert_subject.txt; digest.html, digest.txt and digest_subject.txt; entity.html, entity.txt
// and entity_subject.txt (the alert of an envelope budget's entities); statement.html,
// statement.txt and statement_subject.txt (an owner's monthly chargeback statement); the partials both HTML
// bodies include: bar.html, the progress bar, drivers.html, a "top …" table, and links.html,
// the links to the published report.
func Email() fs.FS { return sub(emailFS, "email") }

func sub(f embed.FS, dir string) fs.FS {
	s, err := fs.Sub(f, dir)
	if err != nil { // cannot happen: dir is a valid, embedded directory name
		panic(err)
	}
	return s
}
