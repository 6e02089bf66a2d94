package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/pollhook/pollhook/internal/upstream"
)

// Targets are the figures pollhook aims for (issue 11).
const (
	// TargetPollRatio: polls/s at pollhook's default setting at least this
	// share of River's no-op rate at the same setting (the old target).
	TargetPollRatio = 0.6
	// TargetFloorRatio: pollhook's best poll rate at least this share of
	// the floor's best.
	TargetFloorRatio = 0.8
	// TargetWALToFloor: WAL bytes per in-progress poll at most this
	// multiple of the floor's.
	TargetWALToFloor = 1.2
	// TargetRunsPerPoll: job runs per poll at default settings.
	TargetRunsPerPoll = 1.05
	// TargetDetectionP50Ms, TargetDetectionP99Ms: Marksign detection delay
	// at default settings and light load.
	TargetDetectionP50Ms = 1000
	TargetDetectionP99Ms = 2500
	// TargetLatencyP99Ms: terminal answer to verified webhook p99 at most
	// this, in ms.
	TargetLatencyP99Ms = 25
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
	if a := r.Anchors; a != nil && len(a.Pollhook) > 0 {
		best := a.Pollhook[a.BestPollhook]
		fmt.Fprintf(tw, "pollhook best poll rate (%s)\t%.0f polls/s\t\t\n", best.Setting, best.PollsPerSecond)
		fl := a.Floor[a.BestFloor]
		fmt.Fprintf(tw, "floor best: bare River poller, same simulator (%s)\t%.0f polls/s\t\t\n", fl.Setting, fl.PollsPerSecond)
		fmt.Fprintf(tw, "pollhook best / floor best\t%.2fx\t>= %.1fx\t%s\n", a.ToFloor, TargetFloorRatio, met(a.ToFloor >= TargetFloorRatio))
		if len(a.River) > 0 {
			rv := a.River[a.BestRiver]
			fmt.Fprintf(tw, "River best no-op rate (%s)\t%.0f jobs/s\t\t\n", rv.Setting, rv.JobsPerSecond)
			fmt.Fprintf(tw, "pollhook best / River best no-op\t%.2fx\t\t\n", a.ToRiver)
		}
	}
	if v := r.River; v != nil {
		fmt.Fprintf(tw, "River no-op rate, same settings as pollhook (%d jobs, %s)\t%.0f jobs/s\t\t\n", v.Jobs, v.Setting, v.JobsPerSecond)
	}
	if v := r.Poll; v != nil {
		target, verdict := "", ""
		if ratio := r.PollToRiver(); ratio > 0 {
			target = fmt.Sprintf(">= %.1fx River", TargetPollRatio)
			verdict = fmt.Sprintf("%.2fx %s", ratio, met(ratio >= TargetPollRatio))
		}
		fmt.Fprintf(tw, "pollhook poll rate, same settings (%d sessions x %d polls)\t%.0f polls/s\t%s\t%s\n", v.Sessions, v.PollsPerSession, v.PollsPerSecond, target, verdict)
		if a := r.Anchors; a != nil && a.SameSettingsFloor > 0 {
			fmt.Fprintf(tw, "pollhook / floor, same settings (%s)\t%.2fx\t\t\n", a.Default, a.SameSettingsFloor)
		}
	}
	if c := r.Cost; c != nil && c.Pollhook != nil && c.Floor != nil {
		w := c.WALToFloor()
		fmt.Fprintf(tw, "WAL bytes per in-progress poll, pollhook / floor\t%.0f / %.0f = %.2fx\t<= %.1fx\t%s\n",
			c.Pollhook.WALBytesPerPoll, c.Floor.WALBytesPerPoll, w, TargetWALToFloor, met(w > 0 && w <= TargetWALToFloor))
	}
	if v := r.Scale; v != nil && len(v.Steps) > 0 {
		s := v.Steps[0]
		fmt.Fprintf(tw, "job runs per poll, default settings (%d sessions)\t%.2f\t<= %.2f\t%s\n", s.Sessions, s.RunsPerPoll, TargetRunsPerPoll, met(s.RunsPerPoll <= TargetRunsPerPoll))
	}
	if d := r.Detection; d != nil {
		for _, f := range d.Flows {
			if f.Flow == upstream.FlowFortIDVerification {
				fmt.Fprintf(tw, "detection delay p50 / p99, %s (%d sessions)\t%s / %s\t\t\n", f.Flow, f.Sessions, f.P50, f.P99)
				continue
			}
			fmt.Fprintf(tw, "detection delay p50 / p99, %s (%d sessions)\t%s / %s\t<= %dms / %dms\t%s\n", f.Flow, f.Sessions, f.P50, f.P99,
				TargetDetectionP50Ms, TargetDetectionP99Ms, met(float64(f.P50) <= TargetDetectionP50Ms && float64(f.P99) <= TargetDetectionP99Ms))
		}
	}
	if v := r.Latency; v != nil {
		fmt.Fprintf(tw, "terminal answer to verified webhook p50 / p95 (%d sessions)\t%s / %s\t\t\n", v.Sessions, v.P50, v.P95)
		fmt.Fprintf(tw, "terminal answer to verified webhook p99\t%s\t<= %dms\t%s\n", v.P99, TargetLatencyP99Ms, met(float64(v.P99) <= TargetLatencyP99Ms))
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
		fmt.Fprintf(tw, "sessions held, lag p99 <= %.3gs\t%d\t>= %d\t%s\n", float64(v.LagTarget), v.MaxHeld, TargetSessions, met(v.MaxHeld >= TargetSessions))
		if s, ok := v.stepAtLeast(TargetSessions); ok {
			fmt.Fprintf(tw, "worker RSS at %d sessions\t%.0f MB\t<= %d MB\t%s\n", s.Sessions, float64(s.RSS)/(1<<20), TargetRSSBytes>>20, met(s.RSS <= TargetRSSBytes))
		}
	}
	if v := r.Scale; v != nil && len(v.Steps) > 0 {
		fmt.Fprintln(tw, "\nsessions\tregister rows/s\tall polled once\tpolls/s (expected)\tlag p50\tlag p99\tlag <= target\tRSS (peak)\tDB size\truns/poll\tworker CPU µs/poll\theld")
		for _, s := range v.Steps {
			fmt.Fprintf(tw, "%d\t%.0f\t%.1fs\t%.0f (%.0f)\t%.3fs\t%.3fs\t%.2f%%\t%.0f MB (%.0f MB)\t%.0f MB\t%.2f\t%.0f\t%v\n",
				s.Sessions, s.RegisterPerSecond, float64(s.FirstPollAll), s.PollsPerSecond, s.ExpectedPollsPerSecond,
				float64(s.LagP50), float64(s.LagP99), 100*s.LagUnderTarget, float64(s.RSS)/(1<<20), float64(s.PeakRSS)/(1<<20),
				float64(s.DBBytes)/(1<<20), s.RunsPerPoll, s.WorkerCPUMicros, s.Held)
		}
		if len(v.Skipped) > 0 {
			fmt.Fprintf(tw, "skipped\t%v\n", v.Skipped)
		}
	}
	if a := r.Anchors; a != nil {
		fmt.Fprintln(tw, "\nsweep (middle 80 % of each run)\tsetting\trate")
		for i, v := range a.River {
			fmt.Fprintf(tw, "River no-op%s\t%s\t%.0f jobs/s\n", best(i == a.BestRiver), v.Setting, v.JobsPerSecond)
		}
		for i, v := range a.Floor {
			fmt.Fprintf(tw, "floor%s\t%s\t%.0f polls/s\n", best(i == a.BestFloor), v.Setting, v.PollsPerSecond)
		}
		for i, v := range a.Pollhook {
			fmt.Fprintf(tw, "pollhook%s\t%s\t%.0f polls/s\n", best(i == a.BestPollhook), v.Setting, v.PollsPerSecond)
		}
	}
	if c := r.Cost; c != nil {
		fmt.Fprintln(tw, "\nper in-progress poll\tpolls/s\tprocess CPU µs\tbench CPU µs\tPG backends CPU µs\tall postgres CPU µs\tqueries\tround trips\tbytes to PG\tWAL bytes\tjob runs")
		for _, v := range []*PollCost{c.Pollhook, c.Floor} {
			if v == nil {
				continue
			}
			fmt.Fprintf(tw, "%s (%s, %.0fs window)\t%.0f\t%.0f\t%.0f\t%.0f\t%.0f\t%.2f\t%.2f\t%.0f\t%.0f\t%.2f\n", v.System, v.Setting, float64(v.Window),
				v.PollsPerSecond, v.ProcessCPUMicros, v.BenchCPUMicros, v.BackendCPUMicros, v.AllPostgresCPUMicros, v.QueriesPerPoll, v.RoundTripsPerPoll,
				v.BytesToPostgresPerPoll, v.WALBytesPerPoll, v.RunsPerPoll)
		}
		fmt.Fprintln(tw, "(process: the worker process for pollhook, the bench process (floor + simulator) for the floor; PG backends: those serving the poller's proxied connections; all postgres and WAL: cluster-wide)")
	}
	if sc := r.Scheduler; sc != nil {
		fmt.Fprintf(tw, "\nRiver JobSchedule (%d due, %d completed retained)\tmoved\tmedian\tmax\n", sc.Due, sc.Completed)
		for _, v := range sc.Variants {
			fmt.Fprintf(tw, "%s\t%d\t%s\t%s\n", v.Name, v.Scheduled, v.Median, v.Max)
		}
	}
	if d := r.Detection; d != nil {
		fmt.Fprintf(tw, "\ndetection delay (terminal instant %.0f..%.0fs after registration)\tbackoff\tsessions\tp50\tp99\tmax\tpolls/session\n", float64(d.After), float64(d.After+d.Spread))
		for _, f := range d.Flows {
			fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\t%.1f\n", f.Flow, f.Backoff, f.Sessions, f.P50, f.P99, f.Max, f.PollsPerSession)
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

func best(ok bool) string {
	if ok {
		return " (best)"
	}
	return ""
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
