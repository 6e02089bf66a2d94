-- Webhooks past Svix (issue 12): signing schemes, encryption at rest,
-- per-subscriber event filters, custom headers, rate limits and the
-- operator's endpoint.

-- +goose Up
-- +goose StatementBegin

-- v1 (HMAC, whsec_) or v1a (ed25519, whsk_/whpk_): the kind of key a
-- rotation creates. Every active key signs, whatever the scheme, so a switch
-- overlaps like a rotation.
ALTER TABLE subscribers
    ADD COLUMN scheme text NOT NULL DEFAULT 'v1' CHECK (scheme IN ('v1', 'v1a')),
    -- Event types the subscriber wants, e.g. {session.succeeded,session.*};
    -- empty means every event. No delivery row is made for the others.
    ADD COLUMN event_types text[] NOT NULL DEFAULT '{}' CHECK (
        array_position(event_types, NULL) IS NULL AND array_position(event_types, '') IS NULL AND
        array_to_string(event_types, ',') ~ '^([a-z]+(\.[a-z_]+)*(\.\*)?(,[a-z]+(\.[a-z_]+)*(\.\*)?)*)?$'),
    -- Custom request headers: the names in clear (for listings), the
    -- name/value object sealed under the main key (values are credentials).
    ADD COLUMN header_names text[] NOT NULL DEFAULT '{}',
    ADD COLUMN headers_sealed text,
    -- Throttle, shared by every worker process: messages per second (with a
    -- burst of max(1, rate)) and requests in flight at once.
    ADD COLUMN rate_per_second double precision CHECK (rate_per_second > 0 AND rate_per_second <= 100000),
    ADD COLUMN max_in_flight integer CHECK (max_in_flight BETWEEN 1 AND 10000),
    -- pollhook's own endpoint for operational events, configured by the
    -- worker; it receives no session webhooks.
    ADD COLUMN operator boolean NOT NULL DEFAULT false;

-- A signing key is a whsec_ secret or a whsk_ private key in clear (as an
-- app may insert it by SQL; the worker seals it) or sealed under the main
-- key ("sealed:<key id>:<base64>"). A v1a key keeps its whpk_ public key in
-- clear: it is not secret, and pollhookctl shows it without the main key.
ALTER TABLE subscriber_secrets DROP CONSTRAINT subscriber_secrets_secret_check;
ALTER TABLE subscriber_secrets
    ADD CONSTRAINT subscriber_secrets_secret_check CHECK (
        secret ~ '^whsec_[A-Za-z0-9+/=]{32,}$' OR
        secret ~ '^whsk_[A-Za-z0-9+/=]{43,}$' OR
        secret ~ '^sealed:[A-Za-z0-9_-]{1,32}:[A-Za-z0-9_-]+$'),
    ADD COLUMN public_key text CHECK (public_key ~ '^whpk_[A-Za-z0-9+/]{43}=$');

-- Token bucket and in-flight leases per throttled subscriber. A lease
-- expires on its own, so a worker killed mid-request frees its slot.
CREATE TABLE subscriber_throttle (
    subscriber   text PRIMARY KEY REFERENCES subscribers (name) ON UPDATE CASCADE ON DELETE CASCADE,
    tokens       double precision NOT NULL,
    refilled_at  timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE delivery_leases (
    delivery_id  bigint PRIMARY KEY REFERENCES deliveries (id) ON DELETE CASCADE,
    subscriber   text NOT NULL,
    expires_at   timestamptz NOT NULL
);
CREATE INDEX delivery_leases_subscriber_idx ON delivery_leases (subscriber, expires_at);
-- +goose StatementEnd

-- +goose Down
-- +goose StatementBegin
DROP TABLE delivery_leases;
DROP TABLE subscriber_throttle;
ALTER TABLE subscriber_secrets DROP COLUMN public_key;
ALTER TABLE subscriber_secrets DROP CONSTRAINT subscriber_secrets_secret_check;
ALTER TABLE subscriber_secrets ADD CONSTRAINT subscriber_secrets_secret_check CHECK (secret ~ '^whsec_[A-Za-z0-9+/=]{32,}$');
ALTER TABLE subscribers
    DROP COLUMN operator,
    DROP COLUMN max_in_flight,
    DROP COLUMN rate_per_second,
    DROP COLUMN headers_sealed,
    DROP COLUMN header_names,
    DROP COLUMN event_types,
    DROP COLUMN scheme;
-- +goose StatementEnd
