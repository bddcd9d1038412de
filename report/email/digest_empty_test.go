package email_test

import (
	"strings"
	"testing"

	"github.com/aispend/aispend/report/email"
)

// Ensures a period without requests says so instead of stating rates of nothing ("0 requests",
// "Success rate 0.0 %"), in the text, the HTML and the preview line.
func TestDigestOfAnEmptyPeriodSaysNoRequests(t *testing.T) {
	d := sample()
	d.KPIs = email.KPIs{}
	d.Previous = nil
	d.Movers, d.Spikes, d.UnpricedModels = nil, nil, nil
	d.TopServices, d.TopModels, d.TopUsers = nil, nil, nil
	_, body, text := render(t, d)
	for name, part := range map[string]string{"text": text, "HTML": readerText(body)} {
		if !strings.Contains(part, "No requests in this period.") {
			t.Errorf("%s does not say there were no requests:\n%s", name, part)
		}
		for _, bad := range []string{"Success rate", "Cache-hit rate", "0 requests", "Requests: 0"} {
			if strings.Contains(part, bad) {
				t.Errorf("%s states %q of an empty period:\n%s", name, bad, part)
			}
		}
	}
	if !strings.Contains(body, "Total ₩0 · no requests") {
		t.Errorf("preview line does not say no requests:\n%s", body)
	}
	// One request is counted in the singular.
	d.KPIs = email.KPIs{Cost: d.KPIs.Cost, Requests: 1}
	if _, body, _ := render(t, d); !strings.Contains(body, "Total ₩0 · 1 request ·") {
		t.Errorf("preview line of one request:\n%s", body)
	}
}
