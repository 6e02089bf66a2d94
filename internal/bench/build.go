package bench

import (
	"context"
	"fmt"
	"os"
	"sync"
)

// workerBuild builds ./cmd/worker once per run, into a temporary
// directory that also holds the worker logs.
type workerBuild struct {
	once sync.Once
	dir  string
	bin  string
	err  error
}

// get builds the worker the first time and returns its path and the
// directory.
func (b *workerBuild) get(ctx context.Context) (bin, dir string, err error) {
	b.once.Do(func() {
		if b.dir, b.err = os.MkdirTemp("", "pollhook-bench-"); b.err != nil {
			b.err = fmt.Errorf("temp dir: %w", b.err)
			return
		}
		b.bin, b.err = buildWorker(ctx, b.dir)
	})
	return b.bin, b.dir, b.err
}

// remove deletes the directory.
func (b *workerBuild) remove() {
	if b.dir != "" {
		_ = os.RemoveAll(b.dir)
	}
}
