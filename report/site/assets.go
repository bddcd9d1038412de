package site

import (
	"embed"
	"errors"
	"io/fs"
	"sync"

	"github.com/aispend/aispend/templates"
)

// EchartsVersion is the Apache ECharts release embedded below; it must equal the version pinned
// in assets/package.json and assets/package-lock.json (a test checks all three).
const EchartsVersion = "6.1.0"

// The chart library is fetched from the npm registry by `make assets` (npm ci against the
// committed lock file) into assets/dist/, which is not committed apart from its README. The
// whole directory is embedded, so a checkout without the library still builds and vets; such
// a binary refuses to render pages (errNoChartLibrary) instead of publishing charts that
// cannot draw.
//
//go:embed assets/dist
var dist embed.FS

// chartLib is the chart library this binary was built with, read when first used: a 1.1 MB
// copy that a budget check, which renders no page, does not need.
var chartLib = sync.OnceValue(func() chartLibrary { return readChartLibrary(mustSub(dist, "assets/dist")) })

// chartLibrary holds the published chart files, keyed by their name under assets/, or why the
// build lacks them.
type chartLibrary struct {
	files map[string][]byte
	err   error
}

// chartFiles maps each file of assets/dist to its published name. The licence files carry a
// .txt suffix so that object stores and browsers serve them as text.
var chartFiles = map[string]string{
	"echarts.min.js":  "echarts.min.js",
	"LICENSE":         "echarts-LICENSE.txt",
	"NOTICE":          "echarts-NOTICE.txt",
	"LICENSE-d3":      "echarts-LICENSE-d3.txt",
	"LICENSE-zrender": "zrender-LICENSE.txt",
}

// errNoChartLibrary is the whole message, on one line, because it ends the run of a binary
// built with a bare `go build`: it must say what to do.
var errNoChartLibrary = errors.New("this aispend binary was built without the chart library (report/site/assets/dist/echarts.min.js); build it with `make build`")

func readChartLibrary(fsys fs.FS) chartLibrary {
	lib := chartLibrary{files: map[string][]byte{}}
	for file, name := range chartFiles {
		b, err := fs.ReadFile(fsys, file)
		if err != nil || len(b) == 0 {
			lib.err = errNoChartLibrary
			continue
		}
		lib.files[name] = b
	}
	return lib
}

func mustSub(fsys fs.FS, dir string) fs.FS {
	sub, err := fs.Sub(fsys, dir)
	if err != nil {
		panic("site: " + err.Error()) // only for an invalid literal path
	}
	return sub
}

// Assets returns the files to publish under assets/, keyed by file name: the chart library
// with its licence files (Apache-2.0 with bundled BSD-3-Clause parts), the stylesheet and the
// chart bootstrap script. Every page of the site shares this one copy. In a binary built
// without the chart library its files are absent, and PreparePeriod and RenderIndex fail.
func Assets() map[string][]byte {
	out := map[string][]byte{"site.css": siteCSS, "site.js": siteJS}
	for name, b := range chartLib().files {
		out[name] = b
	}
	return out
}

// The stylesheet and script live with the other markup in package templates; like the page
// templates they are embedded, so reading them fails only if the build itself is broken.
var (
	siteCSS = mustRead("site.css")
	siteJS  = mustRead("site.js")
)

func mustRead(name string) []byte {
	b, err := fs.ReadFile(templates.Site(), name)
	if err != nil {
		panic("site: embedded asset missing: " + err.Error())
	}
	return b
}
