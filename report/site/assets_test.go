package site

import (
	"bytes"
	"embed"
	"strings"
	"testing"
)

// A stand-in for assets/dist on a fresh clone: embedded the same way, without echarts.min.js.
//
//go:embed testdata/nolib
var noLib embed.FS

// Ensure a binary built without the chart library refuses to render either page, with one line
// that says how to build it, and writes nothing.
func TestRenderRefusesWithoutChartLibrary(t *testing.T) {
	lib := readChartLibrary(mustSub(noLib, "testdata/nolib"))
	const want = "this aispend binary was built without the chart library (report/site/assets/dist/echarts.min.js); build it with `make build`"
	var b bytes.Buffer
	for name, render := range map[string]func() error{
		"period": func() error {
			h, err := lib.preparePeriod(samplePeriod(t))
			if err != nil {
				return err
			}
			return h.Write(&b)
		},
		"index": func() error { return lib.renderIndex(&b, sampleIndex(t)) },
	} {
		b.Reset()
		err := render()
		if err == nil || err.Error() != want {
			t.Errorf("%s page rendered without the chart library: error %v, want %q", name, err, want)
		}
		if err != nil && strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: error is not one line: %q", name, err)
		}
		if b.Len() != 0 {
			t.Errorf("%s: wrote %d bytes before refusing", name, b.Len())
		}
	}
	if _, ok := lib.files["echarts.min.js"]; ok {
		t.Error("the stand-in library has echarts.min.js")
	}
}

// Ensure the library this package was built with (by `make assets`) is whole, so the real
// render path does not refuse.
func TestChartLibraryEmbedded(t *testing.T) {
	if chartLib().err != nil {
		t.Fatal(chartLib().err)
	}
	if len(chartLib().files) != len(chartFiles) {
		t.Errorf("embedded %d chart files, want %d", len(chartLib().files), len(chartFiles))
	}
}
