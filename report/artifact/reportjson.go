package artifact

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/aispend/aispend/report"
	"github.com/aispend/aispend/report/api"
)

// ReportJSONName is the file beside every period page that holds the period's numbers as the
// read API answers them (report/api.Document), for consumers without a server.
const ReportJSONName = "report.json"

// ReportJSON is the report.json of a run's report: alerts is the alert history shown on the
// page, at the run's time.
func ReportJSON(rep *report.Report, alerts []report.LedgerEntry, at time.Time) ([]byte, error) {
	b, err := json.MarshalIndent(api.DocumentOf(rep, alerts, at), "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", ReportJSONName, err)
	}
	return append(b, '\n'), nil
}
