package main

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/aispend/aispend/collect/testkit/pgtest"
	"github.com/aispend/aispend/report"
)

// Ensures alerts.grace defaults to two days, is read from the file and from AISPEND_ALERTS_GRACE
// (which wins), reaches the batch job, and that a grace of zero or less is refused naming the key.
func TestAlertsGraceConfig(t *testing.T) {
	cfg, err := loadConfig(writeYAML(t, "currency: KRW\n"), envMap(nil))
	if err != nil || cfg.Alerts.Grace != report.DefaultAlertGrace || report.DefaultAlertGrace != 48*time.Hour {
		t.Fatalf("default alerts.grace: %v, %v; want 48h", cfg, err)
	}
	path := writeYAML(t, "alerts:\n  grace: 72h\n")
	if cfg, err = loadConfig(path, envMap(nil)); err != nil || cfg.Alerts.Grace != 72*time.Hour {
		t.Fatalf("alerts.grace 72h: %v, %v", cfg, err)
	}
	if cfg, err = loadConfig(path, envMap(map[string]string{"AISPEND_ALERTS_GRACE": "6h"})); err != nil || cfg.Alerts.Grace != 6*time.Hour {
		t.Fatalf("AISPEND_ALERTS_GRACE 6h: %v, %v", cfg, err)
	}
	job, err := newBatchJob(context.Background(), cfg, pgtest.Pool(t), noSender{}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil || job.AlertGrace != 6*time.Hour {
		t.Fatalf("job alert grace: %v, %v; want 6h", job, err)
	}
	for _, bad := range []string{"0s", "-1h"} {
		_, err := loadConfig(writeYAML(t, "alerts:\n  grace: "+bad+"\n"), envMap(nil))
		if err == nil || !strings.Contains(err.Error(), "alerts.grace: must be positive") {
			t.Errorf("alerts.grace %s: %v; want refused", bad, err)
		}
	}
}

// noSender is a report.Sender for building a job that sends nothing.
type noSender struct{}

func (noSender) Send(context.Context, *report.Email) error { return nil }
