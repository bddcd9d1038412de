package demodata

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/term"

	"github.com/aispend/aispend/report/format"
)

// Progress shows how far loading has got: a bar redrawn in place on a terminal, otherwise a
// log line every 10 %, so that CI logs and files stay readable.
type Progress struct {
	w      io.Writer
	tty    bool
	log    *slog.Logger
	label  string
	total  int
	start  time.Time
	drawn  time.Time
	logged int // last logged tenth
	done   int
}

// NewProgress draws on w when it is a terminal and logs to log otherwise.
func NewProgress(w io.Writer, log *slog.Logger, label string, total int) *Progress {
	p := &Progress{w: w, log: log, label: label, total: total, start: time.Now()}
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		p.tty = true
	}
	return p
}

// Set records that done units of the total are finished.
func (p *Progress) Set(done int) {
	p.done = done
	if p.tty {
		// Redrawing more often than the eye can follow only costs time.
		if now := time.Now(); now.Sub(p.drawn) >= 100*time.Millisecond || done >= p.total {
			p.drawn = now
			p.draw()
		}
		return
	}
	if tenth := p.percent() / 10; tenth > p.logged {
		p.logged = tenth
		p.log.Info(p.label, "done", done, "total", p.total, "percent", p.percent())
	}
}

// Finish ends the bar's line.
func (p *Progress) Finish() {
	if p.tty {
		p.draw()
		fmt.Fprintln(p.w)
	}
}

func (p *Progress) percent() int {
	if p.total <= 0 {
		return 100
	}
	return min(100, p.done*100/p.total)
}

func (p *Progress) draw() {
	const width = 30
	filled := p.percent() * width / 100
	bar := strings.Repeat("=", filled) + strings.Repeat(" ", width-filled)
	if filled > 0 && filled < width {
		bar = bar[:filled-1] + ">" + bar[filled:]
	}
	rate := ""
	if s := time.Since(p.start).Seconds(); s > 0 {
		rate = "  " + format.Group(strconv.Itoa(int(float64(p.done)/s))) + "/s"
	}
	fmt.Fprintf(p.w, "\r%s [%s] %3d%%  %s/%s%s\x1b[K", p.label, bar, p.percent(),
		format.Group(strconv.Itoa(p.done)), format.Group(strconv.Itoa(p.total)), rate)
}
