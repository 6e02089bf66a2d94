package webhook

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// DefaultDisableAfter is how long a subscriber's deliveries may keep failing
// before it is disabled (Svix: 5 days).
const DefaultDisableAfter = 5 * 24 * time.Hour

// DisableIfFailing disables an enabled subscriber whose deliveries have been
// failing for longer than period (DefaultDisableAfter if zero or less),
// recording why, and reports whether it did. Its deliveries then pause
// until an operator enables it (Enable). A disable sends
// subscriber.disabled to the operator's endpoint through inserter (nil:
// none), in the same transaction.
func DisableIfFailing(ctx context.Context, db DBTX, inserter Inserter, at AtRest, subscriber string, period time.Duration) (bool, error) {
	if period <= 0 {
		period = DefaultDisableAfter
	}
	what := fmt.Sprintf("check health of %q", subscriber)
	return disable(ctx, db, inserter, at, subscriber, what, func(tx pgx.Tx) (string, bool, error) {
		var reason string
		err := tx.QueryRow(ctx, `UPDATE subscribers SET
				enabled = false,
				disabled_reason = format('deliveries failing for more than %s (since %s)',
					$3::text, to_char(failing_since AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')),
				updated_at = now()
			WHERE name = $1 AND enabled
				AND failing_since < now() - $2::bigint * interval '1 microsecond'
			RETURNING disabled_reason`,
			subscriber, period.Microseconds(), formatPeriod(period)).Scan(&reason)
		if errors.Is(err, pgx.ErrNoRows) {
			return "", false, nil
		}
		if err != nil {
			return "", false, fmt.Errorf("webhook: %s: %w", what, err)
		}
		return reason, true, nil
	})
}

// formatPeriod writes a duration for people: "5d", "36h", "90m".
func formatPeriod(d time.Duration) string {
	switch {
	case d >= 24*time.Hour && d%(24*time.Hour) == 0:
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	case d >= time.Hour && d%time.Hour == 0:
		return fmt.Sprintf("%dh", d/time.Hour)
	}
	return FormatDuration(d)
}
