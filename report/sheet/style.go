package sheet

import (
	"fmt"
	"strings"

	"github.com/aispend/aispend/report/format"
	"github.com/xuri/excelize/v2"
)

// Number formats. Dates carry no zone (Excel has none): the zone is stated on the Summary sheet
// and every time is converted to it before it is written.
const (
	fmtInt      = "#,##0"
	fmtPercent  = "0.00%"
	fmtMillis   = "#,##0"
	fmtDate     = "yyyy-mm-dd"
	fmtRate     = "General" // a rate as configured: "#,##0.##" would show 1300 as "1,300."
	fmtDateTime = "yyyy-mm-dd hh:mm:ss"
)

// currencyLCID is the Windows locale written into [$sym-lcid] currency formats, so that Excel
// recognises the format as that currency. Codes not listed get a quoted literal prefix.
var currencyLCID = map[string]string{
	"KRW": "412", "JPY": "411", "USD": "409", "EUR": "407", "GBP": "809",
	"CNY": "804", "INR": "4009", "CAD": "1009", "AUD": "C09", "CHF": "807",
}

// moneyFormat is the number format for amounts in currency shown with the given number of
// decimals, e.g. KRW with 0 → [$₩-412]#,##0.
func moneyFormat(currency string, decimals int32) string {
	num := "#,##0"
	if decimals > 0 {
		num += "." + strings.Repeat("0", int(decimals))
	}
	code := strings.ToUpper(currency)
	if lcid, ok := currencyLCID[code]; ok {
		return fmt.Sprintf("[$%s-%s]%s", format.Symbol(code), lcid, num)
	}
	// The code is validated as three letters, so it cannot break out of the quotes.
	return fmt.Sprintf(`"%s "%s`, code, num)
}

// styles creates and caches cell styles by (number format, kind).
type styles struct {
	f        *excelize.File
	cache    map[styleKey]int
	currency string
}

type styleKey struct {
	numFmt string
	kind   styleKind
}

type styleKind int

const (
	plain styleKind = iota
	bold
	header
	title
	link // a hyperlink cell: blue and underlined, as spreadsheets show links
)

func newStyles(f *excelize.File, currency string) *styles {
	return &styles{f: f, cache: map[styleKey]int{}, currency: currency}
}

func (s *styles) get(numFmt string, kind styleKind) (int, error) {
	k := styleKey{numFmt, kind}
	if id, ok := s.cache[k]; ok {
		return id, nil
	}
	st := &excelize.Style{}
	if numFmt != "" {
		nf := numFmt
		st.CustomNumFmt = &nf
	}
	switch kind {
	case bold:
		st.Font = &excelize.Font{Bold: true}
	case header:
		st.Font = &excelize.Font{Bold: true}
		st.Fill = excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{"D9E1F2"}}
		st.Border = []excelize.Border{{Type: "bottom", Color: "8EA9DB", Style: 1}}
		st.Alignment = &excelize.Alignment{Vertical: "center", WrapText: true}
	case title:
		st.Font = &excelize.Font{Bold: true, Size: 14}
	case link:
		st.Font = &excelize.Font{Color: "0563C1", Underline: "single"}
	}
	id, err := s.f.NewStyle(st)
	if err != nil {
		return 0, fmt.Errorf("create style %q: %w", numFmt, err)
	}
	s.cache[k] = id
	return id, nil
}

// money is the format for totals and aggregates: the currency's usual decimals.
func (s *styles) money() string { return moneyFormat(s.currency, format.MinorUnits(s.currency)) }

// moneyFine shows two more decimals, for per-event and per-request amounts (₩7.80, not ₩8).
func (s *styles) moneyFine() string {
	return moneyFormat(s.currency, format.MinorUnits(s.currency)+2)
}
