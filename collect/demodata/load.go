package demodata

import (
	"context"
	"fmt"
	"sync"

	"github.com/aispend/aispend/collect"
)

// Inserter stores rows idempotently: a row whose (event_id, occurred_at) is already stored is
// counted as a duplicate, never stored twice. *pgstore.Store is one.
type Inserter interface {
	Insert(ctx context.Context, rows []collect.Row) (accepted, duplicates int, err error)
}

// DefaultChunk is the number of rows per insert: large enough for COPY to run at full speed,
// small enough to keep memory flat at any size.
const DefaultChunk = 10_000

// Loaded is the outcome of a load.
type Loaded struct {
	Accepted, Duplicates int
	Totals               *Totals // what the generated rows add up to
}

// Load generates every row and stores it in chunks. Generation runs concurrently with the
// inserts, so both cores are busy. progress, when set, is called after each chunk with the
// number of rows stored or skipped so far.
func Load(ctx context.Context, g *Generator, dst Inserter, chunk int, progress func(done int)) (Loaded, error) {
	if chunk <= 0 {
		chunk = DefaultChunk
	}
	res := Loaded{Totals: NewTotals(g.loc)}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	// The generator fills the next chunk while the previous ones are being stored.
	chunks := make(chan []collect.Row, 1)
	go func() {
		defer close(chunks)
		buf := make([]collect.Row, 0, chunk)
		for r := range g.Rows() {
			res.Totals.Add(r)
			buf = append(buf, r)
			if len(buf) == chunk {
				select {
				case chunks <- buf:
				case <-ctx.Done():
					return
				}
				buf = make([]collect.Row, 0, chunk)
			}
		}
		if len(buf) > 0 {
			select {
			case chunks <- buf:
			case <-ctx.Done():
			}
		}
	}()

	// Two inserts at a time: while one transaction commits, the next one is being copied.
	var (
		mu       sync.Mutex
		done     int
		firstErr error
		wg       sync.WaitGroup
	)
	for w := 0; w < 2; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for rows := range chunks {
				if ctx.Err() != nil {
					continue // drain: the generator stops at the cancellation
				}
				acc, dup, err := dst.Insert(ctx, rows)
				mu.Lock()
				if err != nil {
					if firstErr == nil {
						firstErr = err
					}
					cancel()
				}
				res.Accepted += acc
				res.Duplicates += dup
				done += len(rows)
				if err == nil && progress != nil {
					progress(done)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return res, fmt.Errorf("store demo events: %w", firstErr)
	}
	if err := ctx.Err(); err != nil {
		return res, fmt.Errorf("load demo events: %w", err)
	}
	return res, nil
}
