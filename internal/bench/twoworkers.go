package bench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/pollhook/pollhook/internal/harness"
	"github.com/pollhook/pollhook/internal/simulator"
	"github.com/pollhook/pollhook/internal/whsig"
)

// TwoWorkersResult is what two worker processes on one database and schema
// did with one batch of sessions.
type TwoWorkersResult struct {
	// Sessions is the number of sessions registered.
	Sessions int `json:"sessions"`
	// Elapsed runs from registration to the last webhook.
	Elapsed Seconds `json:"elapsed_s"`
	// PollsPerSecond is the provider polls of both workers over Elapsed.
	PollsPerSecond float64 `json:"polls_per_second"`
	// RunsByWorker counts the poll job runs each worker (River client)
	// made: both must share the load.
	RunsByWorker []int64 `json:"runs_by_worker"`
	// Webhooks counts every webhook received, copies included.
	Webhooks int `json:"webhooks"`
	// SameIDDuplicates counts copies of a session's webhook beyond the
	// first, all with the first's webhook-id (at-least-once retries).
	SameIDDuplicates int `json:"same_id_duplicates"`
	// NewIDDuplicates counts sessions whose webhook came with two different
	// webhook-ids: must be 0.
	NewIDDuplicates int `json:"new_id_duplicates"`
	// Lost counts sessions whose webhook never arrived: must be 0.
	Lost int `json:"lost"`
}

// MeasureTwoWorkers builds ./cmd/worker, runs two of it on one fresh schema,
// registers cfg.TwoWorkersSessions sessions by one INSERT and waits for every
// webhook, recording every copy the receiver gets (signatures verified, no
// deduplication) to count duplicates and the webhook-ids they carried.
func MeasureTwoWorkers(ctx context.Context, cfg Config, p *progress) (_ *TwoWorkersResult, err error) {
	n := cfg.TwoWorkersSessions
	rec, err := startRecorder()
	if err != nil {
		return nil, err
	}
	rig, err := startProcRig(ctx, cfg.DatabaseURL, rec.sub)
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, rig.close()) }()
	env, prov := rig.env, rig.prov

	dir, err := os.MkdirTemp("", "pollhook-bench-")
	if err != nil {
		return nil, fmt.Errorf("temp dir: %w", err)
	}
	defer os.RemoveAll(dir)
	p.printf("two workers: building ./cmd/worker")
	bin, err := buildWorker(ctx, dir)
	if err != nil {
		return nil, err
	}
	extra := map[string]string{"POLLHOOK_LOG_LEVEL": "warn", "POLLHOOK_BACKOFF_SMARTID_IDENTIFICATION": "5ms,1,5ms,0"}
	for i := range 2 {
		proc, perr := startBenchWorker(ctx, bin, cfg.DatabaseURL, env.schema, prov.srv.url, filepath.Join(dir, fmt.Sprintf("worker-%d.log", i)), extra)
		if perr != nil {
			return nil, perr
		}
		// Joined into the named result: a worker that would not stop is
		// reported, not lost in a loop-scoped variable.
		defer func() { err = errors.Join(err, proc.stop()) }()
	}

	var rows sessionRows
	for range n {
		rows.add("marksign", "smartid_identification", simulator.MarksignToken(simulator.OutcomeSucceeded, cfg.PollsInProgress)+"-"+randomSuffix())
	}
	start := time.Now()
	if _, err := rows.insert(ctx, env.pool); err != nil {
		return nil, err
	}
	deadline := time.Now().Add(cfg.Timeout)
	for rec.sessions() < n {
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("two workers: %d of %d webhooks within %s", rec.sessions(), n, cfg.Timeout)
		}
		if err := sleep(ctx, 50*time.Millisecond); err != nil {
			return nil, err
		}
	}
	elapsed := time.Since(start)
	// Room for a late duplicate to show up before counting.
	if err := sleep(ctx, time.Second); err != nil {
		return nil, err
	}

	res := &TwoWorkersResult{Sessions: n, Elapsed: Seconds(elapsed.Seconds()), PollsPerSecond: float64(rig.polls.Load()) / elapsed.Seconds()}
	r, err := env.pool.Query(ctx, `SELECT count(*) FROM river_job, unnest(attempted_by) AS c
		WHERE kind = 'pollhook.poll' GROUP BY c ORDER BY c`)
	if err != nil {
		return nil, fmt.Errorf("two workers: runs by client: %w", err)
	}
	for r.Next() {
		var c int64
		if err := r.Scan(&c); err != nil {
			r.Close()
			return nil, fmt.Errorf("two workers: runs by client: %w", err)
		}
		res.RunsByWorker = append(res.RunsByWorker, c)
	}
	r.Close()
	if err := r.Err(); err != nil {
		return nil, fmt.Errorf("two workers: runs by client: %w", err)
	}
	res.Webhooks, res.SameIDDuplicates, res.NewIDDuplicates = rec.counts()
	res.Lost = n - rec.sessions()
	return res, nil
}

// recorder is a receiver that verifies every webhook and keeps every copy,
// duplicates included, by session: the harness's recording receiver on a
// loopback port, registered as subscriber "bench".
type recorder struct {
	sub *subscriber
	rc  *harness.Receiver
}

func startRecorder() (*recorder, error) {
	secret := whsig.NewSecret()
	rc, err := harness.NewReceiver(secret)
	if err != nil {
		return nil, err
	}
	srv, err := serve(rc)
	if err != nil {
		return nil, fmt.Errorf("receiver: %w", err)
	}
	return &recorder{sub: &subscriber{srv: srv, secret: secret}, rc: rc}, nil
}

func (r *recorder) sessions() int { return r.rc.Sessions() }

// counts returns every copy received, the copies beyond the first that
// carried the first's webhook-id, and the sessions that got two ids.
func (r *recorder) counts() (copies, sameID, newID int) {
	ids := map[string][]string{} // session id -> webhook-id of each copy
	for _, d := range r.rc.Deliveries() {
		ids[d.Event.Data.SessionID] = append(ids[d.Event.Data.SessionID], d.WebhookID)
	}
	for _, ids := range ids {
		copies += len(ids)
		distinct := map[string]bool{}
		for _, id := range ids {
			distinct[id] = true
		}
		sameID += len(ids) - len(distinct)
		if len(distinct) > 1 {
			newID++
		}
	}
	return copies, sameID, newID
}

// randomSuffix makes external ids unique across runs of the bench.
func randomSuffix() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
