package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/pollhook/pollhook/event"
	"github.com/pollhook/pollhook/internal/jobargs"
	"github.com/pollhook/pollhook/internal/jobs"
	"github.com/pollhook/pollhook/internal/webhook"
)

// DeliveryResult is the webhook delivery rate to a local receiver.
type DeliveryResult struct {
	// Deliveries is D.
	Deliveries int `json:"deliveries"`
	// Workers is the deliver queue's MaxWorkers.
	Workers int `json:"workers"`
	// PerSecond is the rate over the middle 80 % of the deliveries.
	PerSecond float64 `json:"deliveries_per_s"`
	// WholeRunPerSecond is D over the time from the job insert to the last
	// webhook.
	WholeRunPerSecond float64 `json:"whole_run_deliveries_per_s"`
	// Elapsed is the time from the job insert to the last webhook.
	Elapsed Seconds `json:"elapsed_s"`
}

// MeasureDelivery inserts cfg.Deliveries delivery rows, as the terminal
// handoff writes them, then their River jobs in one InsertMany, and times
// the verified arrivals at the receiver.
func MeasureDelivery(ctx context.Context, cfg Config) (_ *DeliveryResult, err error) {
	m := newMeter(cfg.Deliveries)
	var (
		mu   sync.Mutex
		seen = map[string]bool{}
	)
	st, err := startStack(ctx, cfg, stackOptions{onWebhook: func(a arrival) {
		mu.Lock()
		ref := ""
		if a.ev.Data.AppRef != nil {
			ref = *a.ev.Data.AppRef
		}
		first := !seen[ref]
		seen[ref] = true
		mu.Unlock()
		if first {
			m.mark()
		}
	}})
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, st.stop()) }()

	ids, err := insertDeliveries(ctx, st, cfg.Deliveries)
	if err != nil {
		return nil, err
	}
	m.begin()
	for lo := 0; lo < len(ids); lo += insertChunk {
		params := make([]river.InsertManyParams, 0, insertChunk)
		for _, id := range ids[lo:min(lo+insertChunk, len(ids))] {
			params = append(params, river.InsertManyParams{Args: jobargs.Deliver{DeliveryID: id}})
		}
		if _, err := st.worker.Service.Client.InsertMany(ctx, params); err != nil {
			return nil, fmt.Errorf("insert delivery jobs: %w", err)
		}
	}
	if err := m.wait(ctx, cfg.Timeout); err != nil {
		return nil, fmt.Errorf("deliveries: %w", err)
	}
	mid, whole, elapsed := m.rates()
	return &DeliveryResult{
		Deliveries: cfg.Deliveries, Workers: jobs.DefaultConfig().DeliverWorkers,
		PerSecond: mid, WholeRunPerSecond: whole, Elapsed: Seconds(elapsed.Seconds()),
	}, nil
}

// insertDeliveries writes n delivery rows with a realistic payload, each
// with its own app_ref so the receiver can count distinct arrivals.
func insertDeliveries(ctx context.Context, st *stack, n int) ([]int64, error) {
	now := time.Now().UTC()
	webhookIDs := make([]string, n)
	payloads := make([][]byte, n)
	for i := range n {
		ref := fmt.Sprintf("bench-%d", i)
		body, err := json.Marshal(event.Event{
			Type:      event.TypeSucceeded,
			Timestamp: now,
			Data: event.SessionData{
				SessionID: fmt.Sprintf("00000000-0000-4000-8000-%012d", i), Provider: "marksign", Flow: "smartid_identification",
				ExternalID: fmt.Sprintf("sim-succeeded-0-%d", i), Account: "default", AppRef: &ref, State: "succeeded",
				Outcome:      json.RawMessage(`{"personal_code":"PNOLT-30303039914","given_name":"OK","surname":"TESTNUMBER"}`),
				RegisteredAt: now.Add(-3 * time.Second), FinishedAt: now,
			},
		})
		if err != nil {
			return nil, fmt.Errorf("encode event: %w", err)
		}
		webhookIDs[i], payloads[i] = webhook.NewMessageID(), body
	}
	rows, err := st.env.pool.Query(ctx, `INSERT INTO deliveries (webhook_id, subscriber, event_type, payload)
		SELECT w, $3, $4, p FROM unnest($1::text[], $2::jsonb[]) AS v(w, p)
		RETURNING id`, webhookIDs, payloads, subscriberName, string(event.TypeSucceeded))
	if err != nil {
		return nil, fmt.Errorf("insert deliveries: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, fmt.Errorf("insert deliveries: %w", err)
	}
	return ids, nil
}
