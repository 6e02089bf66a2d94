package webhook

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// DefaultDisableAfter is how long a subscriber's deliveries may keep failing
// before it is disabled (Svix: 5 days).
const DefaultDisableAfter = 5 * 24 * time.Hour

// DisableIfFailing disables an enabled subscriber whose deliveries have been
// failing for longer than period (DefaultDisableAfter if zero or less),
// recording why, and reports whether it did. Its deliveries then pause
// until an operator enables it (SetEnabled).
func DisableIfFailing(ctx context.Context, db DBTX, subscriber string, period time.Duration) (bool, error) {
	if period <= 0 {
		period = DefaultDisableAfter
	}
	tag, err := db.Exec(ctx, `UPDATE subscribers SET
			enabled = false,
			disabled_reason = format('deliveries failing for more than %s (since %s)',
				$3::text, to_char(failing_since AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')),
			updated_at = now()
		WHERE name = $1 AND enabled
			AND failing_since < now() - $2::bigint * interval '1 microsecond'`,
		subscriber, period.Microseconds(), formatPeriod(period))
	if err != nil {
		return false, fmt.Errorf("webhook: check health of %q: %w", subscriber, err)
	}
	return tag.RowsAffected() > 0, nil
}

// formatPeriod writes a duration for people: "5d", "36h", "90m".
func formatPeriod(d time.Duration) string {
	switch {
	case d >= 24*time.Hour && d%(24*time.Hour) == 0:
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	case d >= time.Hour && d%time.Hour == 0:
		return fmt.Sprintf("%dh", d/time.Hour)
	}
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
