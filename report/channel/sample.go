package channel

import (
	"crypto/rand"
	"encoding/hex"
	"time"

	"github.com/aispend/aispend/report"
)

// TestMessage is the message of `aispend alert test --channel`: the sample alert
// (report.SampleAlertInput) as type "test", with an id and dedup key of its own so that no
// receiver takes it for a resend. reportURL is its link ("": none).
func TestMessage(now time.Time, loc *time.Location, currency, installation, reportURL string) report.ChannelMessage {
	in := report.SampleAlertInput(now, loc)
	in.Currency, in.ReportURL = currency, reportURL
	id := randomID()
	return report.ChannelMessage{AlertInput: in, Type: report.TypeTest, Action: report.ActionTrigger,
		ID: id, DedupKey: id + "-test", Installation: installation}
}

func randomID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return "aispend-" + hex.EncodeToString(b)
}
