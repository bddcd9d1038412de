package artifact

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/aispend/aispend/report"
	"github.com/aispend/aispend/report/publish"
	"github.com/aispend/aispend/report/sheet"
)

// focusFile is the FOCUS CSV the workbooks step made, and what the manifest states about it.
type focusFile struct {
	path     string
	rows     int64
	versions []string // the price versions of the period's events, sorted
	fxRates  []string // the exchange rates of the period's events, sorted
}

// focusSource is where the FOCUS groups of rep's period are read: the report's own snapshot, so
// that BilledCost adds up to exactly the report's total, else the Store; nil when neither can.
func (o *Outputs) focusSource(rep *report.Report) report.FocusSource {
	if o.cfg.NoEventsExport || o.cfg.NoFocusExport {
		// The FOCUS rows carry event-level keys (user, endpoint, tags): with the events export off
		// they stay off the published site too, and the run reads no raw events for them.
		return nil
	}
	if fs, ok := rep.Events.(report.FocusSource); ok {
		return fs
	}
	if rep.Events == nil {
		if fs, ok := o.cfg.Store.(report.FocusSource); ok {
			return fs
		}
	}
	return nil
}

// focus writes the period's FOCUS CSV to a temporary file (nil, nil without a FOCUS source). A
// file whose BilledCost does not add up to the report's total is an error, not published.
func (o *Outputs) focus(ctx context.Context, rep *report.Report) (_ *focusFile, err error) {
	src := o.focusSource(rep)
	if src == nil {
		return nil, nil
	}
	f, err := os.CreateTemp(o.cfg.TmpDir, "aispend-focus-*.csv.gz")
	if err != nil {
		return nil, fmt.Errorf("create focus csv file: %w", err)
	}
	defer func() {
		if cerr := f.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("write %s: %w", f.Name(), cerr)
		}
		if err != nil {
			os.Remove(f.Name())
		}
	}()
	p := rep.Period
	account := cmp.Or(o.cfg.Installation, "aispend")
	w, err := sheet.NewFocusCSV(f, sheet.FocusPeriod{Start: p.Start, End: p.End, Currency: rep.Currency, BillingAccountID: account}, o.cfg.UnitPrices)
	if err != nil {
		return nil, err
	}
	versions, rates := map[string]bool{}, map[string]bool{}
	err = src.FocusGroups(ctx, p.Start, p.End, func(g *report.FocusGroup) error {
		if g.PriceVersion != "" {
			versions[g.PriceVersion] = true
		}
		if g.FXRate.Valid {
			rates[g.FXRate.Decimal.String()] = true
		}
		return w.Write(g)
	})
	if err != nil {
		return nil, fmt.Errorf("write focus csv: %w", err)
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	if !w.Billed().Equal(rep.Totals.Cost) {
		return nil, fmt.Errorf("focus csv: BilledCost adds up to %s, the report's total is %s", w.Billed(), rep.Totals.Cost)
	}
	o.cfg.Logger.Info("focus csv written", "period", p.String(), "rows", w.Rows())
	return &focusFile{path: f.Name(), rows: w.Rows(), versions: sortedKeys(versions), fxRates: sortedKeys(rates)}, nil
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// Manifest is a period's manifest.json: what a run published for the period, so that finance can
// check what they received (sha256sum of each file), and what the figures rest on.
type Manifest struct {
	Kind        string    `json:"kind"`
	Period      string    `json:"period"`
	Start       time.Time `json:"start"`
	End         time.Time `json:"end"`
	Currency    string    `json:"currency"`
	GeneratedAt time.Time `json:"generated_at"`
	// Files are every other file published for the period, by name (beside the manifest).
	Files []ManifestFile `json:"files"`
	// PriceVersions are the price-table rows that priced the period's events.
	PriceVersions []string `json:"price_versions"`
	// ExchangeRates are the configured rates; EventExchangeRates the rates stored on the
	// period's events (units of the reporting currency per USD).
	ExchangeRates      []ManifestRate `json:"exchange_rates"`
	EventExchangeRates []string       `json:"event_exchange_rates"`
	Counts             ManifestCounts `json:"counts"`
}

// ManifestFile is one published file: its name beside the manifest, size and SHA-256 (hex).
type ManifestFile struct {
	Name   string `json:"name"`
	Bytes  int64  `json:"bytes"`
	SHA256 string `json:"sha256"`
}

// ManifestRate is a configured exchange rate.
type ManifestRate struct {
	Currency string `json:"currency"`
	Rate     string `json:"rate"`
	Since    string `json:"since,omitempty"`
}

// ManifestCounts are the period's counts.
type ManifestCounts struct {
	Events    int64  `json:"events"`
	Unpriced  int64  `json:"unpriced_events"`
	FocusRows int64  `json:"focus_rows"`
	TotalCost string `json:"total_cost"`
}

// manifest makes the period's manifest.json from the files made (on disk) and the period's files
// among those about to be published (in memory).
func (o *Outputs) manifest(res *report.Result, at time.Time, made *workbookFiles, files []publish.File) ([]byte, error) {
	rep, sp := res.Report, SitePeriod(res.Period)
	m := Manifest{Kind: string(res.Period.Kind), Period: res.Period.Label(), Start: res.Period.Start.UTC(), End: res.Period.End.UTC(),
		Currency: rep.Currency, GeneratedAt: at.UTC(), PriceVersions: []string{}, EventExchangeRates: []string{}, ExchangeRates: []ManifestRate{},
		Counts: ManifestCounts{Events: rep.Totals.Requests, Unpriced: rep.Totals.Unpriced, TotalCost: rep.Totals.Cost.String()}}
	for _, r := range o.cfg.Rates {
		m.ExchangeRates = append(m.ExchangeRates, ManifestRate{Currency: r.Currency, Rate: r.Value.String(), Since: r.Since})
	}
	if made != nil {
		disk := [][2]string{{sp.EventsCSVPath(), made.events}, {sp.WorkbookPath(), made.workbook}}
		if made.focus != nil {
			disk = append(disk, [2]string{sp.FocusCSVPath(), made.focus.path})
			m.PriceVersions, m.EventExchangeRates, m.Counts.FocusRows = made.focus.versions, made.focus.fxRates, made.focus.rows
		}
		for _, d := range disk {
			if d[1] == "" {
				continue
			}
			mf, err := fileDigest(path.Base(d[0]), d[1])
			if err != nil {
				return nil, err
			}
			m.Files = append(m.Files, mf)
		}
	}
	for _, f := range files {
		if strings.HasPrefix(f.Key, sp.Dir()+"/") {
			sum := sha256.Sum256(f.Body)
			m.Files = append(m.Files, ManifestFile{Name: path.Base(f.Key), Bytes: int64(len(f.Body)), SHA256: hex.EncodeToString(sum[:])})
		}
	}
	slices.SortFunc(m.Files, func(a, b ManifestFile) int { return strings.Compare(a.Name, b.Name) })
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("manifest: %w", err)
	}
	return append(b, '\n'), nil
}

// fileDigest is the manifest entry of the file at p, published as name.
func fileDigest(name, p string) (ManifestFile, error) {
	f, err := os.Open(p)
	if err != nil {
		return ManifestFile{}, fmt.Errorf("manifest: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return ManifestFile{}, fmt.Errorf("manifest: read %s: %w", name, err)
	}
	return ManifestFile{Name: name, Bytes: n, SHA256: hex.EncodeToString(h.Sum(nil))}, nil
}
