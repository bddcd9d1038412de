package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"

	"github.com/aispend/aispend/report/runlog"
)

func cmdRuns(ctx context.Context, env *environment, args []string) error {
	fs := env.flags("runs", "Lists the most recent runs (scheduled and `aispend run`), newest first: kind, period, status,\n"+
		"start time in the configured time zone, duration, alerts sent, published files, host and pid, error.")
	limit := fs.Int("limit", 20, "how many runs to list")
	if err := env.parse(fs, args); err != nil {
		return err
	}
	if *limit < 1 {
		return fmt.Errorf("--limit: must be at least 1, got %d", *limit)
	}
	cfg, err := loadConfig(env.configPath, env.getenv)
	if err != nil {
		return err
	}
	pool, err := openDB(ctx, cfg)
	if err != nil {
		return err
	}
	defer pool.Close()
	runs, err := runlog.New(pool, runlog.Options{}).Recent(ctx, *limit)
	if err != nil {
		return err
	}
	return writeRuns(env.stdout, runs, cfg.Location, time.Now())
}

// writeRuns prints runs as an aligned table.
func writeRuns(w io.Writer, runs []runlog.Run, loc *time.Location, now time.Time) error {
	if len(runs) == 0 {
		_, err := fmt.Fprintln(w, "no runs recorded yet")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tKIND\tPERIOD\tSTATUS\tSTARTED\tDURATION\tALERTS\tPUBLISHED\tHOST\tPID\tERROR")
	for _, r := range runs {
		end := now
		if r.FinishedAt != nil {
			end = *r.FinishedAt
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%d\t%d\t%s\t%d\t%s\n",
			r.ID, clean(r.Kind, 20), clean(r.Period, 20), r.Status,
			r.StartedAt.In(loc).Format("2006-01-02 15:04:05 MST"), end.Sub(r.StartedAt).Round(time.Second),
			r.AlertsSent, len(r.PublishedKeys), clean(r.Host, 40), r.PID, clean(r.Error, 100))
	}
	return tw.Flush()
}

// clean makes stored text safe and short for one table cell: control characters (line breaks,
// terminal escape sequences from an error message) become spaces, and long text is cut.
func clean(s string, max int) string {
	s = strings.Join(strings.FieldsFunc(s, func(r rune) bool { return unicode.IsControl(r) || r == '\t' }), " ")
	if r := []rune(s); len(r) > max {
		s = string(r[:max-1]) + "…"
	}
	if s == "" {
		return "-"
	}
	return s
}
