package report

import (
	"testing"
	"time"

	"github.com/shopspring/decimal"
)

// Ensures a comparison states what it compares with: the same days of the previous month when
// they have data throughout; only their part from the first event on (amounts, no percentage)
// when the data begin inside them; nothing when they begin after them (a fresh install) or there
// are none; and that a value with no baseline is new, not +∞ %.
func TestVersusOfDataBeginning(t *testing.T) {
	seoul := loc(t, "Asia/Seoul")
	dec := PeriodContaining(Monthly, time.Date(2026, 12, 7, 0, 0, 0, 0, seoul), seoul)
	same7 := func() *Comparison {
		return &Comparison{Start: time.Date(2026, 11, 1, 0, 0, 0, 0, seoul), End: time.Date(2026, 11, 8, 0, 0, 0, 0, seoul), Partial: true}
	}
	d := func(s string) decimal.Decimal { return decimal.RequireFromString(s) }

	full := VersusOf(dec, same7())
	if full != (Versus{Basis: BasisFull, Label: "vs 1–7 Nov (same 7 days)"}) {
		t.Errorf("full: %+v", full)
	}
	if got, _ := full.Delta(d("251611"), d("11366")); !got.HasPercent || got.Percent.StringFixed(1) != "2113.7" {
		t.Errorf("full basis: %+v, want the percentage", got)
	}

	late := same7()
	late.DataBegin = time.Date(2026, 11, 7, 11, 2, 0, 0, seoul)
	partial := VersusOf(dec, late)
	if partial != (Versus{Basis: BasisPartial, Label: "vs 7 Nov 11:02–24:00, when data begin"}) {
		t.Errorf("data begin on the last compared day: %+v", partial)
	}
	got, ok := partial.Delta(d("251611"), d("11366"))
	if !ok || got.HasPercent || !got.Amount.Equal(d("240245")) || got.New {
		t.Errorf("partial basis: %+v %v, want the amount without a percentage", got, ok)
	}
	late.DataBegin = time.Date(2026, 11, 3, 9, 15, 0, 0, seoul)
	if v := VersusOf(dec, late); v.Label != "vs 3 Nov 09:15 – 7 Nov 24:00, since data begin" || v.Basis != BasisPartial {
		t.Errorf("data begin inside the compared days: %+v", v)
	}

	fresh := &Comparison{Start: time.Date(2026, 12, 4, 0, 0, 0, 0, seoul), End: time.Date(2026, 12, 5, 0, 0, 0, 0, seoul),
		DataBegin: time.Date(2026, 12, 5, 9, 14, 0, 0, seoul)}
	day := PeriodContaining(Daily, time.Date(2026, 12, 5, 0, 0, 0, 0, seoul), seoul)
	none := VersusOf(day, fresh)
	if none != (Versus{Basis: BasisNone, Label: "nothing to compare with: data begin 5 Dec 09:14"}) {
		t.Errorf("fresh install: %+v", none)
	}
	if got, ok := none.Delta(d("1.67"), d("0")); ok {
		t.Errorf("fresh install compares: %+v", got)
	}
	if v := VersusOf(day, &Comparison{Start: fresh.Start, End: fresh.End, NoData: true}); v.Basis != BasisNone {
		t.Errorf("no data at all: %+v", v)
	}

	if got, ok := full.Delta(d("5"), d("0")); !ok || !got.New || got.HasPercent {
		t.Errorf("from zero: %+v, want new without a percentage", got)
	}
	if got, _ := full.Delta(d("0"), d("0")); got.New || !got.Amount.IsZero() {
		t.Errorf("zero twice: %+v, want no change", got)
	}
}

// Ensures data that begin during the first compared day (its first event at 00:30, as on any
// quiet night) are a full basis.
func TestVersusOfDataBeginningOnTheFirstDay(t *testing.T) {
	seoul := loc(t, "Asia/Seoul")
	nov := PeriodContaining(Monthly, time.Date(2026, 11, 1, 0, 0, 0, 0, seoul), seoul)
	c := &Comparison{Start: time.Date(2026, 10, 1, 0, 0, 0, 0, seoul), End: time.Date(2026, 11, 1, 0, 0, 0, 0, seoul),
		DataBegin: time.Date(2026, 10, 1, 0, 30, 0, 0, seoul)}
	if v := VersusOf(nov, c); v != (Versus{Basis: BasisFull, Label: "vs October 2026"}) {
		t.Errorf("%+v", v)
	}
}
