// Package templates holds the project's markup: every HTML template and stylesheet lives here,
// embedded into the binary, so rendering packages contain no markup and the files can be
// reviewed as HTML. Each consumer gets its own subfolder and accessor.
package templates

import (
	"embed"
	"io/fs"
)

//go:embed site
var siteFS embed.FS

// Site is the static report site: layout.html, period.html and index.html (html/template
// sources), plus site.css and site.js, which are published under assets/.
func Site() fs.FS {
	sub, err := fs.Sub(siteFS, "site")
	if err != nil { // cannot happen: "site" is a valid, embedded directory name
		panic(err)
	}
	return sub
}
