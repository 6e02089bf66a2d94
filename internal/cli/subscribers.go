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

// subscriberFlags are the settings add and set share.
type subscriberFlags struct {
	scheme      string
	events      string
	headers     headerFlag
	rate        string
	maxInFlight int
	fs          *flag.FlagSet
}

func (f *subscriberFlags) register(fs *flag.FlagSet, withScheme bool) {
	f.fs = fs
	if withScheme {
		fs.StringVar(&f.scheme, "scheme", "v1", "signing scheme: v1 (HMAC, the app holds a whsec_ secret) or v1a (ed25519, the app holds a whpk_ public key)")
	}
	fs.StringVar(&f.events, "events", "", "comma-separated event types it wants, e.g. session.succeeded,session.failed or session.* (`LIST`; default all)")
	fs.Var(&f.headers, "header", "extra request header `'Name: value'`, repeatable (values are sealed, never shown)")
	fs.StringVar(&f.rate, "rate", "", "at most this many webhooks per second across all workers, e.g. 50/s or 10 (`N/s`; 0: no cap)")
	fs.IntVar(&f.maxInFlight, "max-in-flight", 0, "at most `N` requests at once across all workers (0: no cap)")
}

func (f *subscriberFlags) set(name string) bool {
	found := false
	f.fs.Visit(func(fl *flag.Flag) { found = found || fl.Name == name })
	return found
}

// options reads the flags into subscriber options, refusing bad values.
func (f *subscriberFlags) options() (webhook.SubscriberOptions, error) {
	var o webhook.SubscriberOptions
	scheme, err := webhook.ParseScheme(f.scheme)
	if err != nil {
		return o, usagef("--scheme %q: want v1 or v1a", f.scheme)
	}
	o.Scheme = scheme
	if f.events != "" {
		for _, p := range strings.Split(f.events, ",") {
			o.EventTypes = append(o.EventTypes, strings.TrimSpace(p))
		}
	}
	o.Headers = f.headers.m
	if o.RatePerSecond, err = parseRate(f.rate); err != nil {
		return o, err
	}
	o.MaxInFlight = f.maxInFlight
	if err := o.Validate(); err != nil {
		return o, usagef("%s", strings.TrimPrefix(err.Error(), "webhook: "))
	}
	return o, nil
}

// parseRate reads "50/s", "50" or "" (0).
func parseRate(s string) (float64, error) {
	if s == "" {
		return 0, nil
	}
	n, err := strconv.ParseFloat(strings.TrimSuffix(s, "/s"), 64)
	if err != nil || n < 0 || n > webhook.MaxRate {
		return 0, usagef("--rate %q: want webhooks per second such as 50/s (0 to %d)", s, webhook.MaxRate)
	}
	return n, nil
}

// headerFlag collects repeated --header 'Name: value' flags.
type headerFlag struct{ m map[string]string }

func (h *headerFlag) String() string { return "" }

func (h *headerFlag) Set(s string) error {
	name, value, ok := strings.Cut(s, ":")
	if !ok {
		return errors.New("want 'Name: value'")
	}
	name, value = strings.TrimSpace(name), strings.TrimSpace(value)
	if err := webhook.ValidateHeader(name, value); err != nil {
		return errors.New(strings.TrimPrefix(err.Error(), "webhook: "))
	}
	if h.m == nil {
		h.m = map[string]string{}
	}
	h.m[name] = value
	return nil
}

// subscriberCommands are the "subscribers" commands.
func subscriberCommands() []*command {
	return []*command{
		{
			group: "subscribers", name: "add", args: []string{"NAME", "URL"},
			summary: "create a subscriber and print its signing secret (v1) or public key (v1a), shown this once",
			detail: "NAME is 1-63 of a-z, 0-9, '_', '.', '-'. URL is an absolute http(s) URL without credentials;\n" +
				"whether its host is allowed is checked when sending (POLLHOOK_WEBHOOK_ALLOW_HTTP, POLLHOOK_WEBHOOK_ALLOW_CIDRS).\n" +
				"Needs the worker's POLLHOOK_MAIN_KEY: the signing key and header values are sealed under it.",
			setup: func(fs *flag.FlagSet) action {
				var f subscriberFlags
				f.register(fs, true)
				return func(ctx context.Context, e *env, args []string) error { return subscribersAdd(ctx, e, args, &f) }
			},
		},
		{
			group: "subscribers", name: "set", args: []string{"NAME"},
			summary: "change a subscriber's URL, event filter, headers or throttle; flags not given keep their value",
			setup: func(fs *flag.FlagSet) action {
				var f subscriberFlags
				f.register(fs, false)
				urlFlag := fs.String("url", "", "new endpoint `URL`")
				noHeaders := fs.Bool("clear-headers", false, "remove every custom header")
				return func(ctx context.Context, e *env, args []string) error {
					return subscribersSet(ctx, e, args[0], &f, *urlFlag, *noHeaders)
				}
			},
		},
		{
			group: "subscribers", name: "list",
			summary: "list subscribers: URL (credentials redacted), enabled, why disabled, scheme, events, throttle, keys",
			setup:   func(*flag.FlagSet) action { return subscribersList },
		},
		{
			group: "subscribers", name: "secret", args: []string{"NAME"},
			summary: "print what the app verifies with: the newest whsec_ secret (v1) or whpk_ public key (v1a)",
			detail: "A subscriber inserted by SQL without a secret gets one generated now (the worker also does so\n" +
				"at start and at its first delivery). Needs the worker's POLLHOOK_MAIN_KEY.",
			setup: func(*flag.FlagSet) action { return subscribersSecret },
		},
		{
			group: "subscribers", name: "rotate", args: []string{"NAME"},
			summary: "give a subscriber a new signing secret and print it once; the old ones keep signing for --overlap",
			setup: func(fs *flag.FlagSet) action {
				overlap := fs.Duration("overlap", webhook.DefaultRotationOverlap, "how long the current secrets keep signing beside the new one, as a Go `duration`")
				scheme := fs.String("scheme", "", "switch to signing scheme `SCHEME`, v1 or v1a, printing its new key (default: keep it)")
				return func(ctx context.Context, e *env, args []string) error {
					return subscribersRotate(ctx, e, args[0], *overlap, *scheme)
				}
			},
		},
		{
			group: "subscribers", name: "disable", args: []string{"NAME"},
			summary: "pause webhooks to a subscriber; its deliveries wait until it is enabled",
			setup: func(fs *flag.FlagSet) action {
				reason := fs.String("reason", webhook.DefaultDisableReason, "why, recorded with the subscriber (`TEXT`; a disabled subscriber keeps its first reason)")
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

// subscriberJSON is a subscriber in --json output. Secrets are only counted,
// header values never shown.
type subscriberJSON struct {
	Name           string     `json:"name"`
	URL            string     `json:"url"`
	Enabled        bool       `json:"enabled"`
	DisabledReason string     `json:"disabled_reason,omitempty"`
	FailingSince   *time.Time `json:"failing_since"`
	ActiveSecrets  int        `json:"active_secrets"`
	Scheme         string     `json:"scheme"`
	PublicKeys     []string   `json:"public_keys"`
	EventTypes     []string   `json:"event_types"`
	HeaderNames    []string   `json:"header_names"`
	RatePerSecond  float64    `json:"rate_per_second"`
	MaxInFlight    int        `json:"max_in_flight"`
	Operator       bool       `json:"operator"`
	CreatedAt      time.Time  `json:"created_at"`
	UpdatedAt      time.Time  `json:"updated_at"`
}

func subscribersAdd(ctx context.Context, e *env, args []string, f *subscriberFlags) error {
	name, rawURL := args[0], args[1]
	if err := checkSubscriberName(name); err != nil {
		return err
	}
	if _, err := webhook.ParseURL(rawURL); err != nil {
		return usagef("bad URL %q: %s", RedactURL(rawURL), strings.TrimPrefix(err.Error(), "webhook: "))
	}
	opts, err := f.options()
	if err != nil {
		return err
	}
	at, err := e.atRest()
	if err != nil {
		return err
	}
	pool, err := e.db(ctx)
	if err != nil {
		return err
	}
	key, err := webhook.CreateSubscriber(ctx, pool, at.Keys, name, rawURL, opts)
	if errors.Is(err, webhook.ErrExists) {
		return fmt.Errorf("subscriber %q already exists (rotate its secret with: pollhookctl subscribers rotate %s)", name, name)
	}
	if err != nil {
		return fmt.Errorf("add subscriber: %w", err)
	}
	if opts.Scheme == webhook.SchemeV1a {
		const note = "The app verifies webhooks with this public key (it is not secret; pollhook keeps the private key sealed)."
		if e.json {
			return writeJSON(e.stdout, map[string]any{"name": name, "url": RedactURL(rawURL), "scheme": "v1a", "public_key": key})
		}
		_, err = fmt.Fprintf(e.stdout, "Created subscriber %s (%s), scheme v1a.\nPublic key: %s\n%s\n", name, RedactURL(rawURL), key, note)
		return err
	}
	const note = "This secret will not be shown again: hand it to the app now (it verifies webhooks with it)."
	if e.json {
		return writeJSON(e.stdout, map[string]any{"name": name, "url": RedactURL(rawURL), "scheme": "v1", "secret": key})
	}
	_, err = fmt.Fprintf(e.stdout, "Created subscriber %s (%s).\nSigning secret: %s\n%s\n", name, RedactURL(rawURL), key, note)
	return err
}

func subscribersSet(ctx context.Context, e *env, name string, f *subscriberFlags, rawURL string, clearHeaders bool) error {
	if err := checkSubscriberName(name); err != nil {
		return err
	}
	opts, err := f.options()
	if err != nil {
		return err
	}
	var c webhook.SubscriberChange
	if rawURL != "" {
		if _, err := webhook.ParseURL(rawURL); err != nil {
			return usagef("bad URL %q: %s", RedactURL(rawURL), strings.TrimPrefix(err.Error(), "webhook: "))
		}
		c.URL = &rawURL
	}
	if f.set("events") {
		c.EventTypes = &opts.EventTypes
	}
	if f.set("header") || clearHeaders {
		if clearHeaders && f.set("header") {
			return usagef("--clear-headers and --header exclude each other")
		}
		c.Headers = &opts.Headers
	}
	if f.set("rate") {
		c.RatePerSecond = &opts.RatePerSecond
	}
	if f.set("max-in-flight") {
		c.MaxInFlight = &opts.MaxInFlight
	}
	if c == (webhook.SubscriberChange{}) {
		return usagef("nothing to change: give --url, --events, --header, --clear-headers, --rate or --max-in-flight")
	}
	at, err := e.atRest()
	if err != nil {
		return err
	}
	pool, err := e.db(ctx)
	if err != nil {
		return err
	}
	err = webhook.UpdateSubscriber(ctx, pool, at.Keys, name, c)
	if errors.Is(err, webhook.ErrNotFound) {
		return fmt.Errorf("subscriber %q does not exist", name)
	}
	if err != nil {
		return fmt.Errorf("change subscriber: %w", err)
	}
	if e.json {
		return writeJSON(e.stdout, map[string]any{"name": name, "changed": true})
	}
	_, err = fmt.Fprintf(e.stdout, "Changed subscriber %s.\n", name)
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
				Name: s.Name, URL: RedactURL(s.URL), Enabled: s.Enabled, DisabledReason: s.DisabledReason,
				FailingSince: s.FailingSince, ActiveSecrets: s.ActiveSecrets, Scheme: string(s.Scheme),
				PublicKeys: s.PublicKeys, EventTypes: s.EventTypes, HeaderNames: s.HeaderNames,
				RatePerSecond: s.RatePerSecond, MaxInFlight: s.MaxInFlight, Operator: s.Operator,
				CreatedAt: s.CreatedAt, UpdatedAt: s.UpdatedAt,
			}
		}
		return writeJSON(e.stdout, out)
	}
	t := newTable(e.stdout)
	t.row("NAME", "URL", "ENABLED", "DISABLED_REASON", "FAILING_SINCE", "SCHEME", "EVENTS", "HEADERS", "THROTTLE", "SECRETS")
	for _, s := range subs {
		events := strings.Join(s.EventTypes, ",")
		if events == "" {
			events = "all"
		}
		if s.Operator {
			events = "operational"
		}
		t.row(s.Name, RedactURL(s.URL), strconv.FormatBool(s.Enabled), s.DisabledReason, fmtTimePtr(s.FailingSince),
			string(s.Scheme), events, strings.Join(s.HeaderNames, ","), fmtThrottle(s.RatePerSecond, s.MaxInFlight), strconv.Itoa(s.ActiveSecrets))
	}
	return t.flush()
}

func fmtThrottle(rate float64, inFlight int) string {
	var parts []string
	if rate > 0 {
		parts = append(parts, strconv.FormatFloat(rate, 'g', -1, 64)+"/s")
	}
	if inFlight > 0 {
		parts = append(parts, strconv.Itoa(inFlight)+" in flight")
	}
	return strings.Join(parts, ", ")
}

func subscribersSecret(ctx context.Context, e *env, args []string) error {
	name := args[0]
	if err := checkSubscriberName(name); err != nil {
		return err
	}
	at, err := e.atRest()
	if err != nil {
		return err
	}
	pool, err := e.db(ctx)
	if err != nil {
		return err
	}
	key, err := webhook.RevealSecret(ctx, pool, at.Keys, name)
	if errors.Is(err, webhook.ErrNotFound) {
		return fmt.Errorf("subscriber %q does not exist", name)
	}
	if err != nil {
		return fmt.Errorf("subscriber secret: %w", err)
	}
	if e.json {
		field := "secret"
		if strings.HasPrefix(key, "whpk_") {
			field = "public_key"
		}
		return writeJSON(e.stdout, map[string]any{"name": name, field: key})
	}
	_, err = fmt.Fprintln(e.stdout, key)
	return err
}

func subscribersRotate(ctx context.Context, e *env, name string, overlap time.Duration, scheme string) error {
	if err := checkSubscriberName(name); err != nil {
		return err
	}
	if overlap <= 0 {
		return usagef("--overlap %s must be positive", overlap)
	}
	if scheme != "" {
		if _, err := webhook.ParseScheme(scheme); err != nil {
			return usagef("--scheme %q: want v1 or v1a", scheme)
		}
	}
	at, err := e.atRest()
	if err != nil {
		return err
	}
	pool, err := e.db(ctx)
	if err != nil {
		return err
	}
	key, err := webhook.RotateSecret(ctx, pool, at.Keys, name, overlap, webhook.Scheme(scheme))
	if errors.Is(err, webhook.ErrNotFound) {
		return fmt.Errorf("subscriber %q does not exist", name)
	}
	if err != nil {
		return fmt.Errorf("rotate secret: %w", err)
	}
	if strings.HasPrefix(key, "whpk_") {
		if e.json {
			return writeJSON(e.stdout, map[string]any{"name": name, "public_key": key, "overlap": overlap.String()})
		}
		_, err = fmt.Fprintf(e.stdout, "New public key of %s: %s\nThe previous keys keep signing for %s, so the app can switch without losing a webhook.\n",
			name, key, overlap)
		return err
	}
	const note = "This secret will not be shown again: hand it to the app now."
	if e.json {
		return writeJSON(e.stdout, map[string]any{"name": name, "secret": key, "overlap": overlap.String()})
	}
	_, err = fmt.Fprintf(e.stdout, "New signing secret of %s: %s\n%s\nThe previous secrets keep signing for %s, so the app can switch without losing a webhook.\n",
		name, key, note, overlap)
	return err
}

func subscribersDisable(ctx context.Context, e *env, name, reason string) error {
	if err := checkSubscriberName(name); err != nil {
		return err
	}
	if strings.TrimSpace(reason) == "" {
		return usagef("--reason must not be empty")
	}
	at, err := e.atRestOptional()
	if err != nil {
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
	changed, err := webhook.Disable(ctx, pool, client, at, name, reason)
	if errors.Is(err, webhook.ErrNotFound) {
		return fmt.Errorf("subscriber %q does not exist", name)
	}
	if err != nil {
		return fmt.Errorf("disable subscriber: %w", err)
	}
	if !changed {
		var current string
		if err := pool.QueryRow(ctx, `SELECT coalesce(disabled_reason, '') FROM subscribers WHERE name = $1`, name).Scan(&current); err != nil {
			return fmt.Errorf("disable subscriber: %w", err)
		}
		if e.json {
			return writeJSON(e.stdout, map[string]any{"name": name, "enabled": false, "disabled_reason": current, "changed": false})
		}
		_, err = fmt.Fprintf(e.stdout, "Subscriber %s was already disabled (%s); its reason is kept.\n", name, current)
		return err
	}
	if e.json {
		return writeJSON(e.stdout, map[string]any{"name": name, "enabled": false, "disabled_reason": reason, "changed": true})
	}
	_, err = fmt.Fprintf(e.stdout, "Disabled subscriber %s (%s).\nIts deliveries pause until: pollhookctl subscribers enable %s\n", name, reason, name)
	return err
}

func subscribersEnable(ctx context.Context, e *env, args []string) error {
	name := args[0]
	if err := checkSubscriberName(name); err != nil {
		return err
	}
	at, err := e.atRestOptional()
	if err != nil {
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
	queued, err := webhook.Enable(ctx, pool, client, at, name)
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
