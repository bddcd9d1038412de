package report

import (
	"context"
	"sync"
	"time"
)

// Memo reuses computed values for a while: the one cache of the read side (GET /v1/budgets'
// BudgetBoard and report/api's reports), so that applications and dashboards polling the
// same answer share one computation instead of each scanning the events. The zero value is
// ready.
type Memo[K comparable, V any] struct {
	mu sync.Mutex
	m  map[K]*memoEntry[V]
}

type memoEntry[V any] struct {
	done chan struct{} // closed when v or err is set
	v    V
	err  error
	at   time.Time
}

// MemoMax bounds the values a Memo keeps; past it, the oldest goes.
const MemoMax = 256

// Get is the value of key computed at most once per ttl, and the instant it was computed as of
// (the now of the call that computed it). Concurrent calls for a key share one computation; a
// failure is returned to the calls waiting for it and never reused. compute runs on a context
// without ctx's cancellation, so that a caller that goes away does not fail the others waiting
// for the same value: it bounds its own work.
func (m *Memo[K, V]) Get(ctx context.Context, key K, now time.Time, ttl time.Duration, compute func(context.Context) (V, error)) (V, time.Time, error) {
	m.mu.Lock()
	if m.m == nil {
		m.m = map[K]*memoEntry[V]{}
	}
	e, ok := m.m[key]
	if ok {
		select {
		case <-e.done:
			ok = e.err == nil && !expired(e.at, now, ttl)
		default: // being computed: wait for it
		}
	}
	if !ok {
		e = &memoEntry[V]{done: make(chan struct{}), at: now}
		m.evict(now, ttl)
		m.m[key] = e
		go m.compute(context.WithoutCancel(ctx), e, compute)
	}
	m.mu.Unlock()
	select {
	case <-e.done:
		return e.v, e.at, e.err
	case <-ctx.Done():
		var zero V
		return zero, time.Time{}, ctx.Err()
	}
}

func (m *Memo[K, V]) compute(ctx context.Context, e *memoEntry[V], compute func(context.Context) (V, error)) {
	v, err := compute(ctx)
	m.mu.Lock()
	e.v, e.err = v, err
	m.mu.Unlock()
	close(e.done)
}

// expired reports whether a value computed at is too old at now (or from the future: the clock
// went back).
func expired(at, now time.Time, ttl time.Duration) bool {
	return now.Sub(at) >= ttl || now.Before(at)
}

// evict drops the expired and failed values, and the oldest when too many remain; m.mu is held.
func (m *Memo[K, V]) evict(now time.Time, ttl time.Duration) {
	var oldest K
	var oldestAt time.Time
	for k, e := range m.m {
		select {
		case <-e.done:
		default:
			continue
		}
		if e.err != nil || expired(e.at, now, ttl) {
			delete(m.m, k)
			continue
		}
		if oldestAt.IsZero() || e.at.Before(oldestAt) {
			oldest, oldestAt = k, e.at
		}
	}
	if len(m.m) >= MemoMax && !oldestAt.IsZero() {
		delete(m.m, oldest)
	}
}
