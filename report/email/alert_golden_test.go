package email

import (
	"flag"
	"github.com/aispend/aispend/report"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// Ensures the alert email bodies change only on purpose: review the diff after -update.
func TestAlertEmailGolden(t *testing.T) {
	for _, tc := range []struct {
		name  string
		spent string
		th    int
		kind  report.Kind
	}{{"warning", "40000", 80, report.Actual}, {"critical", "60000", 95, report.Actual}, {"forecast", "30000", report.ForecastThreshold, report.Forecast}} {
		t.Run(tc.name, func(t *testing.T) {
			e, err := AlertEmail(sampleInput(t, tc.spent, tc.th, tc.kind))
			if err != nil {
				t.Fatal(err)
			}
			for ext, got := range map[string][]byte{"html": e.HTML, "txt": e.Text, "subject": []byte(e.Subject + "\n")} {
				path := filepath.Join("testdata", "alert_"+tc.name+"."+ext+".golden")
				if *update {
					if err := os.MkdirAll("testdata", 0o755); err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(path, got, 0o644); err != nil {
						t.Fatal(err)
					}
					continue
				}
				want, err := os.ReadFile(path)
				if err != nil {
					t.Fatalf("%v (run go test ./report/mail -run Golden -update)", err)
				}
				if string(got) != string(want) {
					t.Errorf("%s differs from the golden file; run with -update and review the diff:\n%s", path, got)
				}
			}
		})
	}
}
