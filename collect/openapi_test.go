package collect_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/aispend/aispend/collect"
)

type openAPIDoc struct {
	Paths      map[string]map[string]struct{ Responses map[string]any }
	Components struct {
		Schemas map[string]struct {
			Required   []string
			Properties map[string]struct {
				Type    string
				Maximum *int64
			}
		}
	}
}

// Ensures /openapi.json describes the real handlers: every documented operation is routed,
// answers with a documented status, and the Event schema lists exactly the fields the decoder
// reads.
func TestOpenAPIMatchesHandlers(t *testing.T) {
	f := newFixture(t, collect.Config{})
	w := httptest.NewRecorder()
	f.h.ServeHTTP(w, httptest.NewRequest("GET", "/openapi.json", nil))
	if w.Code != 200 {
		t.Fatalf("GET /openapi.json = %d", w.Code)
	}
	var doc openAPIDoc
	if err := json.Unmarshal(w.Body.Bytes(), &doc); err != nil {
		t.Fatalf("decode openapi.json: %v", err)
	}
	for path, ops := range doc.Paths {
		for method, op := range ops {
			for _, auth := range []string{"", "Bearer secret-1"} {
				r := httptest.NewRequest(strings.ToUpper(method), path, strings.NewReader(ev("o1")))
				r.Header.Set("Content-Type", "application/json")
				if auth != "" {
					r.Header.Set("Authorization", auth)
				}
				w := httptest.NewRecorder()
				f.h.ServeHTTP(w, r)
				if _, ok := op.Responses[strconv.Itoa(w.Code)]; !ok {
					t.Errorf("%s %s (auth %q) answered %d, not documented", method, path, auth, w.Code)
				}
				if w.Code == http.StatusMethodNotAllowed || w.Code == http.StatusNotFound && path != "/v1/budgets" {
					t.Errorf("%s %s is documented but not routed", method, path)
				}
			}
		}
	}

	var fields []string
	typ := reflect.TypeOf(collect.Event{})
	for i := 0; i < typ.NumField(); i++ {
		fields = append(fields, strings.Split(typ.Field(i).Tag.Get("json"), ",")[0])
	}
	var documented []string
	for name := range doc.Components.Schemas["Event"].Properties {
		documented = append(documented, name)
	}
	sort.Strings(fields)
	sort.Strings(documented)
	if !reflect.DeepEqual(fields, documented) {
		t.Errorf("Event fields %v\ndocumented %v", fields, documented)
	}
	// Required fields: an event without any one of them is refused with a problem for it.
	for _, req := range doc.Components.Schemas["Event"].Required {
		var m map[string]any
		json.Unmarshal([]byte(ev("r-"+req)), &m)
		delete(m, req)
		b, _ := json.Marshal(m)
		rep := f.post(t, "application/json", string(b))
		if rep.Status != 422 || len(rep.Problems) != 1 || rep.Problems[0].Field != req {
			t.Errorf("without %s: %+v", req, rep)
		}
	}
	// Bounded integers: every integer field states its maximum, which the validator applies:
	// the maximum is accepted, one more is refused.
	for name, prop := range doc.Components.Schemas["Event"].Properties {
		if prop.Type != "integer" {
			continue
		}
		if prop.Maximum == nil {
			t.Errorf("integer field %s documents no maximum", name)
			continue
		}
		for _, v := range []int64{*prop.Maximum, *prop.Maximum + 1} {
			var m map[string]any
			json.Unmarshal([]byte(ev(fmt.Sprintf("max-%s-%d", name, v))), &m)
			m["input_tokens"], m["output_tokens"] = collect.MaxTokens, collect.MaxTokens
			if strings.HasPrefix(name, "gen_ai.usage.input") || strings.HasPrefix(name, "gen_ai.usage.output") {
				// the alias counts only when the native field is absent
				delete(m, strings.TrimPrefix(name, "gen_ai.usage."))
			}
			m[name] = v
			if name == "cache_write_1h_tokens" {
				m["cache_write_tokens"] = v // the 1-hour writes are part of the cache writes
			}
			b, _ := json.Marshal(m)
			rep := f.post(t, "application/json", string(b))
			if v == *prop.Maximum && rep.Status != 200 {
				t.Errorf("%s at its documented maximum %d refused: %+v", name, v, rep)
			}
			if v > *prop.Maximum && (rep.Status != 422 || len(rep.Problems) == 0) {
				t.Errorf("%s above its documented maximum (%d) not refused: %+v", name, v, rep)
			}
		}
	}
}
