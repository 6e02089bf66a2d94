package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/pollhook/pollhook/internal/webhook"
)

// subscriberCommands are the "subscribers" commands.
func subscriberCommands() []*command {
	return []*command{
		{
			group: "subscribers", name: "add", args: []string{"NAME", "URL"},
			summary: "create a subscriber and print its signing secret, shown this once",
			detail: "NAME is 1-63 of a-z, 0-9, '_', '.', '-'. URL is an absolute http(s) URL without credentials;\n" +
				"whether its host is allowed is checked when sending (POLLHOOK_WEBHOOK_ALLOW_HTTP, POLLHOOK_WEBHOOK_ALLOW_CIDRS).",
			setup: func(*flag.FlagSet) action { return subscribersAdd },
		},
		{
			group: "subscribers", name: "list",
			summary: "list subscribers: URL, enabled, why disabled, failing since, number of active secrets",
			setup:   func(*flag.FlagSet) action { return subscribersList },
		},
		{
			group: "subscribers", name: "rotate", args: []string{"NAME"},
			summary: "give a subscriber a new signing secret and print it once; the old ones keep signing for --overlap",
			setup: func(fs *flag.FlagSet) action {
				overlap := fs.Duration("overlap", webhook.DefaultRotationOverlap, "how long the current secrets keep signing beside the new one, as a Go `duration`")
				return func(ctx context.Context, e *env, args []string) error {
					return subscribersRotate(ctx, e, args[0], *overlap)
				}
			},
		},
		{
			group: "subscribers", name: "disable", args: []string{"NAME"},
			summary: "pause webhooks to a subscriber; its deliveries wait until it is enabled",
			setup: func(fs *flag.FlagSet) action {
				reason := fs.String("reason", "disabled by an operator", "why, recorded with the subscriber (`TEXT`)")
				return func(ctx context.Context, e *env, args []string) error {
					return subscribersDisable(ctx, e, args[0], *reason)
				}
			},
		},
		{
			group: "subscribers", name: "enable", args: []string{"NAME"},
			summary: "resume webhooks to a subscriber and queue its paused deliveries again",
			setup:   func(*flag.FlagSet) action { return subscribersEnable },
		},
	}
}

// subscriberJSON is a subscriber in --json output. Secrets are only counted.
type subscriberJSON struct {
	Name           string     `json:"name"`
	URL            string     `json:"url"`
	Enabled        bool       `json:"enabled"`
	DisabledReason string     `json:"disabled_reason,omitempty"`
	FailingSince   *time.Time `json:"failing_since"`
	ActiveSecrets  int        `json:"active_secrets"`
	CreatedAt      time.Time  `json:"created_at"`
	UpdatedAt      time.Time  `json:"updated_at"`
}

func subscribersAdd(ctx context.Context, e *env, args []string) error {
	name, url := args[0], args[1]
	if err := checkSubscriberName(name); err != nil {
		return err
	}
	if _, err := webhook.ParseURL(url); err != nil {
		return usagef("bad URL %q: %s", url, strings.TrimPrefix(err.Error(), "webhook: "))
	}
	pool, err := e.db(ctx)
	if err != nil {
		return err
	}
	secret, err := webhook.CreateSubscriber(ctx, pool, name, url)
	if errors.Is(err, webhook.ErrExists) {
		return fmt.Errorf("subscriber %q already exists (rotate its secret with: pollhookctl subscribers rotate %s)", name, name)
	}
	if err != nil {
		return fmt.Errorf("add subscriber: %w", err)
	}
	const note = "This secret will not be shown again: hand it to the app now (it verifies webhooks with it)."
	if e.json {
		return writeJSON(e.stdout, map[string]any{"name": name, "url": url, "secret": secret, "note": note})
	}
	_, err = fmt.Fprintf(e.stdout, "Created subscriber %s (%s).\nSigning secret: %s\n%s\n", name, url, secret, note)
	return err
}

func subscribersList(ctx context.Context, e *env, _ []string) error {
	pool, err := e.db(ctx)
	if err != nil {
		return err
	}
	subs, err := webhook.ListSubscribers(ctx, pool)
	if err != nil {
		return fmt.Errorf("list subscribers: %w", err)
	}
	if e.json {
		out := make([]subscriberJSON, len(subs))
		for i, s := range subs {
			out[i] = subscriberJSON{
				Name: s.Name, URL: redactQuery(s.URL), Enabled: s.Enabled, DisabledReason: s.DisabledReason,
				FailingSince: s.FailingSince, ActiveSecrets: s.ActiveSecrets, CreatedAt: s.CreatedAt, UpdatedAt: s.UpdatedAt,
			}
		}
		return writeJSON(e.stdout, out)
	}
	t := newTable(e.stdout)
	t.row("NAME", "URL", "ENABLED", "DISABLED_REASON", "FAILING_SINCE", "SECRETS")
	for _, s := range subs {
		t.row(s.Name, redactQuery(s.URL), strconv.FormatBool(s.Enabled), s.DisabledReason, fmtTimePtr(s.FailingSince), strconv.Itoa(s.ActiveSecrets))
	}
	return t.flush()
}

func subscribersRotate(ctx context.Context, e *env, name string, overlap time.Duration) error {
	if err := checkSubscriberName(name); err != nil {
		return err
	}
	if overlap <= 0 {
		return usagef("--overlap %s must be positive", overlap)
	}
	pool, err := e.db(ctx)
	if err != nil {
		return err
	}
	secret, err := webhook.RotateSecret(ctx, pool, name, overlap)
	if errors.Is(err, webhook.ErrNotFound) {
		return fmt.Errorf("subscriber %q does not exist", name)
	}
	if err != nil {
		return fmt.Errorf("rotate secret: %w", err)
	}
	const note = "This secret will not be shown again: hand it to the app now."
	if e.json {
		return writeJSON(e.stdout, map[string]any{"name": name, "secret": secret, "overlap": overlap.String(), "note": note})
	}
	_, err = fmt.Fprintf(e.stdout, "New signing secret of %s: %s\n%s\nThe previous secrets keep signing for %s, so the app can switch without losing a webhook.\n",
		name, secret, note, overlap)
	return err
}

func subscribersDisable(ctx context.Context, e *env, name, reason string) error {
	if err := checkSubscriberName(name); err != nil {
		return err
	}
	if strings.TrimSpace(reason) == "" {
		return usagef("--reason must not be empty")
	}
	pool, err := e.db(ctx)
	if err != nil {
		return err
	}
	_, err = webhook.SetEnabled(ctx, pool, nil, name, false, reason)
	if errors.Is(err, webhook.ErrNotFound) {
		return fmt.Errorf("subscriber %q does not exist", name)
	}
	if err != nil {
		return fmt.Errorf("disable subscriber: %w", err)
	}
	if e.json {
		return writeJSON(e.stdout, map[string]any{"name": name, "enabled": false, "disabled_reason": reason})
	}
	_, err = fmt.Fprintf(e.stdout, "Disabled subscriber %s (%s).\nIts deliveries pause until: pollhookctl subscribers enable %s\n", name, reason, name)
	return err
}

func subscribersEnable(ctx context.Context, e *env, args []string) error {
	name := args[0]
	if err := checkSubscriberName(name); err != nil {
		return err
	}
	pool, err := e.db(ctx)
	if err != nil {
		return err
	}
	client, err := e.river(ctx)
	if err != nil {
		return err
	}
	queued, err := webhook.SetEnabled(ctx, pool, client, name, true, "")
	if errors.Is(err, webhook.ErrNotFound) {
		return fmt.Errorf("subscriber %q does not exist", name)
	}
	if err != nil {
		return fmt.Errorf("enable subscriber: %w", err)
	}
	if e.json {
		return writeJSON(e.stdout, map[string]any{"name": name, "enabled": true, "requeued": queued})
	}
	_, err = fmt.Fprintf(e.stdout, "Enabled subscriber %s; queued %s again.\n", name, plural(queued, "paused delivery", "paused deliveries"))
	return err
}

// redactQuery hides a URL's query string, where apps sometimes put tokens:
// listings show where webhooks go, not how the receiver authenticates them.
func redactQuery(raw string) string {
	if i := strings.IndexByte(raw, '?'); i >= 0 {
		return raw[:i] + "?[redacted]"
	}
	return raw
}
