package jobs

import (
	"context"
	"time"
)

// everyTick calls fn every interval (the first time one interval from now)
// until ctx ends: the loop of the worker's background goroutines.
func everyTick(ctx context.Context, interval time.Duration, fn func()) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		fn()
	}
}

// inBatches calls batch, one transaction of at most size rows, until it
// returns fewer than size rows or an error, and returns the rows of all
// calls.
func inBatches(size int, batch func() (int, error)) (int, error) {
	total := 0
	for {
		n, err := batch()
		total += n
		if err != nil || n < size {
			return total, err
		}
	}
}
