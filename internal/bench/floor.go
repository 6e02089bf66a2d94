package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"github.com/pollhook/pollhook/internal/jobargs"
	"github.com/pollhook/pollhook/internal/simulator"
)

// The floor is the cheapest poller River allows against the same
// simulator: a bare River worker whose job is one Marksign status call,
// a snooze while the answer is "waiting" and completion otherwise, and
// nothing else (no session row, no metadata, no outcome written, no
// webhook). pollhook's poll rate is judged against it.

// floorArgs are the floor job's arguments: the Marksign token to poll.
type floorArgs struct {
	// Token is the session token.
	Token string `json:"token"`
}

// Kind implements river.JobArgs.
func (floorArgs) Kind() string { return "bench.floor_poll" }

// floorWorker polls the simulator once per run.
type floorWorker struct {
	river.WorkerDefaults[floorArgs]
	client *http.Client
	base   string
	body   []byte
	snooze time.Duration
	runs   *atomic.Int64
}

// Work makes one status call and snoozes while the session is in progress.
func (w *floorWorker) Work(ctx context.Context, job *river.Job[floorArgs]) error {
	w.runs.Add(1)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.base+"/smartid/status/"+job.Args.Token+".json", bytes.NewReader(w.body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := w.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var ans struct {
		Status string `json:"status"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&ans); err != nil {
		return fmt.Errorf("floor poll: %w", err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	if ans.Status == "waiting" {
		return river.JobSnooze(w.snooze)
	}
	return nil
}

// floorRig is a River client running floor jobs against a simulator.
type floorRig struct {
	env    *schemaEnv
	prov   *providers
	client *river.Client[pgx.Tx]
	runs   atomic.Int64
}

// startFloor starts the simulator (onPoll counts its polls) and a River
// client at cfg's setting whose pool goes to dbURL (the proxy's URL, or
// cfg.DatabaseURL). It does not start the client.
func startFloor(ctx context.Context, cfg Config, dbURL string, onPoll func()) (_ *floorRig, err error) {
	r := &floorRig{}
	defer func() {
		if err != nil {
			err = errors.Join(err, r.close())
		}
	}()
	if r.env, err = newSchemaVia(ctx, cfg.DatabaseURL, dbURL, riverMaxConns, true); err != nil {
		return r, err
	}
	if r.prov, err = startProviders(onPoll); err != nil {
		return r, err
	}
	body, _ := json.Marshal(map[string]string{"access_token": simMarksignToken})
	workers := river.NewWorkers()
	river.AddWorker(workers, &floorWorker{
		client: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: cfg.PollWorkers, MaxIdleConns: cfg.PollWorkers}, Timeout: 10 * time.Second},
		base:   r.prov.srv.url, body: body, snooze: nearZeroSnooze, runs: &r.runs,
	})
	set := cfg.riverSetting()
	r.client, err = river.NewClient(riverpgxv5.New(r.env.pool), &river.Config{
		Schema:            r.env.schema,
		Logger:            discardLogger(),
		Queues:            map[string]river.QueueConfig{jobargs.QueuePoll: {MaxWorkers: set.Workers}},
		Workers:           workers,
		FetchPollInterval: set.FetchPollInterval.duration(),
		FetchCooldown:     set.FetchCooldown.duration(),
	})
	if err != nil {
		return r, fmt.Errorf("floor river client: %w", err)
	}
	return r, nil
}

// insert enqueues n floor jobs, each polling a session of k in-progress
// polls then success.
func (r *floorRig) insert(ctx context.Context, n, k int) error {
	for lo := 0; lo < n; lo += insertChunk {
		params := make([]river.InsertManyParams, 0, insertChunk)
		for range min(insertChunk, n-lo) {
			params = append(params, river.InsertManyParams{Args: floorArgs{Token: simulator.MarksignToken(simulator.OutcomeSucceeded, k)}, InsertOpts: &river.InsertOpts{Queue: jobargs.QueuePoll}})
		}
		if _, err := r.client.InsertMany(ctx, params); err != nil {
			return fmt.Errorf("insert floor jobs: %w", err)
		}
	}
	return nil
}

func (r *floorRig) close() error {
	var errs []error
	if r.client != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		if err := r.client.Stop(ctx); err != nil && !strings.Contains(err.Error(), "not started") {
			errs = append(errs, fmt.Errorf("stop floor client: %w", err))
		}
		cancel()
	}
	if r.prov != nil {
		r.prov.srv.close()
	}
	if r.env != nil {
		errs = append(errs, r.env.drop())
	}
	return errors.Join(errs...)
}

// nearZeroSnooze is the floor's snooze: pollhook's near-zero backoff
// (nearZeroBackoff) snoozes 1 ms too.
const nearZeroSnooze = time.Millisecond

// MeasureFloor runs cfg.PollSessions floor jobs of cfg.PollsInProgress+1
// polls each at cfg's setting and counts the polls at the simulator, as
// MeasurePoll does for pollhook.
func MeasureFloor(ctx context.Context, cfg Config) (_ *PollResult, err error) {
	k := cfg.PollsInProgress
	total := cfg.PollSessions * (k + 1)
	m := newMeter(total)
	r, err := startFloor(ctx, cfg, cfg.DatabaseURL, m.mark)
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, r.close()) }()
	if err := r.insert(ctx, cfg.PollSessions, k); err != nil {
		return nil, err
	}
	m.begin()
	if err := r.client.Start(ctx); err != nil {
		return nil, fmt.Errorf("start floor client: %w", err)
	}
	if err := m.wait(ctx, cfg.Timeout); err != nil {
		return nil, fmt.Errorf("floor polls: %w", err)
	}
	mid, whole, elapsed := m.rates()
	return &PollResult{Sessions: cfg.PollSessions, PollsPerSession: k + 1, Polls: m.count(), PollsPerSecond: mid,
		WholeRunPerSecond: whole, Elapsed: Seconds(elapsed.Seconds()), Setting: cfg.riverSetting()}, nil
}
