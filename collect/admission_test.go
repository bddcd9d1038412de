package collect_test

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aispend/aispend/collect"
)

// blockingStore holds every Insert until release is closed, announcing each on entered.
type blockingStore struct {
	entered chan struct{}
	release chan struct{}
}

func (s *blockingStore) Insert(_ context.Context, rows []collect.Row) (int, int, error) {
	s.entered <- struct{}{}
	<-s.release
	return len(rows), 0, nil
}

var _ collect.EventStore = (*blockingStore)(nil)

// Ensures requests beyond MaxInFlight are answered 503 with Retry-After (their body is read
// first, holding no slot: TestSlowBodiesHoldNoSlot), and that a slot freed by an answered
// request admits the next one.
func TestAdmission(t *testing.T) {
	store := &blockingStore{entered: make(chan struct{}, 8), release: make(chan struct{})}
	h := collect.NewServer(collect.Config{
		MaxInFlight: 2, AdmitWait: time.Millisecond, Prices: prices(), Now: func() time.Time { return now },
	}, slog.New(slog.NewTextHandler(io.Discard, nil)), store, nil, nil, nil)
	post := func(body io.Reader) *httptest.ResponseRecorder {
		r := httptest.NewRequest("POST", "/v1/events", body)
		r.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	held := make(chan int, 2)
	for i := 0; i < 2; i++ {
		go func() { held <- post(strings.NewReader(ev("held"))).Code }()
		<-store.entered // both requests are in flight, waiting for their commit
	}

	w := post(strings.NewReader(ev("over")))
	if w.Code != 503 || w.Header().Get("Retry-After") == "" || !strings.Contains(w.Body.String(), `"error"`) {
		t.Fatalf("request beyond the limit: %d %q %s; want 503 with Retry-After", w.Code, w.Header().Get("Retry-After"), w.Body)
	}

	close(store.release)
	for i := 0; i < 2; i++ {
		if code := <-held; code != 200 {
			t.Fatalf("held request answered %d", code)
		}
	}
	if w := post(strings.NewReader(ev("after"))); w.Code != 200 {
		t.Fatalf("after the slots freed: %d %s", w.Code, w.Body)
	}
}
