package webhook

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/pollhook/pollhook/internal/seal"
)

// resealBatch is how many rows Reseal rewrites per statement.
const resealBatch = 500

// ResealResult counts what Reseal did.
type ResealResult struct {
	// Generated counts subscribers given a first signing key.
	Generated int
	// Secrets counts signing keys sealed (again) under the current key.
	Secrets int
	// Headers counts subscribers whose custom headers were sealed again.
	Headers int
	// Personal counts personal-data values (outcomes, answers, payloads,
	// attempt bodies) sealed again.
	Personal int
}

// Reseal brings the stored values in line with at: every subscriber without
// an active signing key gets one (a subscriber inserted by SQL), signing
// keys and header values in clear or sealed under an older main key are
// sealed under the current one, and so is personal data when at.Personal
// (values already sealed under an older key are resealed whatever
// at.Personal, so the old key can be retired). The worker runs it at
// start; pollhookctl keys reencrypt runs it after a key rotation. Each row
// is rewritten only if it did not change meanwhile, so it is safe beside a
// running worker.
func Reseal(ctx context.Context, db DBTX, at AtRest) (ResealResult, error) {
	var res ResealResult
	var err error
	if res.Generated, err = generateMissingKeys(ctx, db, at.Keys); err != nil {
		return res, err
	}
	if at.Keys == nil {
		return res, nil
	}
	if res.Secrets, err = resealSecrets(ctx, db, at.Keys, ""); err != nil {
		return res, err
	}
	cur := at.Keys.CurrentID()
	n, err := resealColumn(ctx, db, at.Keys, column{table: "subscribers", id: "name", col: "headers_sealed", purpose: purposeHeaders}, cur, true)
	res.Headers = n
	if err != nil {
		return res, err
	}
	for _, c := range []column{
		{table: "deliveries", id: "id", col: "payload", purpose: purposePayload, json: true},
		{table: "delivery_attempts", id: "id", col: "response_body", purpose: purposeAttemptBody},
		{table: "sessions", id: "id", col: "outcome", purpose: purposeOutcome, json: true, internal: true},
		{table: "sessions", id: "id", col: "answer", purpose: purposeAnswer, json: true, internal: true},
	} {
		n, err := resealColumn(ctx, db, at.Keys, c, cur, at.Personal)
		res.Personal += n
		if err != nil {
			return res, err
		}
	}
	return res, nil
}

// generateMissingKeys gives every subscriber without an active key one of
// its scheme.
func generateMissingKeys(ctx context.Context, db DBTX, keys *seal.Keyring) (int, error) {
	rows, err := db.Query(ctx, `SELECT name FROM subscribers s WHERE NOT EXISTS (
		SELECT 1 FROM subscriber_secrets k WHERE k.subscriber = s.name AND (k.expires_at IS NULL OR k.expires_at > now()))`)
	if err != nil {
		return 0, fmt.Errorf("webhook: subscribers without a key: %w", err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return 0, fmt.Errorf("webhook: subscribers without a key: %w", err)
	}
	for _, name := range names {
		// RevealSecret generates under the subscriber's row lock, so two
		// workers starting together give it one key.
		if _, err := RevealSecret(ctx, db, keys, name); err != nil {
			return 0, err
		}
	}
	return len(names), nil
}

// SealKeysOf seals a subscriber's signing keys that are in clear (inserted
// by SQL) or under an older main key, and gives it a key if it has none.
// The delivery worker calls it when it finds such keys.
func SealKeysOf(ctx context.Context, db DBTX, keys *seal.Keyring, subscriber string) error {
	if keys != nil {
		// First, so a v1a key inserted in clear gets its public key and
		// counts as the subscriber's key below.
		if _, err := resealSecrets(ctx, db, keys, subscriber); err != nil {
			return err
		}
	}
	_, err := RevealSecret(ctx, db, keys, subscriber)
	return err
}

// resealSecrets seals signing keys that are in clear or under an older key
// (of one subscriber, or of all if subscriber is ""), filling in the public
// key of v1a keys inserted by SQL.
func resealSecrets(ctx context.Context, db DBTX, keys *seal.Keyring, subscriber string) (int, error) {
	total := 0
	for {
		rows, err := db.Query(ctx, `SELECT id, secret FROM subscriber_secrets
			WHERE NOT starts_with(secret, $1) AND ($3 = '' OR subscriber = $3) LIMIT $2`,
			seal.Prefix+keys.CurrentID()+":", resealBatch, subscriber)
		if err != nil {
			return total, fmt.Errorf("webhook: reseal secrets: %w", err)
		}
		type row struct {
			ID     int64
			Secret string
		}
		list, err := pgx.CollectRows(rows, pgx.RowToStructByPos[row])
		if err != nil {
			return total, fmt.Errorf("webhook: reseal secrets: %w", err)
		}
		for _, r := range list {
			plain, err := keys.Open(purposeSecret, r.Secret)
			if err != nil {
				return total, fmt.Errorf("webhook: reseal secret %d: %w", r.ID, err)
			}
			pub, _ := publicKeyOf(string(plain))
			if _, err := db.Exec(ctx, `UPDATE subscriber_secrets SET secret = $3, public_key = coalesce(public_key, $4)
				WHERE id = $1 AND secret = $2`, r.ID, r.Secret, keys.Seal(purposeSecret, plain), pub); err != nil {
				return total, fmt.Errorf("webhook: reseal secret %d: %w", r.ID, err)
			}
		}
		total += len(list)
		if len(list) < resealBatch {
			return total, nil
		}
	}
}

// column is a column of sealed (or sealable) values.
type column struct {
	table, id, col, purpose string
	json                    bool
	// internal marks a column the sessions guard (migration 00002) lets
	// only pollhook's own transactions change.
	internal bool
}

// resealColumn seals again the values of c sealed under another key than
// cur, and with clear also those in clear. It pages by id so a value that
// does not change (a clear one skipped) is not read twice.
func resealColumn(ctx context.Context, db DBTX, keys *seal.Keyring, c column, cur string, clear bool) (int, error) {
	text := c.col
	if c.json {
		text = "(CASE WHEN jsonb_typeof(" + c.col + ") = 'string' THEN " + c.col + " #>> '{}' END)"
	}
	stale := "(" + text + " IS NOT NULL AND starts_with(" + text + ", 'sealed:') AND NOT starts_with(" + text + ", $1))"
	if clear {
		stale = "(" + c.col + " IS NOT NULL AND (" + text + " IS NULL OR NOT starts_with(" + text + ", $1)))"
	}
	total := 0
	var after string
	for {
		rows, err := db.Query(ctx, `SELECT `+c.id+`::text, `+c.col+`::text FROM `+c.table+`
			WHERE `+stale+` AND `+c.id+`::text > $2 ORDER BY `+c.id+`::text LIMIT $3`,
			seal.Prefix+cur+":", after, resealBatch)
		if err != nil {
			return total, fmt.Errorf("webhook: reseal %s.%s: %w", c.table, c.col, err)
		}
		type row struct{ ID, Value string }
		list, err := pgx.CollectRows(rows, pgx.RowToStructByPos[row])
		if err != nil {
			return total, fmt.Errorf("webhook: reseal %s.%s: %w", c.table, c.col, err)
		}
		for _, r := range list {
			var next string
			if c.json {
				plain, err := keys.OpenJSON(c.purpose, []byte(r.Value))
				if err != nil {
					return total, fmt.Errorf("webhook: reseal %s.%s %s: %w", c.table, c.col, r.ID, err)
				}
				next = string(keys.SealJSON(c.purpose, plain))
			} else {
				plain, err := keys.Open(c.purpose, r.Value)
				if err != nil {
					return total, fmt.Errorf("webhook: reseal %s.%s %s: %w", c.table, c.col, r.ID, err)
				}
				next = keys.Seal(c.purpose, plain)
			}
			cast := ""
			if c.json {
				cast = "::jsonb"
			}
			from, and := "", ""
			if c.internal {
				from = ` FROM (SELECT set_config('pollhook.internal', 'on', true) = 'on' AS ok) AS internal`
				and = ` AND internal.ok`
			}
			if _, err := db.Exec(ctx, `UPDATE `+c.table+` SET `+c.col+` = $3`+cast+from+`
				WHERE `+c.id+`::text = $1 AND `+c.col+`::text = $2`+and, r.ID, r.Value, next); err != nil {
				return total, fmt.Errorf("webhook: reseal %s.%s %s: %w", c.table, c.col, r.ID, err)
			}
			after = r.ID
		}
		total += len(list)
		if len(list) < resealBatch {
			return total, nil
		}
	}
}
