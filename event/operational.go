package event

import "time"

// The operational event types, sent to the operator's endpoint
// (POLLHOOK_OPERATOR_WEBHOOK_URL), never to apps.
const (
	// TypeSubscriberDisabled: a subscriber was disabled (it answered 410
	// Gone, kept failing too long, or an operator disabled it); its
	// deliveries wait until it is enabled.
	TypeSubscriberDisabled Type = "subscriber.disabled"
	// TypeSubscriberEnabled: a disabled subscriber was enabled again and its
	// paused deliveries queued.
	TypeSubscriberEnabled Type = "subscriber.enabled"
	// TypeDeliveryExhausted: a delivery failed every attempt of the retry
	// schedule; replay it with pollhookctl.
	TypeDeliveryExhausted Type = "delivery.exhausted"
)

// OperationalEvent is the body of an operational webhook.
type OperationalEvent struct {
	// Type is one of the operational event types.
	Type Type `json:"type"`
	// Timestamp is when it happened.
	Timestamp time.Time `json:"timestamp"`
	// Data says what happened.
	Data OperationalData `json:"data"`
}

// OperationalData describes an operational event. It names subscribers
// and deliveries, never payloads or secrets.
type OperationalData struct {
	// Subscriber is the subscriber concerned.
	Subscriber string `json:"subscriber"`
	// Reason says why a subscriber was disabled.
	Reason string `json:"reason,omitempty"`
	// Requeued counts the paused deliveries an enable queued again.
	Requeued *int `json:"requeued,omitempty"`
	// DeliveryID is the exhausted delivery's id.
	DeliveryID int64 `json:"delivery_id,omitempty"`
	// WebhookID is the exhausted delivery's webhook-id.
	WebhookID string `json:"webhook_id,omitempty"`
	// EventType is the exhausted delivery's event type.
	EventType string `json:"event_type,omitempty"`
	// SessionID is the session of the exhausted delivery, if any.
	SessionID *string `json:"session_id,omitempty"`
	// Attempts is how many attempts the exhausted delivery made.
	Attempts int `json:"attempts,omitempty"`
	// LastError is the exhausted delivery's last error.
	LastError string `json:"last_error,omitempty"`
}
