package sheettest

import (
	"bytes"
	"compress/gzip"
	"encoding/csv"
	"encoding/json"
	"io"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
)

// FocusRow is one row of a FOCUS file by column name; a NULL is "".
type FocusRow map[string]string

// ReadFocus reads a gzip-compressed FOCUS CSV: its header and rows.
func ReadFocus(t testing.TB, r io.Reader) ([]string, []FocusRow) {
	t.Helper()
	zr, err := gzip.NewReader(r)
	if err != nil {
		t.Fatalf("focus csv: %v", err)
	}
	recs, err := csv.NewReader(zr).ReadAll()
	if err != nil {
		t.Fatalf("focus csv: %v", err)
	}
	if len(recs) == 0 {
		t.Fatal("focus csv: no header")
	}
	var rows []FocusRow
	for _, rec := range recs[1:] {
		row := FocusRow{}
		for i, h := range recs[0] {
			row[h] = rec[i]
		}
		rows = append(rows, row)
	}
	return recs[0], rows
}

// The requirements below come from the FinOps FOCUS specification (github.com/FinOps-Open-Cost-
// and-Usage-Spec/FOCUS_Spec): FOCUS 1.2 is tag v1.2 (commit 7296e314), files
// specification/columns/<column>.md and specification/attributes/<attribute>.md; FOCUS 1.3's
// ServiceProviderName and HostProviderName are read from the 1.3 working branch p_h_I_d_refactor
// (commit ba6b8e44), specification/columns/service_provider.md and host_provider.md, with the
// column names of the 1.3 release.

// focusType is a column's data type and nullability (the "Content Constraints" of each column).
type focusType struct {
	kind     string // "string", "decimal", "datetime", "json", "currency"
	nullable bool
}

// focusColumns are the FOCUS columns a file must have and their constraints: every column 1.2
// makes Mandatory, the Conditional and Recommended ones aispend emits, and 1.3's provider pair.
var focusColumns = map[string]focusType{
	// 1.2 Mandatory (columns/*.md, "Feature level: Mandatory").
	"BilledCost": {"decimal", false}, "BillingAccountId": {"string", false}, "BillingAccountName": {"string", true},
	"BillingCurrency": {"currency", false}, "BillingPeriodEnd": {"datetime", false}, "BillingPeriodStart": {"datetime", false},
	"ChargeCategory": {"string", false}, "ChargeClass": {"string", true}, "ChargeDescription": {"string", true},
	"ChargePeriodEnd": {"datetime", false}, "ChargePeriodStart": {"datetime", false}, "ContractedCost": {"decimal", false},
	"EffectiveCost": {"decimal", false}, "InvoiceIssuerName": {"string", false}, "ListCost": {"decimal", false},
	"PricingQuantity": {"decimal", true}, "PricingUnit": {"string", true}, "ProviderName": {"string", false},
	"PublisherName": {"string", false}, "ServiceCategory": {"string", false}, "ServiceName": {"string", false},
	// 1.2 Conditional / Recommended columns that aispend has values for.
	"ChargeFrequency": {"string", false}, "ServiceSubcategory": {"string", false}, "ConsumedQuantity": {"decimal", true},
	"ConsumedUnit": {"string", true}, "ListUnitPrice": {"decimal", true}, "PricingCategory": {"string", true},
	"SkuId": {"string", true}, "SkuPriceId": {"string", true}, "SkuMeter": {"string", true},
	"SubAccountId": {"string", true}, "SubAccountName": {"string", true}, "Tags": {"json", true},
	// 1.3 (service_provider.md: Mandatory, not null; host_provider.md: String, nullable).
	"ServiceProviderName": {"string", false}, "HostProviderName": {"string", true},
}

var (
	// attributes/numeric_format.md: integer or decimal, a single decimal point, a minus sign only
	// for negative values (aispend never writes the E notation the attribute also allows).
	focusDecimal = regexp.MustCompile(`^-?(0|[1-9][0-9]*)(\.[0-9]+)?$`)
	// attributes/datetime_format.md: UTC, extended ISO 8601 'YYYY-MM-DDTHH:mm:ssZ'.
	focusDateTime = regexp.MustCompile(`^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$`)
	// attributes/currency_format.md: ISO 4217 three-letter code for national currency.
	focusCurrency = regexp.MustCompile(`^[A-Z]{3}$`)
	// attributes/column_handling.md: FOCUS column ids are alphanumeric PascalCase; custom ones x_.
	focusColumnID = regexp.MustCompile(`^(x_)?[A-Z][A-Za-z0-9]*$`)
)

// focusAllowed are the allowed values of the columns that have them (columns/*.md, "Allowed values").
var focusAllowed = map[string][]string{
	"ChargeCategory":  {"Usage", "Purchase", "Tax", "Credit", "Adjustment"},
	"ChargeClass":     {"Correction"},
	"ChargeFrequency": {"One-Time", "Recurring", "Usage-Based"},
	"PricingCategory": {"Standard", "Dynamic", "Committed", "Other"},
	"ServiceCategory": {"AI and Machine Learning", "Analytics", "Business Applications", "Compute", "Databases",
		"Developer Tools", "Multicloud", "Identity", "Integration", "Internet of Things", "Management and Governance",
		"Media", "Migration", "Mobile", "Networking", "Security", "Storage", "Web", "Other"},
}

// focusSubcategories are servicesubcategory.md's subcategories of "AI and Machine Learning".
var focusSubcategories = map[string]string{
	"AI Platforms": "AI and Machine Learning", "Bots": "AI and Machine Learning", "Generative AI": "AI and Machine Learning",
	"Machine Learning": "AI and Machine Learning", "Natural Language Processing": "AI and Machine Learning",
	"Other (AI and Machine Learning)": "AI and Machine Learning",
}

// CheckFocus checks a FOCUS file against the specification's requirements for every column it
// emits: presence, type and format, nullability and allowed values, and the rules between
// columns. It reports each violation with the row.
func CheckFocus(t testing.TB, header []string, rows []FocusRow) {
	t.Helper()
	for name := range focusColumns {
		if !slices.Contains(header, name) {
			t.Errorf("focus: column %s missing", name)
		}
	}
	custom := false
	for _, h := range header {
		if !focusColumnID.MatchString(h) {
			t.Errorf("focus: column id %q is not PascalCase or x_", h)
		}
		if _, known := focusColumns[h]; !known && !strings.HasPrefix(h, "x_") {
			t.Errorf("focus: column %s is neither a FOCUS column checked here nor x_", h)
		}
		// column_handling.md: custom columns after all FOCUS columns.
		if strings.HasPrefix(h, "x_") {
			custom = true
		} else if custom {
			t.Errorf("focus: FOCUS column %s after custom columns", h)
		}
	}
	for i, r := range rows {
		for name, ty := range focusColumns {
			checkFocusValue(t, i+2, name, ty, r[name])
		}
		checkFocusRow(t, i+2, r)
	}
}

func checkFocusValue(t testing.TB, line int, name string, ty focusType, v string) {
	t.Helper()
	if v == "" {
		if !ty.nullable {
			t.Errorf("focus line %d: %s is null, the column is not nullable", line, name)
		}
		return
	}
	// attributes/string_handling.md: no strings of spaces only in not-nullable columns;
	// null_handling.md: no placeholders.
	if strings.TrimSpace(v) == "" {
		t.Errorf("focus line %d: %s is blank", line, name)
	}
	switch ty.kind {
	case "decimal":
		if !focusDecimal.MatchString(v) {
			t.Errorf("focus line %d: %s = %q is not a FOCUS decimal", line, name, v)
		}
	case "datetime":
		if _, err := time.Parse(time.RFC3339, v); err != nil || !focusDateTime.MatchString(v) {
			t.Errorf("focus line %d: %s = %q is not a UTC date-time", line, name, v)
		}
	case "currency":
		if !focusCurrency.MatchString(v) {
			t.Errorf("focus line %d: %s = %q is not an ISO 4217 code", line, name, v)
		}
	case "json":
		checkKeyValue(t, line, name, v)
	}
	if allowed, ok := focusAllowed[name]; ok && !slices.Contains(allowed, v) {
		t.Errorf("focus line %d: %s = %q is not an allowed value", line, name, v)
	}
}

// checkKeyValue: attributes/key_value_format.md, a JSON object with unique keys and values that
// are numbers, strings, true, false or null.
func checkKeyValue(t testing.TB, line int, name, v string) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader([]byte(v)))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Errorf("focus line %d: %s = %q is not a JSON object", line, name, v)
		return
	}
	seen := map[string]bool{}
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			t.Errorf("focus line %d: %s: %v", line, name, err)
			return
		}
		if seen[k.(string)] {
			t.Errorf("focus line %d: %s repeats key %q", line, name, k)
		}
		seen[k.(string)] = true
		val, err := dec.Token()
		if _, delim := val.(json.Delim); err != nil || delim {
			t.Errorf("focus line %d: %s: value of %q is not a scalar", line, name, k)
			return
		}
	}
}

// checkFocusRow checks the rules between columns.
func checkFocusRow(t testing.TB, line int, r FocusRow) {
	t.Helper()
	bad := func(format string, args ...any) { t.Errorf("focus line %d: "+format, append([]any{line}, args...)...) }
	// servicesubcategory.md: one parent ServiceCategory.
	if parent, ok := focusSubcategories[r["ServiceSubcategory"]]; !ok || parent != r["ServiceCategory"] {
		bad("ServiceSubcategory %q is not a subcategory of %q", r["ServiceSubcategory"], r["ServiceCategory"])
	}
	// billingperiodstart/end, chargeperiodstart/end: inclusive start, exclusive end.
	bs, be := parseFocusTime(r["BillingPeriodStart"]), parseFocusTime(r["BillingPeriodEnd"])
	cs, ce := parseFocusTime(r["ChargePeriodStart"]), parseFocusTime(r["ChargePeriodEnd"])
	if !bs.Before(be) || !cs.Before(ce) || cs.Before(bs) || ce.After(be) {
		bad("charge period %s–%s not a non-empty part of billing period %s–%s", cs, ce, bs, be)
	}
	usage := r["ChargeCategory"] == "Usage" && r["ChargeClass"] == ""
	// consumedquantity.md, consumedunit.md, pricingquantity.md, pricingunit.md, pricingcategory.md,
	// skuid.md: not null on usage rows; the unit null exactly when its quantity is.
	for _, c := range []string{"ConsumedQuantity", "PricingQuantity", "PricingCategory", "SkuId"} {
		if usage && r[c] == "" {
			bad("%s is null on a usage row", c)
		}
	}
	for _, p := range [][2]string{{"ConsumedQuantity", "ConsumedUnit"}, {"PricingQuantity", "PricingUnit"}, {"SubAccountId", "SubAccountName"}} {
		if (r[p[0]] == "") != (r[p[1]] == "") {
			bad("%s %q and %s %q: one is null, the other not", p[0], r[p[0]], p[1], r[p[1]])
		}
	}
	// skumeter.md: null when SkuId is; skupriceid.md: one parent SkuId.
	if r["SkuId"] == "" && (r["SkuMeter"] != "" || r["SkuPriceId"] != "") {
		bad("SkuMeter or SkuPriceId without SkuId")
	}
	checkFocusCosts(t, line, r)
}

// checkFocusCosts: listunitprice.md and listcost.md (non-negative; ListUnitPrice × PricingQuantity
// = ListCost; without a unit price, ListCost = BilledCost), contractedcost.md (no
// ContractedUnitPrice column: ContractedCost = BilledCost), effectivecost.md (usage without
// commitment discounts: aispend states EffectiveCost = BilledCost).
func checkFocusCosts(t testing.TB, line int, r FocusRow) {
	t.Helper()
	dec := func(c string) decimal.Decimal {
		d, err := decimal.NewFromString(r[c])
		if err != nil {
			return decimal.Zero
		}
		return d
	}
	billed := dec("BilledCost")
	if r["ListUnitPrice"] != "" {
		if dec("ListUnitPrice").IsNegative() {
			t.Errorf("focus line %d: ListUnitPrice negative", line)
		}
		if want := dec("ListUnitPrice").Mul(dec("PricingQuantity")); !want.Equal(dec("ListCost")) {
			t.Errorf("focus line %d: ListUnitPrice × PricingQuantity = %s, ListCost %s", line, want, r["ListCost"])
		}
	} else if !dec("ListCost").Equal(billed) {
		t.Errorf("focus line %d: no ListUnitPrice and ListCost %s ≠ BilledCost %s", line, r["ListCost"], r["BilledCost"])
	}
	for _, c := range []string{"ContractedCost", "EffectiveCost"} {
		if !dec(c).Equal(billed) {
			t.Errorf("focus line %d: %s %s ≠ BilledCost %s", line, c, r[c], r["BilledCost"])
		}
	}
}

func parseFocusTime(s string) time.Time {
	tm, _ := time.Parse(time.RFC3339, s)
	return tm
}
