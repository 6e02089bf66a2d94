package bench

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// histogram is a Prometheus histogram read from /metrics: cumulative
// counts per upper bound.
type histogram struct {
	bounds []float64 // ascending, +Inf last
	counts []float64 // cumulative
}

// scrapeHistogram fetches url and returns the histogram called name.
func scrapeHistogram(ctx context.Context, url, name string) (histogram, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return histogram{}, fmt.Errorf("scrape %s: %w", url, err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return histogram{}, fmt.Errorf("scrape %s: %w", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return histogram{}, fmt.Errorf("scrape %s: HTTP %d", url, resp.StatusCode)
	}
	return parseHistogram(resp.Body, name)
}

// parseHistogram reads the buckets of an unlabelled histogram from the
// Prometheus text format.
func parseHistogram(r io.Reader, name string) (histogram, error) {
	type bucket struct{ le, n float64 }
	var bs []bucket
	prefix := name + `_bucket{le="`
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), prefix)
		if !ok {
			continue
		}
		leText, value, ok := strings.Cut(rest, `"} `)
		if !ok {
			return histogram{}, fmt.Errorf("metrics: bad bucket line %q", sc.Text())
		}
		le, err := strconv.ParseFloat(leText, 64)
		if err != nil {
			return histogram{}, fmt.Errorf("metrics: bucket bound %q: %w", leText, err)
		}
		n, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
		if err != nil {
			return histogram{}, fmt.Errorf("metrics: bucket count %q: %w", value, err)
		}
		bs = append(bs, bucket{le, n})
	}
	if err := sc.Err(); err != nil {
		return histogram{}, fmt.Errorf("metrics: %w", err)
	}
	if len(bs) == 0 {
		return histogram{}, fmt.Errorf("metrics: no histogram %s", name)
	}
	slices.SortFunc(bs, func(a, b bucket) int { return cmpFloat(a.le, b.le) })
	var h histogram
	for _, b := range bs {
		h.bounds, h.counts = append(h.bounds, b.le), append(h.counts, b.n)
	}
	return h, nil
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// sub returns h minus an earlier scrape of the same histogram: the
// observations made in between.
func (h histogram) sub(earlier histogram) histogram {
	d := histogram{bounds: h.bounds, counts: slices.Clone(h.counts)}
	if len(earlier.counts) == len(h.counts) {
		for i := range d.counts {
			d.counts[i] -= earlier.counts[i]
		}
	}
	return d
}

// total is the number of observations.
func (h histogram) total() float64 {
	if len(h.counts) == 0 {
		return 0
	}
	return h.counts[len(h.counts)-1]
}

// fractionAtMost is the exact share of observations at most bound, which
// must be one of the bucket bounds.
func (h histogram) fractionAtMost(bound float64) float64 {
	i := slices.Index(h.bounds, bound)
	if i < 0 || h.total() == 0 {
		return math.NaN()
	}
	return h.counts[i] / h.total()
}

// quantile estimates the q-quantile as Prometheus' histogram_quantile does:
// linear interpolation inside the bucket holding it. Past the last finite
// bound it returns that bound.
func (h histogram) quantile(q float64) float64 {
	n := h.total()
	if n == 0 {
		return 0
	}
	rank := q * n
	lower, below := 0.0, 0.0
	for i, le := range h.bounds {
		if h.counts[i] >= rank {
			if math.IsInf(le, 1) {
				return lower
			}
			in := h.counts[i] - below
			if in <= 0 {
				return le
			}
			return lower + (le-lower)*(rank-below)/in
		}
		lower, below = le, h.counts[i]
	}
	return lower
}
