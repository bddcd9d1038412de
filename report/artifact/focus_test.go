package artifact_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/minio/minio-go/v7"
	"github.com/shopspring/decimal"
	"github.com/xuri/excelize/v2"

	"github.com/aispend/aispend/collect"
	"github.com/aispend/aispend/collect/testkit"
	"github.com/aispend/aispend/collect/testkit/eventtest"
	"github.com/aispend/aispend/collect/testkit/s3test"
	"github.com/aispend/aispend/collect/testkit/sheettest"
	"github.com/aispend/aispend/report"
	"github.com/aispend/aispend/report/artifact"
	"github.com/aispend/aispend/report/publish"
	"github.com/aispend/aispend/report/sheet"
)

const (
	focusKey    = "daily/2026-10-02/aispend-daily-2026-10-02-focus.csv.gz"
	manifestKey = "daily/2026-10-02/manifest.json"
)

// focusVersion is the price version seedFocus stores on locally priced events; focusPrices knows it.
const focusVersion = "anthropic/claude-sonnet-4-5@2026-01-01"

func focusPrices(version, model, provider string, day time.Time) (report.MeterPrices, bool) {
	if version != focusVersion {
		return report.MeterPrices{}, false
	}
	return report.MeterPrices{Uncached: testkit.Dec("3"), CacheRead: testkit.Dec("0.3"), CacheWrite: testkit.Dec("3.75"), Output: testkit.Dec("15")}, true
}

// seedFocus stores n events over the Seoul day of p (so over two UTC days): three providers
// (one unnamed), cache reads and writes, orgs and tag sets, locally priced events with a price
// version and exchange rate, provider-priced ones, and unpriced ones.
func seedFocus(t *testing.T, pool *pgxpool.Pool, day time.Time, n int) {
	t.Helper()
	var rows []collect.Row
	for i := range n {
		r := eventtest.Row(eventtest.ID(t), day.Add(time.Duration(i)*(24*time.Hour/time.Duration(n))))
		r.Model, r.Provider = []string{"claude-sonnet-4-5", "gpt-4o", "mystery"}[i%3], []string{"anthropic", "openai", ""}[i%3]
		r.InputTokens, r.CacheReadTokens, r.CacheWriteTokens, r.OutputTokens = int64(1000+i), int64(100*(i%4)), int64(50*(i%3)), int64(10+i)
		r.OrgID, r.CacheHit = []string{"", "org-1", "org-2"}[i%3], i%2 == 0
		if i%4 != 0 {
			r.Tags = []byte(fmt.Sprintf(`{"team": "t%d", "feature": "=cmd"}`, i%2))
		}
		eventtest.Price(&r, costs[i%len(costs)])
		switch {
		case i%5 == 4:
			eventtest.Price(&r, "")
		case r.Provider == "anthropic":
			r.PriceVersion, r.FXRate = focusVersion, decimal.NewNullDecimal(testkit.Dec("1.25"))
		default:
			r.CostSource = "provider"
		}
		rows = append(rows, r)
	}
	eventtest.Insert(t, pool, rows...)
}

// Ensures the published FOCUS file conforms to the specification and reconciles to the last
// unit: its BilledCost per UTC day and model and its tokens per meter equal the database's own
// GROUP BY over the events, its total the workbook's Summary total and its per-model sums the
// workbook's By model sheet; and that the page, the Summary sheet and the digest link it.
func TestFocusExportConformsAndReconciles(t *testing.T) {
	e := newEnv(t)
	e.unitPrices = focusPrices
	dir := t.TempDir()
	seedFocus(t, e.pool, day(2).Start, 60)
	if _, err := e.job(t, publish.Dir{Root: dir}, nil).Run(context.Background(), day(2), report.RunOptions{}); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(filepath.Join(dir, focusKey))
	if err != nil {
		t.Fatalf("no FOCUS file: %v", err)
	}
	defer f.Close()
	header, rows := sheettest.ReadFocus(t, f)
	sheettest.CheckFocus(t, header, rows)

	byDayModel, tokens, perModel := map[string]decimal.Decimal{}, map[string]int64{}, map[string]decimal.Decimal{}
	for _, r := range rows {
		k := r["ChargePeriodStart"][:10] + " " + r["ServiceName"]
		byDayModel[k] = byDayModel[k].Add(testkit.Dec(r["BilledCost"]))
		perModel[r["ServiceName"]] = perModel[r["ServiceName"]].Add(testkit.Dec(r["BilledCost"]))
		var n int64
		fmt.Sscan(r["ConsumedQuantity"], &n)
		tokens[r["SkuMeter"]] += n
		if r["x_PriceVersion"] == focusVersion && r["ListUnitPrice"] == "" {
			t.Errorf("a row of a known price version has no ListUnitPrice: %v", r)
		}
	}
	if len(byDayModel) != 6 {
		t.Errorf("%d (UTC day, model) pairs, want 6 (two UTC days, three models): %v", len(byDayModel), byDayModel)
	}
	for k, want := range dbCostByDayModel(t, e.pool, day(2)) {
		if got := byDayModel[k]; !got.Equal(want) {
			t.Errorf("BilledCost of %s: FOCUS %s, database %s", k, got, want)
		}
	}
	for meter, want := range dbTokensByMeter(t, e.pool, day(2)) {
		if tokens[meter] != want {
			t.Errorf("%s: FOCUS %d, database %d", meter, tokens[meter], want)
		}
	}
	book := filepath.Join(dir, "daily/2026-10-02/aispend-daily-2026-10-02.xlsx")
	summary, _, _ := sheettest.Totals(t, book)
	total := decimal.Zero
	for _, c := range perModel {
		total = total.Add(c)
	}
	if want := eventtest.CostSum(t, e.pool, day(2).Start, day(2).End); !total.Equal(want) || !summary.Equal(want) {
		t.Errorf("total: FOCUS %s, workbook %s, database %s", total, summary, want)
	}
	for model, cost := range workbookModelCosts(t, book) {
		if !perModel[model].Equal(cost) {
			t.Errorf("model %s: FOCUS %s, workbook By model %s", model, perModel[model], cost)
		}
	}
	checkFocusLinks(t, e, dir, book)
}

// dbCostByDayModel is the database's cost per UTC day and model ("YYYY-MM-DD model") of period p.
func dbCostByDayModel(t *testing.T, pool *pgxpool.Pool, p report.Period) map[string]decimal.Decimal {
	t.Helper()
	rows, err := pool.Query(context.Background(), `SELECT to_char((occurred_at AT TIME ZONE 'UTC')::date, 'YYYY-MM-DD') || ' ' || model,
		coalesce(sum(cost), 0)::text FROM events WHERE occurred_at >= $1 AND occurred_at < $2 GROUP BY 1`, p.Start, p.End)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]decimal.Decimal{}
	var k, v string
	for rows.Next() {
		if err := rows.Scan(&k, &v); err != nil {
			t.Fatal(err)
		}
		out[k] = testkit.Dec(v)
	}
	if len(out) == 0 {
		t.Fatal("no events in the database")
	}
	return out
}

// dbTokensByMeter is the database's tokens of period p per FOCUS SkuMeter.
func dbTokensByMeter(t *testing.T, pool *pgxpool.Pool, p report.Period) map[string]int64 {
	t.Helper()
	var in, read, write, out int64
	err := pool.QueryRow(context.Background(), `SELECT sum(input_tokens - cache_read_tokens - cache_write_tokens), sum(cache_read_tokens),
		sum(cache_write_tokens), sum(output_tokens) FROM events WHERE occurred_at >= $1 AND occurred_at < $2`, p.Start, p.End).Scan(&in, &read, &write, &out)
	if err != nil {
		t.Fatal(err)
	}
	return map[string]int64{"Uncached Input Tokens": in, "Cache Read Tokens": read, "Cache Write Tokens": write, "Output Tokens": out}
}

// workbookModelCosts reads the By model sheet's cost per model (unpriced-only models as 0).
func workbookModelCosts(t *testing.T, path string) map[string]decimal.Decimal {
	t.Helper()
	f, err := excelize.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rs, err := f.GetRows(sheet.SheetModels, excelize.Options{RawCellValue: true})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]decimal.Decimal{}
	for _, r := range rs[1:] {
		if len(r) < 2 || r[0] == "" || r[0] == "Total" {
			continue
		}
		if r[1] == "unpriced" {
			r[1] = "0"
		}
		out[r[0]] = testkit.Dec(r[1])
	}
	if len(out) != 3 {
		t.Fatalf("By model: %v", rs)
	}
	return out
}

// checkFocusLinks checks that the page, the workbook's Summary and the digest link the FOCUS file.
func checkFocusLinks(t *testing.T, e *env, dir, book string) {
	t.Helper()
	page, err := os.ReadFile(filepath.Join(dir, "daily/2026-10-02/index.html"))
	if err != nil {
		t.Fatal(err)
	}
	name := filepath.Base(focusKey)
	if !strings.Contains(string(page), `href="`+name+`"`) {
		t.Errorf("the page does not link %s", name)
	}
	f, err := excelize.OpenFile(book)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	linked := false
	rs, _ := f.GetRows(sheet.SheetSummary)
	for i, r := range rs {
		if len(r) > 1 && r[1] == name {
			ok, target, _ := f.GetCellHyperLink(sheet.SheetSummary, fmt.Sprintf("B%d", i+1))
			linked = ok && target == name
		}
	}
	if !linked {
		t.Errorf("the Summary sheet does not link %s", name)
	}
	ds := digests(e.outboxMessages(t))
	if len(ds) != 1 || !strings.Contains(ds[0], name) {
		t.Errorf("the digest does not link %s", name)
	}
}

// Ensures a period's manifest.json, written before the pages and the index, lists every other
// file published for the period with its exact size and SHA-256 (recomputed from what the
// target holds), the price versions of the period's events and the counts, on a directory and
// on S3.
func TestManifestMatchesPublishedFiles(t *testing.T) {
	for _, tc := range []struct {
		name   string
		target func(t *testing.T) (publish.Target, func(key string) []byte, func() []string)
	}{
		{"directory", func(t *testing.T) (publish.Target, func(string) []byte, func() []string) {
			dir := t.TempDir()
			read := func(key string) []byte {
				b, err := os.ReadFile(filepath.Join(dir, key))
				if err != nil {
					t.Fatal(err)
				}
				return b
			}
			list := func() []string {
				entries, err := os.ReadDir(filepath.Join(dir, "daily/2026-10-02"))
				if err != nil {
					t.Fatal(err)
				}
				var out []string
				for _, en := range entries {
					out = append(out, en.Name())
				}
				return out
			}
			return publish.Dir{Root: dir}, read, list
		}},
		{"s3", s3Manifest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.unitPrices = focusPrices
			seedFocus(t, e.pool, day(2).Start, 30)
			target, read, list := tc.target(t)
			res, err := e.job(t, target, nil).Run(context.Background(), day(2), report.RunOptions{})
			if err != nil {
				t.Fatal(err)
			}
			checkManifest(t, e.pool, res, read, list)
		})
	}
}

func s3Manifest(t *testing.T) (publish.Target, func(string) []byte, func() []string) {
	srv := s3test.Start(t)
	const prefix = "sites/acme"
	target, err := publish.NewS3(publish.S3Config{Endpoint: srv.Endpoint, Region: srv.Region, PathStyle: true,
		AccessKey: srv.AccessKey, SecretKey: srv.SecretKey, Bucket: srv.Bucket, Prefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	read := func(key string) []byte {
		o, err := srv.Client().GetObject(context.Background(), srv.Bucket, prefix+"/"+key, minio.GetObjectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		defer o.Close()
		var b bytes.Buffer
		if _, err := b.ReadFrom(o); err != nil {
			t.Fatalf("get %s: %v", key, err)
		}
		return b.Bytes()
	}
	list := func() []string {
		var out []string
		dir := prefix + "/daily/2026-10-02/"
		for o := range srv.Client().ListObjects(context.Background(), srv.Bucket, minio.ListObjectsOptions{Prefix: dir, Recursive: true}) {
			if o.Err != nil {
				t.Fatal(o.Err)
			}
			out = append(out, strings.TrimPrefix(o.Key, dir))
		}
		return out
	}
	return target, read, list
}

func checkManifest(t *testing.T, pool *pgxpool.Pool, res *report.Result, read func(string) []byte, list func() []string) {
	t.Helper()
	var m artifact.Manifest
	if err := json.Unmarshal(read(manifestKey), &m); err != nil {
		t.Fatalf("manifest.json: %v", err)
	}
	var names []string
	for _, f := range m.Files {
		names = append(names, f.Name)
		body := read("daily/2026-10-02/" + f.Name)
		sum := sha256.Sum256(body)
		if f.Bytes != int64(len(body)) || f.SHA256 != hex.EncodeToString(sum[:]) {
			t.Errorf("%s: manifest %d bytes %s, published %d bytes %x", f.Name, f.Bytes, f.SHA256, len(body), sum)
		}
	}
	published := slices.DeleteFunc(list(), func(n string) bool { return n == "manifest.json" })
	slices.Sort(published)
	if !slices.Equal(names, published) || !slices.Contains(names, filepath.Base(focusKey)) {
		t.Errorf("manifest lists %v, the period holds %v", names, published)
	}
	var versions []string
	rows, err := pool.Query(context.Background(), `SELECT DISTINCT price_version FROM events WHERE price_version IS NOT NULL
		AND occurred_at >= $1 AND occurred_at < $2 ORDER BY 1`, day(2).Start, day(2).End)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		versions = append(versions, v)
	}
	if !slices.Equal(m.PriceVersions, versions) || !slices.Equal(m.EventExchangeRates, []string{"1.25"}) {
		t.Errorf("price versions %v, rates %v; database %v, [1.25]", m.PriceVersions, m.EventExchangeRates, versions)
	}
	want := eventtest.CostSum(t, pool, day(2).Start, day(2).End)
	if m.Counts.Events != res.Report.Totals.Requests || m.Counts.Events != 30 || m.Counts.TotalCost != want.String() || m.Counts.FocusRows == 0 {
		t.Errorf("counts %+v; database 30 events costing %s", m.Counts, want)
	}
	// Written before the pages and the landing page.
	at := slices.Index(res.Published, manifestKey)
	if at < 0 || at > slices.Index(res.Published, "daily/2026-10-02/index.html") || at > slices.Index(res.Published, publish.IndexKey) {
		t.Errorf("manifest published at %d in %v", at, res.Published)
	}
}
