package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// Targets are the figures pollhook aims for.
const (
	// TargetPollRatio: polls/s at least this share of River's raw rate.
	TargetPollRatio = 0.6
	// TargetLatencyP99Ms: end-to-end latency p99 at most this, in ms.
	TargetLatencyP99Ms = 100
	// TargetSessions: sessions in flight with lag p99 under 1 s.
	TargetSessions = 30_000
	// TargetRSSBytes: worker RSS at TargetSessions.
	TargetRSSBytes = 150 << 20
)

// WriteJSON writes r as one indented JSON object.
func WriteJSON(w io.Writer, r *Results) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r); err != nil {
		return fmt.Errorf("bench: encode results: %w", err)
	}
	return nil
}

// WriteTable writes r as readable tables, each figure beside its target.
func WriteTable(w io.Writer, r *Results) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	m := r.Machine
	fmt.Fprintf(tw, "machine\t%d CPUs, %.1f GiB, %s %s/%s\n", m.CPUs, float64(m.MemoryBytes)/(1<<30), m.GoVersion, m.OS, m.Arch)
	fmt.Fprintf(tw, "postgres\t%s\n", firstWords(m.Postgres, 2))
	fmt.Fprintf(tw, "run\t%.0fs\n\n", float64(r.Duration))

	fmt.Fprintln(tw, "measurement\tfigure\ttarget\tverdict")
	if v := r.River; v != nil {
		fmt.Fprintf(tw, "River raw rate (%d no-op jobs, %d workers)\t%.0f jobs/s\t\t\n", v.Jobs, v.Workers, v.JobsPerSecond)
	}
	if v := r.Poll; v != nil {
		target, verdict := "", ""
		if ratio := r.PollToRiver(); ratio > 0 {
			target = fmt.Sprintf(">= %.1fx River", TargetPollRatio)
			verdict = fmt.Sprintf("%.2fx %s", ratio, met(ratio >= TargetPollRatio))
		}
		fmt.Fprintf(tw, "pollhook poll rate (%d sessions x %d polls)\t%.0f polls/s\t%s\t%s\n", v.Sessions, v.PollsPerSession, v.PollsPerSecond, target, verdict)
	}
	if v := r.Latency; v != nil {
		fmt.Fprintf(tw, "e2e latency p50 / p95 (%d sessions)\t%s / %s\t\t\n", v.Sessions, v.P50, v.P95)
		fmt.Fprintf(tw, "e2e latency p99\t%s\t<= %dms\t%s\n", v.P99, TargetLatencyP99Ms, met(float64(v.P99) <= TargetLatencyP99Ms))
	}
	if v := r.Delivery; v != nil {
		fmt.Fprintf(tw, "delivery rate (%d webhooks, %d workers)\t%.0f deliveries/s\t\t\n", v.Deliveries, v.Workers, v.PerSecond)
	}
	if v := r.TwoWorkers; v != nil {
		fmt.Fprintf(tw, "two workers (%d sessions): poll runs per worker\t%v\t\t\n", v.Sessions, v.RunsByWorker)
		fmt.Fprintf(tw, "two workers: polls/s, webhooks, same-id copies, new-id dups, lost\t%.0f, %d, %d, %d, %d\t0 new-id, 0 lost\t%s\n",
			v.PollsPerSecond, v.Webhooks, v.SameIDDuplicates, v.NewIDDuplicates, v.Lost, met(v.NewIDDuplicates == 0 && v.Lost == 0 && len(v.RunsByWorker) == 2))
	}
	if v := r.Scale; v != nil {
		fmt.Fprintf(tw, "sessions held, lag p99 <= %.0fs\t%d\t>= %d\t%s\n", float64(v.LagTarget), v.MaxHeld, TargetSessions, met(v.MaxHeld >= TargetSessions))
		if s, ok := v.stepAtLeast(TargetSessions); ok {
			fmt.Fprintf(tw, "worker RSS at %d sessions\t%.0f MB\t<= %d MB\t%s\n", s.Sessions, float64(s.RSS)/(1<<20), TargetRSSBytes>>20, met(s.RSS <= TargetRSSBytes))
		}
	}
	if v := r.Scale; v != nil && len(v.Steps) > 0 {
		fmt.Fprintln(tw, "\nsessions\tregister rows/s\tall polled once\tpolls/s (expected)\tlag p50\tlag p99\tlag <= target\tRSS (peak)\tDB size\theld")
		for _, s := range v.Steps {
			fmt.Fprintf(tw, "%d\t%.0f\t%.1fs\t%.0f (%.0f)\t%.3fs\t%.3fs\t%.2f%%\t%.0f MB (%.0f MB)\t%.0f MB\t%v\n",
				s.Sessions, s.RegisterPerSecond, float64(s.FirstPollAll), s.PollsPerSecond, s.ExpectedPollsPerSecond,
				float64(s.LagP50), float64(s.LagP99), 100*s.LagUnderTarget, float64(s.RSS)/(1<<20), float64(s.PeakRSS)/(1<<20),
				float64(s.DBBytes)/(1<<20), s.Held)
		}
		if len(v.Skipped) > 0 {
			fmt.Fprintf(tw, "skipped\t%v\n", v.Skipped)
		}
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("bench: write table: %w", err)
	}
	return nil
}

// stepAtLeast is the smallest step with at least n sessions.
func (r *ScaleResult) stepAtLeast(n int) (ScaleStep, bool) {
	for _, s := range r.Steps {
		if s.Sessions >= n {
			return s, true
		}
	}
	return ScaleStep{}, false
}

func met(ok bool) string {
	if ok {
		return "met"
	}
	return "MISSED"
}

func firstWords(s string, n int) string {
	f := strings.Fields(s)
	return strings.Join(f[:min(n, len(f))], " ")
}
