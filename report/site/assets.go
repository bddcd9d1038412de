package site

import (
	_ "embed"
	"io/fs"

	"github.com/aispend/aispend/templates"
)

// EchartsVersion is the Apache ECharts release embedded below; it must equal the version pinned
// in assets/package.json and assets/package-lock.json (a test checks all three).
const EchartsVersion = "6.1.0"

// The chart library is fetched from the npm registry by `make assets` (npm ci against the
// committed lock file) into assets/dist/, which is not committed. If the build stops here with
// "pattern assets/dist/...: no matching files found", run `make assets`.

//go:embed assets/dist/echarts.min.js
var echartsJS []byte

//go:embed assets/dist/LICENSE
var echartsLicense []byte

//go:embed assets/dist/NOTICE
var echartsNotice []byte

//go:embed assets/dist/LICENSE-d3
var echartsLicenseD3 []byte

//go:embed assets/dist/LICENSE-zrender
var zrenderLicense []byte

// Assets returns the files to publish under assets/, keyed by file name: the chart library
// with its licence files (Apache-2.0 with bundled BSD-3-Clause parts), the stylesheet and the
// chart bootstrap script. Every page of the site shares this one copy. The licence files carry
// a .txt suffix so that object stores and browsers serve them as text.
func Assets() map[string][]byte {
	return map[string][]byte{
		"echarts.min.js":         echartsJS,
		"echarts-LICENSE.txt":    echartsLicense,
		"echarts-NOTICE.txt":     echartsNotice,
		"echarts-LICENSE-d3.txt": echartsLicenseD3,
		"zrender-LICENSE.txt":    zrenderLicense,
		"site.css":               siteCSS,
		"site.js":                siteJS,
	}
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
