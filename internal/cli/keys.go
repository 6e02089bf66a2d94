package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strconv"
	"time"

	"github.com/pollhook/pollhook/internal/seal"
	"github.com/pollhook/pollhook/internal/webhook"
)

// keyCommands are the "keys" commands, for the main key.
func keyCommands() []*command {
	return []*command{
		{
			group: "keys", name: "generate",
			summary: "print a fresh main key for POLLHOOK_MAIN_KEY (ID:BASE64 of 32 random bytes)",
			detail: "To rotate, put the new key first and keep the old ones after it, comma-separated:\n" +
				"POLLHOOK_MAIN_KEY=NEW,OLD. Restart the workers, run 'pollhookctl keys reencrypt', then drop OLD.",
			setup: func(fs *flag.FlagSet) action {
				id := fs.String("id", "", "key `ID` (default k + today, e.g. k20260101)")
				return func(_ context.Context, e *env, _ []string) error { return keysGenerate(e, *id) }
			},
		},
		{
			group: "keys", name: "reencrypt",
			summary: "seal every secret, header value (and personal data, with POLLHOOK_ENCRYPT_PERSONAL_DATA) under the first main key",
			detail: "Values in clear (rows from before the main key, or inserted by SQL) are sealed too, and\n" +
				"subscribers without a signing key get one. Safe while workers run.",
			setup: func(*flag.FlagSet) action { return keysReencrypt },
		},
	}
}

func keysGenerate(e *env, id string) error {
	if id == "" {
		id = "k" + time.Now().UTC().Format("20060102")
	}
	k, err := seal.Generate(id)
	if err != nil {
		return usagef("--id %q: use 1-32 of A-Z, a-z, 0-9, '_', '-'", id)
	}
	if e.json {
		return writeJSON(e.stdout, map[string]string{"id": id, "key": k})
	}
	_, err = fmt.Fprintln(e.stdout, k)
	return err
}

func keysReencrypt(ctx context.Context, e *env, _ []string) error {
	at, err := e.atRest()
	if err != nil {
		return err
	}
	if at.Keys == nil {
		return errors.New("POLLHOOK_MAIN_KEY is not set: nothing to seal under")
	}
	pool, err := e.db(ctx)
	if err != nil {
		return err
	}
	res, err := webhook.Reseal(ctx, pool, at)
	if err != nil {
		return fmt.Errorf("reencrypt: %w", err)
	}
	if e.json {
		return writeJSON(e.stdout, map[string]any{"key": at.Keys.CurrentID(), "keys_generated": res.Generated,
			"keys_sealed": res.Secrets, "headers_sealed": res.Headers, "personal_values_sealed": res.Personal})
	}
	_, err = fmt.Fprintf(e.stdout, "Sealed under main key %s: %s, %s, %s; generated %s.\n", at.Keys.CurrentID(),
		plural(res.Secrets, "signing key", "signing keys"), plural(res.Headers, "header set", "header sets"),
		plural(res.Personal, "personal value", "personal values"), plural(res.Generated, "missing key", "missing keys"))
	return err
}

// atRest reads the worker's main key and personal-data option from the
// environment. Without a main key it refuses, unless
// POLLHOOK_ALLOW_NO_MAIN_KEY=true (then secrets are stored in clear, as the
// worker would).
func (e *env) atRest() (webhook.AtRest, error) {
	at, err := e.atRestOptional()
	if err != nil {
		return at, err
	}
	if at.Keys == nil {
		if ok, _ := strconv.ParseBool(e.getenv("POLLHOOK_ALLOW_NO_MAIN_KEY")); !ok {
			return at, errors.New("POLLHOOK_MAIN_KEY is not set: pollhookctl needs the worker's main key to seal and read secrets " +
				"(or POLLHOOK_ALLOW_NO_MAIN_KEY=true if the worker runs without one)")
		}
	}
	return at, nil
}

// atRestOptional is atRest for commands that work without the key.
func (e *env) atRestOptional() (webhook.AtRest, error) {
	var at webhook.AtRest
	if v := e.getenv("POLLHOOK_MAIN_KEY"); v != "" {
		keys, err := seal.Parse(v)
		if err != nil {
			return at, fmt.Errorf("POLLHOOK_MAIN_KEY: %w", err)
		}
		at.Keys = keys
	}
	at.Personal, _ = strconv.ParseBool(e.getenv("POLLHOOK_ENCRYPT_PERSONAL_DATA"))
	return at, nil
}
