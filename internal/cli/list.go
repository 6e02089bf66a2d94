package cli

import (
	"context"
	"flag"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/pollhook/pollhook/internal/webhook"
)

// defaultListLimit is the --limit of the list commands.
const defaultListLimit = 50

// listFlags are the flags the sessions and deliveries lists share: in
// which state, whose webhooks, since when, how many.
type listFlags struct {
	state, subscriber string
	since             sinceFlag
	limit             int
	// states are the values --state accepts.
	states []string
}

// listWords finish the usage lines of a list's shared flags, e.g. for
// deliveries: "only deliveries in STATE: pending, ... or paused", "only
// deliveries to subscriber NAME", "only deliveries created at or after
// TIME", "show at most N deliveries".
type listWords struct {
	// noun names what is listed: "deliveries".
	noun string
	// states are the values --state accepts, in the order usage names them.
	states []string
	// toSubscriber says how a row belongs to a subscriber: "to".
	toSubscriber string
	// created says what --since compares: "created".
	created string
}

// register defines --state, --subscriber, --since and --limit on fs.
func (f *listFlags) register(fs *flag.FlagSet, w listWords) {
	f.states = w.states
	n := len(w.states)
	fs.StringVar(&f.state, "state", "", "only "+w.noun+" in `STATE`: "+strings.Join(w.states[:n-1], ", ")+" or "+w.states[n-1])
	fs.StringVar(&f.subscriber, "subscriber", "", "only "+w.noun+" "+w.toSubscriber+" subscriber `NAME`")
	fs.Var(&f.since, "since", "only "+w.noun+" "+w.created+" at or after `TIME`: 1h, 7d or RFC 3339")
	fs.IntVar(&f.limit, "limit", defaultListLimit, "show at most `N` "+w.noun)
}

// open refuses bad flags before connecting, so that a bad argument exits 2
// without waiting on the database: --state, then filters (the list's own
// flags, checked), then --subscriber and --limit. It returns the database.
func (f *listFlags) open(ctx context.Context, e *env, filters ...error) (*pgxpool.Pool, error) {
	if err := checkOneOf("state", f.state, f.states); err != nil {
		return nil, err
	}
	for _, err := range filters {
		if err != nil {
			return nil, err
		}
	}
	if f.subscriber != "" {
		if err := checkSubscriberName(f.subscriber); err != nil {
			return nil, err
		}
	}
	if err := checkLimit(f.limit); err != nil {
		return nil, err
	}
	return e.db(ctx)
}

// collectRows reads every row into a T, column by column in field order,
// and never returns nil: an empty list prints as [] in JSON. what names the
// query in errors, e.g. "list sessions".
func collectRows[T any](ctx context.Context, db webhook.DBTX, what, sql string, args ...any) ([]T, error) {
	rows, err := db.Query(ctx, sql, args...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[T])
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	if out == nil {
		out = []T{}
	}
	return out, nil
}
