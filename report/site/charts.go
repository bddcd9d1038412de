package site

import (
	"encoding/json"
	"fmt"
	"html/template"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/go-echarts/go-echarts/v2/charts"
	"github.com/go-echarts/go-echarts/v2/opts"
)

// maxModelBars caps the model chart; the remaining models are summed into one bar.
const maxModelBars = 12

// maxLabelRunes caps a chart label (echarts truncates on screen; tooltips show up to this); tables
// always show the full text.
const maxLabelRunes = 100

// palette is shared by all charts so a page reads as one piece.
var palette = opts.Colors{"#2563eb", "#0d9488", "#f59e0b", "#db2777", "#7c3aed",
	"#16a34a", "#ea580c", "#0891b2", "#64748b", "#dc2626", "#4f46e5", "#65a30d"}

// chartText prepares a label taken from events for a chart. Escaping for the page is done by
// json.Marshal (see optionsJSON); this only defuses go-echarts' "__f__" marker, which its
// renderer turns into raw JavaScript, by inserting a zero-width space (the text still reads
// the same). Repeated because overlapping markers ("__f__f__") survive a single pass.
func chartText(s string) string {
	for strings.Contains(s, "__f__") {
		s = strings.ReplaceAll(s, "__f__", "__f\u200b__")
	}
	if utf8.RuneCountInString(s) > maxLabelRunes {
		r := []rune(s)
		s = string(r[:maxLabelRunes-1]) + "…"
	}
	if s == "" {
		return "(none)"
	}
	return s
}

// optionsJSON turns go-echarts options into text safe inside <script type="application/json">.
// json.Marshal escapes <, > and & as \u003c, \u003e, \u0026 (so "</script" cannot appear) and
// U+2028/U+2029; nothing here uses go-echarts' own template or its "__f__" function markers.
func optionsJSON(options map[string]any) (template.JS, error) {
	b, err := json.Marshal(options)
	if err != nil {
		return "", fmt.Errorf("marshal chart options: %w", err)
	}
	return template.JS(b), nil
}

// common options: no animation (screenshots and PDFs would capture empty bars), a readable
// font, the shared palette.
func baseOpts() []charts.GlobalOpts {
	return []charts.GlobalOpts{
		charts.WithAnimation(false),
		charts.WithColorsOpts(palette),
		charts.WithTitleOpts(opts.Title{Show: opts.Bool(false)}),
		charts.WithToolboxOpts(opts.Toolbox{Show: opts.Bool(false)}),
		charts.WithInitializationOpts(opts.Initialization{Theme: "white"}),
	}
}

// dailyCostOptions builds the daily cost line: one point per day, oldest first.
// Days without data are gaps ("-" is echarts' empty value), and spike days carry a mark. A day
// in progress (the last one) is not drawn as a whole day, which would read as a drop: the line
// reaches it dashed, as a second series "so far". The period's own days are shaded when the
// line shows days around them (the 30 days of a week's page).
func dailyCostOptions(days []DayCost, spikes []Spike, period Period, loc *time.Location) map[string]any {
	labels := make([]string, len(days))
	data := make([]opts.LineData, len(days))
	soFar := make([]opts.LineData, len(days))
	partial := -1
	var inPeriod []string
	for i, d := range days {
		labels[i] = d.Day.In(loc).Format("2 Jan")
		data[i] = opts.LineData{Value: d.Cost.InexactFloat64()}
		if d.NoData {
			data[i] = opts.LineData{Value: "-"}
		}
		soFar[i] = opts.LineData{Value: "-"}
		if d.Partial {
			partial = i
		}
		if !d.Day.Before(period.Start) && d.Day.Before(period.End) {
			inPeriod = append(inPeriod, labels[i])
		}
	}
	if partial >= 0 {
		soFar[partial] = opts.LineData{Value: data[partial].Value, Name: "so far"}
		data[partial] = opts.LineData{Value: "-"}
		if partial > 0 {
			soFar[partial-1] = data[partial-1]
		}
	}
	var marks []opts.MarkPointNameCoordItem
	for _, s := range spikes {
		label := s.Day.In(loc).Format("2 Jan")
		marks = append(marks, opts.MarkPointNameCoordItem{Name: "spike", Value: "spike",
			Coordinate: []interface{}{label, s.Cost.InexactFloat64()}, Symbol: "pin", SymbolSize: 44,
			ItemStyle: &opts.ItemStyle{Color: "#dc2626"}, Label: &opts.Label{Show: opts.Bool(true), Formatter: "spike", FontSize: 10}})
	}
	line := charts.NewLine()
	line.SetGlobalOptions(append(baseOpts(),
		charts.WithTooltipOpts(opts.Tooltip{Show: opts.Bool(true), Trigger: "axis"}),
		charts.WithLegendOpts(opts.Legend{Show: opts.Bool(false)}),
		charts.WithGridOpts(opts.Grid{Left: "12", Right: "24", Top: "24", Bottom: "8", ContainLabel: opts.Bool(true)}),
		charts.WithXAxisOpts(opts.XAxis{Type: "category"}),
		charts.WithYAxisOpts(opts.YAxis{Type: "value", SplitLine: &opts.SplitLine{Show: opts.Bool(true)}}),
	)...)
	seriesOpts := []charts.SeriesOpts{
		charts.WithLineChartOpts(opts.LineChart{Symbol: "circle", SymbolSize: 5, ShowSymbol: opts.Bool(true)}),
		charts.WithAreaStyleOpts(opts.AreaStyle{Opacity: opts.Float(0.12)}),
		charts.WithLineStyleOpts(opts.LineStyle{Width: 2}),
		charts.WithMarkPointNameCoordItemOpts(marks...),
	}
	if len(inPeriod) > 0 && len(inPeriod) < len(days) {
		seriesOpts = append(seriesOpts, charts.WithMarkAreaData([]opts.MarkAreaData{
			{Name: period.Label, XAxis: inPeriod[0]}, {XAxis: inPeriod[len(inPeriod)-1]},
		}), charts.WithMarkAreaStyleOpts(opts.MarkAreaStyle{
			ItemStyle: &opts.ItemStyle{Color: "rgba(37, 99, 235, 0.08)"},
			Label:     &opts.Label{Show: opts.Bool(true), Position: "insideTopRight", Color: "#475569"},
		}))
	}
	line.SetXAxis(labels).AddSeries("Cost", data, seriesOpts...)
	if partial >= 0 {
		line.AddSeries("Cost so far", soFar,
			charts.WithLineChartOpts(opts.LineChart{Symbol: "emptyCircle", SymbolSize: 7, ShowSymbol: opts.Bool(true)}),
			charts.WithLineStyleOpts(opts.LineStyle{Width: 2, Type: "dashed", Color: palette[0]}),
			charts.WithItemStyleOpts(opts.ItemStyle{Color: palette[0]}),
			charts.WithMarkPointNameCoordItemOpts(opts.MarkPointNameCoordItem{Name: "so far", Value: "so far",
				Coordinate: []interface{}{labels[partial], soFar[partial].Value}, Symbol: "circle", SymbolSize: 1,
				Label: &opts.Label{Show: opts.Bool(true), Position: "top", Formatter: "so far", Color: "#475569"}}),
		)
	}
	line.Validate()
	return line.JSON()
}

// servicePieOptions builds the service breakdown donut, each slice labelled with its name, cost
// and share (site.js formats the label), so that it reads without hovering.
func servicePieOptions(services []CostShare) map[string]any {
	data := make([]opts.PieData, 0, len(services))
	for _, s := range services {
		data = append(data, opts.PieData{Name: chartText(s.Name), Value: s.Cost.InexactFloat64()})
	}
	pie := charts.NewPie()
	pie.SetGlobalOptions(append(baseOpts(),
		charts.WithTooltipOpts(opts.Tooltip{Show: opts.Bool(true), Trigger: "item"}),
		charts.WithLegendOpts(opts.Legend{Show: opts.Bool(false)}),
	)...)
	pie.AddSeries("Cost by service", data,
		charts.WithPieChartOpts(opts.PieChart{Radius: []string{"38%", "60%"}, Center: []string{"50%", "50%"}}),
		charts.WithLabelOpts(opts.Label{Show: opts.Bool(true), Position: "outside", LineHeight: 16}),
		charts.WithItemStyleOpts(opts.ItemStyle{BorderColor: "#fff", BorderWidth: 2}),
	)
	pie.Validate()
	return pie.JSON()
}

// modelBarOptions builds the model breakdown as horizontal bars, largest on top.
func modelBarOptions(models []CostShare) map[string]any {
	shown := models
	if len(models) > maxModelBars {
		shown = append([]CostShare(nil), models[:maxModelBars-1]...)
		rest := CostShare{Name: fmt.Sprintf("%d other models", len(models)-(maxModelBars-1))}
		for _, m := range models[maxModelBars-1:] {
			rest.Cost = rest.Cost.Add(m.Cost)
			rest.Requests += m.Requests
		}
		shown = append(shown, rest)
	}
	// A category y axis draws its first entry at the bottom: reverse so the list reads top-down.
	names := make([]string, len(shown))
	data := make([]opts.BarData, len(shown))
	for i, m := range shown {
		j := len(shown) - 1 - i
		names[j] = chartText(m.Name)
		data[j] = opts.BarData{Value: m.Cost.InexactFloat64()}
		if m.Unpriced {
			// site.js shows a data item's own label text instead of the amount.
			data[j].Label = &opts.Label{Show: opts.Bool(true), Position: "right", Formatter: "unpriced"}
		}
	}
	bar := charts.NewBar()
	bar.SetGlobalOptions(append(baseOpts(),
		charts.WithTooltipOpts(opts.Tooltip{Show: opts.Bool(true), Trigger: "item"}),
		charts.WithLegendOpts(opts.Legend{Show: opts.Bool(false)}),
		charts.WithGridOpts(opts.Grid{Left: "12", Right: "72", Top: "8", Bottom: "8", ContainLabel: opts.Bool(true)}),
		// XYReversal below moves the names to the y axis: x is the value axis.
		charts.WithXAxisOpts(opts.XAxis{Type: "value", SplitLine: &opts.SplitLine{Show: opts.Bool(true)}}),
		charts.WithYAxisOpts(opts.YAxis{Type: "category", AxisLabel: &opts.AxisLabel{Width: 180, Overflow: "truncate"}}),
	)...)
	bar.SetXAxis(names).AddSeries("Cost", data,
		charts.WithLabelOpts(opts.Label{Show: opts.Bool(true), Position: "right"}),
		charts.WithBarChartOpts(opts.BarChart{BarCategoryGap: "30%"}),
	)
	bar.XYReversal()
	bar.Validate()
	return bar.JSON()
}
