package email

// progressBar is a progress bar drawn by the "progress_bar" partial (email/bar.html) from two table
// cells with background colours, which Gmail and Outlook show without images or scripts. The
// alert and the digest emails share it.
type progressBar struct {
	Percent int    // filled part, 0..100
	Color   string // CSS colour of the filled part; from this package's palette, never from data
	Height  int    // pixels
}

// newBar is a bar of the usual height, filled to percent clamped to 0..100 (a budget spent
// twice over still draws a full bar).
func newBar(percent int, color string) progressBar {
	return progressBar{Percent: min(max(percent, 0), 100), Color: color, Height: 14}
}

// Rest is the empty part of the bar.
func (b progressBar) Rest() int { return 100 - b.Percent }
