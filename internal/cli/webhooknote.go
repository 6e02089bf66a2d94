package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/pollhook/pollhook/event"
	"github.com/pollhook/pollhook/internal/webhook"
)

// noDeliveryNote says why a finished session has no delivery, when its
// subscriber's event filter is the reason; "" otherwise.
func noDeliveryNote(ctx context.Context, pool *pgxpool.Pool, subscriber, state string) (string, error) {
	typ, err := event.TypeForState(state)
	if err != nil {
		return "", nil // not terminal
	}
	subs, err := webhook.ListSubscribers(ctx, pool)
	if err != nil {
		return "", err
	}
	for _, s := range subs {
		if s.Name == subscriber && !webhook.MatchEvent(s.EventTypes, string(typ)) {
			return fmt.Sprintf("filtered: subscriber %s does not want %s (its events: %s)", subscriber, typ, strings.Join(s.EventTypes, ",")), nil
		}
	}
	return "", nil
}

// openOutcome opens an outcome sealed as personal data
// (POLLHOOK_ENCRYPT_PERSONAL_DATA) with the main key from the environment;
// without the key, or if it does not open, the outcome is shown as stored.
func (e *env) openOutcome(raw json.RawMessage) json.RawMessage {
	at, err := e.atRestOptional()
	if err != nil {
		return raw
	}
	if plain, err := at.OpenOutcome(raw); err == nil {
		return plain
	}
	return raw
}

// openDelivery opens a delivery's payload and attempt bodies sealed as
// personal data, with the main key from the environment; what does not open
// is shown as stored. Signing keys are never opened here.
func (e *env) openDelivery(d *webhook.Delivery, attempts []webhook.AttemptRecord) {
	at, err := e.atRestOptional()
	if err != nil || at.Keys == nil {
		return
	}
	d.Secrets, d.Headers = nil, nil
	_ = d.Open(at.Keys)
	d.Headers = nil
	for i := range attempts {
		_ = attempts[i].Open(at.Keys)
	}
}
