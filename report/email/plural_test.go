package email_test

import (
	"html"
	"strings"
	"testing"

	"github.com/aispend/aispend/report"
)

// Ensures a count and its noun agree in every digest line that states one: "1 unpriced event",
// "3 unpriced events", "1 budget exceeded", never "1 events".
func TestDigestCountsAgreeWithTheirNoun(t *testing.T) {
	for _, tc := range []struct {
		unpriced int64
		want     []string
	}{
		{1, []string{"The total cost leaves out 1 unpriced event.", "m-one: 1 event unpriced"}},
		{3, []string{"The total cost leaves out 3 unpriced events.", "m-one: 3 events unpriced"}},
	} {
		d := sample()
		d.KPIs.Unpriced = tc.unpriced
		d.UnpricedModels = []report.UnpricedModel{{Model: "m-one", Events: tc.unpriced}}
		subject, body, text := render(t, d)
		if !strings.Contains(subject, "1 budget exceeded") {
			t.Errorf("subject %q: want 1 budget exceeded", subject)
		}
		for _, part := range []string{text, readerText(body)} {
			for _, want := range tc.want {
				if !strings.Contains(part, want) {
					t.Errorf("%d unpriced: lacks %q:\n%s", tc.unpriced, want, part)
				}
			}
			if strings.Contains(part, " 1 events") {
				t.Errorf("%d unpriced: a count of one with a plural noun:\n%s", tc.unpriced, part)
			}
		}
	}
}

// readerText is the text of an HTML body as a reader sees it: tags dropped, entities decoded,
// spaces collapsed.
func readerText(body string) string {
	return strings.Join(strings.Fields(html.UnescapeString(tagRE.ReplaceAllString(body, " "))), " ")
}
