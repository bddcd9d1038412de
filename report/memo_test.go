package report

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Ensures concurrent calls for one key share one computation, and that a caller that goes away
// gets its context's error without failing the others waiting for the same value.
func TestMemoSharesOneComputation(t *testing.T) {
	var m Memo[string, int]
	now := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
	release := make(chan struct{})
	started := make(chan struct{})
	var calls atomic.Int32
	compute := func(ctx context.Context) (int, error) {
		if calls.Add(1) == 1 {
			close(started)
		}
		<-release
		return 42, ctx.Err()
	}
	leaving, leave := context.WithCancel(context.Background())
	gone := make(chan error, 1)
	go func() {
		_, _, err := m.Get(leaving, "k", now, time.Minute, compute)
		gone <- err
	}()
	<-started
	var wg sync.WaitGroup
	got := make([]int, 3)
	for i := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			v, _, err := m.Get(context.Background(), "k", now, time.Minute, compute)
			if err != nil {
				t.Errorf("waiting call: %v", err)
			}
			got[i] = v
		}()
	}
	leave()
	if err := <-gone; !errors.Is(err, context.Canceled) {
		t.Errorf("caller that left: %v; want context.Canceled", err)
	}
	close(release)
	wg.Wait()
	if n := calls.Load(); n != 1 || got[0] != 42 || got[1] != 42 || got[2] != 42 {
		t.Errorf("%d computations, values %v; want 1, all 42", n, got)
	}
}

// Ensures a value is reused within its lifetime only, a failure is never reused, and past
// MemoMax values the oldest goes.
func TestMemoLifetimeAndBound(t *testing.T) {
	var m Memo[int, int]
	now := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
	calls := 0
	get := func(k int, fail bool) (int, time.Time, error) {
		return m.Get(context.Background(), k, now, time.Minute, func(context.Context) (int, error) {
			calls++
			if fail {
				return 0, errors.New("down")
			}
			return calls, nil
		})
	}
	if v, at, _ := get(0, false); v != 1 || !at.Equal(now) {
		t.Fatalf("first: %d as of %v", v, at)
	}
	computedAt := now
	now = now.Add(59 * time.Second)
	if v, at, _ := get(0, false); v != 1 || !at.Equal(computedAt) {
		t.Errorf("within the lifetime: %d as of %v; want 1 as of %v", v, at, computedAt)
	}
	now = now.Add(time.Second)
	if v, _, _ := get(0, false); v != 2 {
		t.Errorf("after the lifetime: %d; want a new value 2", v)
	}
	now = now.Add(time.Millisecond)
	if _, _, err := get(1, true); err == nil {
		t.Fatal("failure not returned")
	}
	if v, _, err := get(1, false); err != nil || v != 4 {
		t.Errorf("after a failure: %d, %v; want a new value 4", v, err)
	}
	for k := 2; k < MemoMax+1; k++ {
		now = now.Add(time.Millisecond)
		get(k, false)
	}
	m.mu.Lock()
	_, first := m.m[0]
	n := len(m.m)
	m.mu.Unlock()
	if first || n != MemoMax {
		t.Errorf("%d values kept, the oldest kept: %v; want %d, the oldest gone", n, first, MemoMax)
	}
}
