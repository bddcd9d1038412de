package main

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

// progress shows how far long work has got: a bar redrawn in place on a terminal, otherwise a
// log line every 10 %, so that CI logs and files stay readable.
type progress struct {
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

func newProgress(env *environment, label string, total int) *progress {
	p := &progress{w: env.stderr, log: env.log, label: label, total: total, start: time.Now()}
	if f, ok := env.stderr.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		p.tty = true
	}
	return p
}

// Set records that done units of the total are finished.
func (p *progress) Set(done int) {
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
func (p *progress) Finish() {
	if p.tty {
		p.draw()
		fmt.Fprintln(p.w)
	}
}

func (p *progress) percent() int {
	if p.total <= 0 {
		return 100
	}
	return min(100, p.done*100/p.total)
}

func (p *progress) draw() {
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
