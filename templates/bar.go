package templates

// Bar is a progress bar drawn by the "progress_bar" partial (email/bar.html) from two table
// cells with background colours, which Gmail and Outlook show without images or scripts. The
// alert and the digest emails share it.
type Bar struct {
	Percent int    // filled part, 0..100
	Color   string // CSS colour of the filled part; from this package's palette, never from data
	Height  int    // pixels
}

// NewBar is a bar of the usual height, filled to percent clamped to 0..100 (a budget spent
// twice over still draws a full bar).
func NewBar(percent int, color string) Bar {
	return Bar{Percent: min(max(percent, 0), 100), Color: color, Height: 14}
}

// Rest is the empty part of the bar.
func (b Bar) Rest() int { return 100 - b.Percent }
