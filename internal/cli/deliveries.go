package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pollhook/pollhook/internal/webhook"
)

// deliveryStates are the states a delivery can be in.
func deliveryStates() []string {
	return []string{string(webhook.StatePending), string(webhook.StateSucceeded), string(webhook.StateFailed), string(webhook.StatePaused)}
}

// bodyPreview is how many characters of a response body attempt tables show.
const bodyPreview = 60

// deliveryCommands are the "deliveries" commands.
func deliveryCommands() []*command {
	return []*command{
		{
			group: "deliveries", name: "list",
			summary: "list webhook deliveries, newest first (never their payloads: use deliveries show --payload)",
			setup: func(fs *flag.FlagSet) action {
				var f listFlags
				f.register(fs, listWords{noun: "deliveries", states: deliveryStates(), toSubscriber: "to", created: "created"})
				return func(ctx context.Context, e *env, _ []string) error { return deliveriesList(ctx, e, f) }
			},
		},
		{
			group: "deliveries", name: "show", args: []string{"ID"},
			summary: "show a delivery and its attempts: when, how long, status or error, start of the response body",
			setup: func(fs *flag.FlagSet) action {
				payload := fs.Bool("payload", false, "also print the webhook payload (it holds the session's outcome: personal data)")
				return withID(parseDeliveryID, func(ctx context.Context, e *env, id int64) error {
					return deliveriesShow(ctx, e, id, *payload)
				})
			},
		},
		{
			group: "deliveries", name: "redeliver", args: []string{"ID"},
			summary: "send a delivery again, whatever its state, with its webhook-id unchanged",
			setup:   func(*flag.FlagSet) action { return withID(parseDeliveryID, deliveriesRedeliver) },
		},
		{
			group: "deliveries", name: "replay", required: []string{"subscriber", "since"},
			summary: "send again every failed delivery of a subscriber created since a time",
			detail:  "Paused deliveries are not replayed: they go out again when the subscriber is enabled.",
			setup: func(fs *flag.FlagSet) action {
				var subscriber string
				var since sinceFlag
				fs.StringVar(&subscriber, "subscriber", "", "the subscriber whose failed deliveries to send again (`NAME`)")
				fs.Var(&since, "since", "replay deliveries created at or after `TIME`: 1h, 7d or RFC 3339")
				return func(ctx context.Context, e *env, _ []string) error {
					return deliveriesReplay(ctx, e, subscriber, since.t)
				}
			},
		},
	}
}

// deliveryRow is a delivery as listed: no payload, no secrets.
type deliveryRow struct {
	ID          int64      `json:"id"`
	WebhookID   string     `json:"webhook_id"`
	SessionID   *string    `json:"session_id"`
	Subscriber  string     `json:"subscriber"`
	EventType   string     `json:"event_type"`
	State       string     `json:"state"`
	Attempts    int        `json:"attempts"`
	LastStatus  *int       `json:"last_status"`
	LastError   *string    `json:"last_error"`
	CreatedAt   time.Time  `json:"created_at"`
	UpdatedAt   time.Time  `json:"updated_at"`
	DeliveredAt *time.Time `json:"delivered_at"`
}

// newDeliveryRow copies what a list shows of d.
func newDeliveryRow(d *webhook.Delivery) deliveryRow {
	return deliveryRow{
		ID: d.ID, WebhookID: d.WebhookID, SessionID: d.SessionID, Subscriber: d.Subscriber, EventType: d.EventType,
		State: string(d.State), Attempts: d.Attempts, LastStatus: d.LastStatus, LastError: d.LastError,
		CreatedAt: d.CreatedAt, UpdatedAt: d.UpdatedAt, DeliveredAt: d.DeliveredAt,
	}
}

// sessionDeliveries returns a session's deliveries, oldest first.
func sessionDeliveries(ctx context.Context, db webhook.DBTX, sessionID string) ([]deliveryRow, error) {
	return collectRows[deliveryRow](ctx, db, "list deliveries", `SELECT id, webhook_id, session_id::text, subscriber, event_type, state, attempts,
			last_status, last_error, created_at, updated_at, delivered_at
		FROM deliveries WHERE session_id = $1
		ORDER BY created_at, id`, sessionID)
}

// lastOutcome is a delivery's last status code, else its last error.
func lastOutcome(status *int, errText *string) string {
	if status != nil {
		return strconv.Itoa(*status)
	}
	return clip(deref(errText), 60)
}

// writeDeliveryTable writes deliveries as a table.
func writeDeliveryTable(w io.Writer, list []deliveryRow) error {
	t := newTable(w)
	t.row("ID", "SUBSCRIBER", "EVENT", "STATE", "ATTEMPTS", "LAST", "CREATED", "DELIVERED", "SESSION")
	for _, d := range list {
		t.row(strconv.FormatInt(d.ID, 10), d.Subscriber, d.EventType, d.State, strconv.Itoa(d.Attempts),
			lastOutcome(d.LastStatus, d.LastError), fmtTime(d.CreatedAt), fmtTimePtr(d.DeliveredAt), deref(d.SessionID))
	}
	return t.flush()
}

func deliveriesList(ctx context.Context, e *env, f listFlags) error {
	pool, err := f.open(ctx, e)
	if err != nil {
		return err
	}
	list, err := webhook.ListDeliveries(ctx, pool, webhook.DeliveryFilter{
		Subscriber: f.subscriber, State: webhook.DeliveryState(f.state), Since: f.since.t, Limit: f.limit,
	})
	if err != nil {
		return fmt.Errorf("list deliveries: %w", err)
	}
	rows := make([]deliveryRow, len(list))
	for i, d := range list {
		rows[i] = newDeliveryRow(d)
	}
	if e.json {
		return writeJSON(e.stdout, rows)
	}
	return writeDeliveryTable(e.stdout, rows)
}

// deliveryDetail is a delivery as deliveries show prints it.
type deliveryDetail struct {
	deliveryRow
	URL               string `json:"url"`
	SubscriberEnabled bool   `json:"subscriber_enabled"`
	// Payload is null unless --payload asked for it.
	Payload    json.RawMessage `json:"payload"`
	AttemptLog []attemptJSON   `json:"attempt_log"`
}

// attemptJSON is one logged attempt.
type attemptJSON struct {
	Attempt      int       `json:"attempt"`
	AttemptedAt  time.Time `json:"attempted_at"`
	DurationMS   float64   `json:"duration_ms"`
	URL          string    `json:"url"`
	StatusCode   *int      `json:"status_code"`
	Error        *string   `json:"error"`
	ResponseBody *string   `json:"response_body"`
}

func deliveriesShow(ctx context.Context, e *env, id int64, withPayload bool) error {
	pool, err := e.db(ctx)
	if err != nil {
		return err
	}
	d, err := webhook.LoadDelivery(ctx, pool, id)
	if errors.Is(err, webhook.ErrNotFound) {
		return fmt.Errorf("delivery %d does not exist", id)
	}
	if err != nil {
		return fmt.Errorf("show delivery %d: %w", id, err)
	}
	d.Secrets = nil // LoadDelivery reads them for sending; they are never shown.
	attempts, err := webhook.ListAttempts(ctx, pool, webhook.AttemptFilter{DeliveryID: id, Limit: webhook.MaxListLimit})
	if err != nil {
		return fmt.Errorf("show delivery %d: %w", id, err)
	}
	slices.Reverse(attempts) // oldest first, as they happened
	e.openDelivery(d, attempts)

	out := deliveryDetail{deliveryRow: newDeliveryRow(d), URL: RedactURL(d.URL), SubscriberEnabled: d.Enabled, AttemptLog: []attemptJSON{}}
	if withPayload {
		out.Payload = d.Payload
	}
	for _, a := range attempts {
		out.AttemptLog = append(out.AttemptLog, attemptJSON{
			Attempt: a.Attempt, AttemptedAt: a.AttemptedAt, DurationMS: float64(a.Duration) / float64(time.Millisecond),
			URL: RedactURL(a.URL), StatusCode: nonZero(a.StatusCode), Error: nonZero(a.Error), ResponseBody: nonZero(a.ResponseBody),
		})
	}
	if e.json {
		return writeJSON(e.stdout, out)
	}

	w := e.stdout
	fmt.Fprintf(w, "Delivery %d\n", d.ID)
	t := newTable(w)
	field := func(k, v string) { t.row("  "+k, v) }
	field("webhook id", d.WebhookID)
	field("session", deref(d.SessionID))
	enabled := "enabled"
	if !d.Enabled {
		enabled = "disabled"
	}
	field("subscriber", fmt.Sprintf("%s (%s)", d.Subscriber, enabled))
	field("url", out.URL)
	field("event", d.EventType)
	field("state", string(d.State))
	field("attempts", strconv.Itoa(d.Attempts))
	field("last status", lastOutcome(d.LastStatus, nil))
	field("last error", deref(d.LastError))
	field("created", fmtTime(d.CreatedAt))
	field("updated", fmtTime(d.UpdatedAt))
	field("delivered", fmtTimePtr(d.DeliveredAt))
	if err := t.flush(); err != nil {
		return err
	}
	if withPayload {
		fmt.Fprintf(w, "  payload (personal data):\n    %s\n", indentJSON(d.Payload, "    "))
	}
	fmt.Fprintln(w)
	if len(attempts) == 0 {
		_, err := fmt.Fprintln(w, "Attempts: none yet")
		return err
	}
	fmt.Fprintln(w, "Attempts")
	t = newTable(w)
	t.row("#", "WHEN", "DURATION", "RESULT", "BODY")
	for _, a := range attempts {
		result := a.Error
		if a.StatusCode != 0 {
			result = strconv.Itoa(a.StatusCode)
			if a.Error != "" {
				result += ": " + a.Error
			}
		}
		t.row(strconv.Itoa(a.Attempt), fmtTime(a.AttemptedAt), fmtDuration(a.Duration), clip(result, 80), clip(a.ResponseBody, bodyPreview))
	}
	return t.flush()
}

func deliveriesRedeliver(ctx context.Context, e *env, id int64) error {
	client, err := e.river(ctx)
	if err != nil {
		return err
	}
	err = e.inTx(ctx, func(tx pgx.Tx) error { return webhook.Redeliver(ctx, tx, client, id) })
	if errors.Is(err, webhook.ErrNotFound) {
		return fmt.Errorf("delivery %d does not exist", id)
	}
	if err != nil {
		return fmt.Errorf("redeliver: %w", err)
	}
	if e.json {
		return writeJSON(e.stdout, map[string]any{"id": id, "state": webhook.StatePending})
	}
	_, err = fmt.Fprintf(e.stdout, "Delivery %d is pending again: a delivery job sends it with the same webhook-id, so receivers can dedupe.\n", id)
	return err
}

func deliveriesReplay(ctx context.Context, e *env, subscriber string, since time.Time) error {
	if err := checkSubscriberName(subscriber); err != nil {
		return err
	}
	client, err := e.river(ctx)
	if err != nil {
		return err
	}
	var n int
	err = e.inTx(ctx, func(tx pgx.Tx) error {
		var err error
		n, err = webhook.ReplayFailed(ctx, tx, client, subscriber, since)
		return err
	})
	if errors.Is(err, webhook.ErrNotFound) {
		return fmt.Errorf("subscriber %q does not exist", subscriber)
	}
	if err != nil {
		return fmt.Errorf("replay: %w", err)
	}
	if e.json {
		return writeJSON(e.stdout, map[string]any{"subscriber": subscriber, "since": since, "queued": n})
	}
	_, err = fmt.Fprintf(e.stdout, "Queued %s of %s created since %s.\n", plural(n, "failed delivery", "failed deliveries"), subscriber, fmtTime(since))
	return err
}
