package logging

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"github.com/pollhook/pollhook/internal/cmdtest"
	"github.com/pollhook/pollhook/internal/testdb"
)

// lines decodes JSON log lines.
func lines(t *testing.T, out string) []map[string]any {
	t.Helper()
	var got []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if l == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("not JSON: %q: %v", l, err)
		}
		got = append(got, m)
	}
	return got
}

func TestJSONDurationsInMilliseconds(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	logger := New(&buf, slog.LevelInfo, FormatJSON)
	logger.Info("polled", "duration", 1234567*time.Nanosecond, slog.Group("http", slog.Duration("wait", 2*time.Second)), "n", 3)
	got := lines(t, buf.String())
	if len(got) != 1 {
		t.Fatalf("got %d lines: %s", len(got), buf.String())
	}
	if got[0]["duration_ms"] != 1.235 || got[0]["n"] != 3.0 || got[0]["duration"] != nil {
		t.Errorf("line = %v, want duration_ms 1.235", got[0])
	}
	if g, _ := got[0]["http"].(map[string]any); g["wait_ms"] != 2000.0 {
		t.Errorf("group = %v, want wait_ms 2000", got[0]["http"])
	}
}

func TestTextDurationsRounded(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	New(&buf, slog.LevelInfo, FormatText).Info("polled", "duration", 1234567891*time.Nanosecond)
	if !strings.Contains(buf.String(), "duration=1.234568s") {
		t.Errorf("text line = %q, want duration=1.234568s", buf.String())
	}
}

func TestDurationMillis(t *testing.T) {
	t.Parallel()
	for d, want := range map[time.Duration]float64{
		0: 0, time.Nanosecond: 0, 500 * time.Nanosecond: 0.001, time.Millisecond: 1,
		90 * time.Second: 90000, -3 * time.Microsecond: -0.003,
	} {
		if got := durationMillis(d); got != want {
			t.Errorf("durationMillis(%v) = %v, want %v", d, got, want)
		}
	}
}

func TestRiverRoutineMessagesAtDebug(t *testing.T) {
	t.Parallel()
	for _, level := range []slog.Level{slog.LevelInfo, slog.LevelDebug} {
		var buf bytes.Buffer
		logger := New(&buf, level, FormatJSON).With("component", "river")
		logger.Info("producer: Producer job counts", "num_jobs_running", 1)
		logger.Info("JobScheduler: Ran successfully", "num_jobs_scheduled", 4)
		logger.Info("JobRescuer: Ran successfully", "num_jobs_retry_scheduled", 1)
		logger.Warn("producer: Producer job counts")
		var msgs []string
		for _, l := range lines(t, buf.String()) {
			msgs = append(msgs, l["level"].(string)+" "+l["msg"].(string))
		}
		want := []string{"INFO JobRescuer: Ran successfully", "WARN producer: Producer job counts"}
		if level == slog.LevelDebug {
			want = []string{"DEBUG producer: Producer job counts", "DEBUG JobScheduler: Ran successfully",
				"INFO JobRescuer: Ran successfully", "WARN producer: Producer job counts"}
		}
		if strings.Join(msgs, "|") != strings.Join(want, "|") {
			t.Errorf("level %v: logged %q, want %q", level, msgs, want)
		}
	}
}

type noopArgs struct{}

func (noopArgs) Kind() string { return "logging_test_noop" }

type noopWorker struct {
	river.WorkerDefaults[noopArgs]
}

func (noopWorker) Work(context.Context, *river.Job[noopArgs]) error { return nil }

// TestRealRiverProducerCountsQuiet runs a real River client with the INFO
// logger: its producer's job counts line (every 5 s once a job ran) must not
// appear, and must appear at DEBUG, so the message text still matches
// River's.
func TestRealRiverProducerCountsQuiet(t *testing.T) {
	t.Parallel()
	run := func(t *testing.T, level slog.Level) string {
		tdb := testdb.New(t)
		var buf cmdtest.Buffer
		workers := river.NewWorkers()
		river.AddWorker(workers, noopWorker{})
		client, err := river.NewClient(riverpgxv5.New(tdb.Pool), &river.Config{
			Schema: tdb.Schema, Logger: New(&buf, level, FormatJSON).With("component", "river"),
			Queues: map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: 1}}, Workers: workers,
		})
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		if err := client.Start(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := client.Insert(ctx, noopArgs{}, nil); err != nil {
			t.Fatal(err)
		}
		time.Sleep(5500 * time.Millisecond)
		sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		if err := client.Stop(sctx); err != nil {
			t.Fatal(err)
		}
		return buf.String()
	}
	t.Run("info", func(t *testing.T) {
		t.Parallel()
		if out := run(t, slog.LevelInfo); strings.Contains(out, "Producer job counts") || !strings.Contains(out, "River client started") {
			t.Errorf("INFO logs show the producer's counts or lack River's start:\n%s", out)
		}
	})
	t.Run("debug", func(t *testing.T) {
		t.Parallel()
		if out := run(t, slog.LevelDebug); !strings.Contains(out, `"level":"DEBUG","msg":"producer: Producer job counts"`) {
			t.Errorf("DEBUG logs lack the producer's counts at DEBUG:\n%s", out)
		}
	})
}
