// Package pgstore is the only code that writes events: the schema, its migrations, partitions,
// and the group-committing insert path behind POST /v1/events.
package pgstore

import (
	"cmp"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/aispend/aispend/collect"
)

// Columns of events written by the collector, in COPY order.
var columns = []string{
	"event_id", "occurred_at", "service", "model", "provider",
	"input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens", "reasoning_tokens",
	"cost", "cost_source", "sent_cost", "sent_currency", "price_version", "fx_rate",
	"duration_ms", "success", "error", "cache_hit", "user_id", "org_id", "endpoint", "tags",
	"cache_write_1h_tokens",
}

// Options tune the group commit.
type Options struct {
	Committers    int           // concurrent transactions; default 2 (fewer, bigger groups beat 4 in `make bench`)
	MaxBatchRows  int           // rows per transaction; default 10,000
	QueueWait     time.Duration // how long a request may wait for a queue slot before ErrSaturated; default 2 s
	CommitTimeout time.Duration // default 30 s
	// OnCommit, when set, is called after every transaction with the number of requests and rows
	// it carried.
	OnCommit func(requests, rows int, took time.Duration, err error)
}

// Store group-commits events: concurrent requests share transactions, and each request is
// answered after the commit that holds its events.
type Store struct {
	pool *pgxpool.Pool
	opt  Options
	reqs chan *request
	wg   sync.WaitGroup
	once sync.Once

	engineMu    sync.Mutex
	engineKnown bool
	distributed bool // events is a Citus distributed table (Distributed)
}

type request struct {
	rows []collect.Row
	new  []bool // per row: first occurrence of its key within the group
	done chan result
	res  result
}

type result struct {
	accepted, duplicates int
	err                  error
}

// New starts the committers. Call Close after the last Insert has returned.
func New(pool *pgxpool.Pool, opt Options) *Store {
	if opt.Committers <= 0 {
		opt.Committers = 2
	}
	if opt.MaxBatchRows <= 0 {
		opt.MaxBatchRows = 10_000
	}
	if opt.QueueWait <= 0 {
		opt.QueueWait = 2 * time.Second
	}
	if opt.CommitTimeout <= 0 {
		opt.CommitTimeout = 30 * time.Second
	}
	s := &Store{pool: pool, opt: opt, reqs: make(chan *request, 4*opt.Committers)}
	for i := 0; i < opt.Committers; i++ {
		s.wg.Add(1)
		go s.commitLoop()
	}
	return s
}

// Close stops the committers once queued requests are committed.
func (s *Store) Close() {
	s.once.Do(func() { close(s.reqs) })
	s.wg.Wait()
}

// Insert stores the rows of one request atomically and durably. It returns how many rows were
// new and how many were already stored (or repeated within the request). Errors are
// collect.ErrSaturated, collect.ErrUnavailable or a wrapped database error.
func (s *Store) Insert(ctx context.Context, rows []collect.Row) (accepted, duplicates int, err error) {
	r := &request{rows: rows, done: make(chan result, 1)}
	timer := time.NewTimer(s.opt.QueueWait)
	defer timer.Stop()
	select {
	case s.reqs <- r:
	case <-timer.C:
		return 0, 0, collect.ErrSaturated
	case <-ctx.Done():
		return 0, 0, ctx.Err()
	}
	// Once queued, the request will be committed or failed: wait for the answer even if the
	// client has gone, so that the outcome is known (and logged) either way.
	res := <-r.done
	return res.accepted, res.duplicates, res.err
}

func (s *Store) commitLoop() {
	defer s.wg.Done()
	for first := range s.reqs {
		group := []*request{first}
		n := len(first.rows)
	gather:
		for n < s.opt.MaxBatchRows {
			select {
			case r, ok := <-s.reqs:
				if !ok {
					break gather
				}
				group = append(group, r)
				n += len(r.rows)
			default:
				break gather
			}
		}
		s.commitGroup(group, n)
	}
}

type key struct {
	id string
	at int64
}

// commitGroup writes a group in one transaction and answers each request. When the transaction
// fails for a reason other than the database being unreachable, each request is retried alone,
// so that one request can never fail another.
func (s *Store) commitGroup(group []*request, n int) {
	err := s.commit(group, n)
	if err != nil && len(group) > 1 && !unavailable(err) {
		for _, r := range group {
			s.commitGroup([]*request{r}, len(r.rows))
		}
		return
	}
	for _, r := range group {
		if err != nil {
			r.res = result{err: err}
		}
		r.done <- r.res
	}
}

func (s *Store) commit(group []*request, n int) error {
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), s.opt.CommitTimeout)
	defer cancel()

	// Duplicates inside the group (within or across requests) are settled here: the first
	// occurrence is written, the others are answered as duplicates.
	seen := make(map[key]struct{}, n)
	src := make([]*collect.Row, 0, n)
	for _, r := range group {
		r.new = make([]bool, len(r.rows))
		for i := range r.rows {
			k := key{r.rows[i].EventID, r.rows[i].OccurredAt.UnixMicro()}
			if _, dup := seen[k]; dup {
				continue
			}
			seen[k] = struct{}{}
			r.new[i] = true
			src = append(src, &r.rows[i])
		}
	}

	// Every group writes its rows in key order, so that two groups holding the same keys (a
	// client's retry racing its original request) wait for each other instead of deadlocking.
	slices.SortFunc(src, func(a, b *collect.Row) int {
		if c := strings.Compare(a.EventID, b.EventID); c != 0 {
			return c
		}
		return cmp.Compare(a.OccurredAt.UnixMicro(), b.OccurredAt.UnixMicro())
	})

	// A deadlock with another writer of events, or a serialization failure, says nothing about
	// the rows: write them again, a few times, before answering the requests. OnCommit sees
	// every attempt.
	var inserted map[key]bool
	var err error
	for attempt := 0; ; attempt++ {
		inserted, err = s.write(ctx, src)
		if err != nil && s.isMissingPartition(err) {
			if perr := s.ensurePartitionsFor(ctx, src); perr != nil {
				err = errors.Join(err, perr)
			} else {
				inserted, err = s.write(ctx, src)
			}
		}
		if s.opt.OnCommit != nil {
			s.opt.OnCommit(len(group), len(src), time.Since(start), err)
		}
		if attempt == writeRetries || !retryable(err) {
			break
		}
		select {
		case <-time.After(time.Duration((attempt+1)*(attempt+1)) * 10 * time.Millisecond):
		case <-ctx.Done():
		}
		start = time.Now()
	}
	if err != nil {
		if unavailable(err) {
			return fmt.Errorf("%w: %w", collect.ErrUnavailable, err)
		}
		return err
	}
	for _, r := range group {
		r.res = result{}
		for i, isNew := range r.new {
			k := key{r.rows[i].EventID, r.rows[i].OccurredAt.UnixMicro()}
			if isNew && (inserted == nil || inserted[k]) {
				r.res.accepted++
			} else {
				r.res.duplicates++
			}
		}
	}
	return nil
}

var (
	//go:embed sql/staging_create.sql
	stagingCreateSQL string
	//go:embed sql/staging_insert.sql
	stagingInsertSQL string
)

// write stores rows. The fast path copies them straight into events, which is as fast as
// PostgreSQL ingests; a key that already exists makes that COPY fail as a whole, and the rows
// then go through a temporary table and INSERT … ON CONFLICT DO NOTHING, which tells which rows
// were new. inserted is nil when every row was new.
func (s *Store) write(ctx context.Context, rows []*collect.Row) (inserted map[key]bool, err error) {
	distributed, err := s.isDistributed(ctx)
	if err != nil {
		return nil, err
	}
	if distributed {
		// No trigger marks the rows' hours: the COPY and the marks commit together.
		err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
			if err := copyInto(ctx, txCopier{tx}, "events", rows); err != nil {
				return err
			}
			return markInserted(ctx, tx, rows)
		})
	} else {
		// COPY is one statement, atomic on its own: no BEGIN/COMMIT round trips needed.
		err = copyInto(ctx, poolCopier{s.pool}, "events", rows)
	}
	if err == nil || !s.maybeDuplicate(err) {
		return nil, err
	}
	inserted = make(map[key]bool, len(rows))
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, stagingCreateSQL); err != nil {
			return fmt.Errorf("create staging table: %w", err)
		}
		if err := copyInto(ctx, txCopier{tx}, "incoming", rows); err != nil {
			return fmt.Errorf("copy to staging table: %w", err)
		}
		res, err := tx.Query(ctx, stagingInsertSQL)
		if err != nil {
			return fmt.Errorf("insert events: %w", err)
		}
		var id string
		var at time.Time
		_, err = pgx.ForEachRow(res, []any{&id, &at}, func() error {
			inserted[key{id, at.UnixMicro()}] = true
			return nil
		})
		if err != nil || !distributed {
			return err
		}
		var added []*collect.Row
		for _, r := range rows {
			if inserted[key{r.EventID, r.OccurredAt.UnixMicro()}] {
				added = append(added, r)
			}
		}
		return markInserted(ctx, tx, added)
	})
	return inserted, err
}

// isDistributed tells whether events is distributed (Distributed), asked once per store.
func (s *Store) isDistributed(ctx context.Context) (bool, error) {
	s.engineMu.Lock()
	defer s.engineMu.Unlock()
	if !s.engineKnown {
		d, err := Distributed(ctx, s.pool)
		if err != nil {
			return false, err
		}
		s.distributed, s.engineKnown = d, true
	}
	return s.distributed, nil
}

// maybeDuplicate reports whether a failed COPY into events may have failed for a key that
// exists already, so that the INSERT … ON CONFLICT fallback settles which rows are new. On Citus
// every refusal of a COPY comes back as SQLSTATE XX000 with the worker's message, whatever its
// cause: any refusal is tried through the fallback, which fails again if the rows themselves
// are refused.
func (s *Store) maybeDuplicate(err error) bool {
	if s.distributed {
		return refused(err)
	}
	return isUniqueViolation(err)
}

// isMissingPartition reports whether a write may have failed for want of a partition of its
// rows' months. On Citus, whose errors carry no telling SQLSTATE, that is any refusal: making
// sure of the partitions of the rows' months is cheap when they exist.
func (s *Store) isMissingPartition(err error) bool {
	if s.distributed {
		return refused(err)
	}
	return isMissingPartition(err)
}

// refused reports a statement the database refused: neither unreachable nor worth retrying.
func refused(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && !unavailable(err)
}

func (s *Store) ensurePartitionsFor(ctx context.Context, rows []*collect.Row) error {
	from, to := rows[0].OccurredAt, rows[0].OccurredAt
	for _, r := range rows {
		if r.OccurredAt.Before(from) {
			from = r.OccurredAt
		}
		if r.OccurredAt.After(to) {
			to = r.OccurredAt
		}
	}
	return EnsurePartitions(ctx, s.pool, from, to)
}

// writeRetries is how many times a group is written again after a deadlock or serialization
// failure.
const writeRetries = 4

// retryable reports a deadlock (40P01) or serialization failure (40001): the transaction was
// rolled back by no fault of its rows, and the same write may succeed when run again.
func retryable(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "40P01" || pe.Code == "40001")
}

func isUniqueViolation(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505"
}

func isMissingPartition(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23514" && strings.HasPrefix(pe.Message, "no partition of relation")
}

// unavailable reports whether err means the database could not be reached or the commit's
// outcome is unknown, as opposed to a statement the database refused.
func unavailable(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		// 08: connection exception; 53: insufficient resources; 57: operator intervention
		// (shutdown, cancel); 40: serialization / deadlock, worth retrying.
		switch pe.Code[:2] {
		case "08", "53", "57", "40":
			return true
		}
		return false
	}
	return true
}
