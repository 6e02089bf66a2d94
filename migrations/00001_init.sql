-- pollhook's own tables. They are created in the schema named by
-- POLLHOOK_SCHEMA: cmd/migrate sets search_path to it before applying this
-- file, so no name here is schema-qualified.

-- +goose Up
-- +goose StatementBegin
CREATE TABLE subscribers (
    name            text PRIMARY KEY CHECK (name ~ '^[a-z0-9][a-z0-9_.-]{0,62}$'),
    url             text NOT NULL CHECK (url ~ '^https?://[^/?#\s]+'),
    enabled         boolean NOT NULL DEFAULT true,
    disabled_reason text,
    failing_since   timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);

-- Signing secrets. A subscriber holds one or more; every secret that has not
-- expired signs every message, so a rotation overlaps old and new.
CREATE TABLE subscriber_secrets (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    subscriber  text NOT NULL REFERENCES subscribers (name) ON UPDATE CASCADE ON DELETE CASCADE,
    secret      text NOT NULL CHECK (secret ~ '^whsec_[A-Za-z0-9+/=]{32,}$'),
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz
);
CREATE INDEX subscriber_secrets_subscriber_idx ON subscriber_secrets (subscriber);

CREATE TABLE sessions (
    id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    provider            text NOT NULL CHECK (provider IN ('fortid', 'marksign')),
    flow                text NOT NULL,
    external_id         text NOT NULL CHECK (length(external_id) BETWEEN 1 AND 200 AND external_id ~ '^[A-Za-z0-9_-]+$'),
    account             text NOT NULL DEFAULT 'default' CHECK (account ~ '^[a-z0-9_]{1,63}$'),
    locale              text NOT NULL DEFAULT 'lt' CHECK (locale IN ('lt', 'en')),
    subscriber          text NOT NULL REFERENCES subscribers (name) ON UPDATE CASCADE,
    app_ref             text CHECK (length(app_ref) <= 500),
    state               text NOT NULL DEFAULT 'pending' CHECK (state IN (
                            'pending', 'polling',
                            'succeeded', 'failed', 'refused', 'expired', 'not_found', 'rejected', 'cancelled')),
    outcome             jsonb,
    answer              jsonb,
    error               text,
    deadline            timestamptz,
    cancel_requested_at timestamptz,
    poll_job_id         bigint,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    finished_at         timestamptz,
    redacted_at         timestamptz,
    CONSTRAINT sessions_provider_external_id_key UNIQUE (provider, external_id),
    CONSTRAINT sessions_provider_flow_check CHECK (
        (provider = 'fortid' AND flow = 'verification') OR
        (provider = 'marksign' AND flow IN (
            'smartid_identification', 'smartid_signing', 'smartid_hash_signing',
            'mobileid_identification', 'mobileid_signing', 'mobileid_hash_signing'))),
    CONSTRAINT sessions_fortid_uuid_check CHECK (
        provider <> 'fortid' OR
        external_id ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$')
);
-- The sweep looks for sessions that have no poll job yet.
CREATE INDEX sessions_unqueued_idx ON sessions (created_at) WHERE state = 'pending' AND poll_job_id IS NULL;
CREATE INDEX sessions_state_created_idx ON sessions (state, created_at);
CREATE INDEX sessions_subscriber_idx ON sessions (subscriber, created_at);

-- A new session wakes the worker at once; the worker's sweep catches any
-- notification missed while no worker listened.
CREATE FUNCTION session_registered_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify(TG_TABLE_SCHEMA || '.session_registered', '');
    RETURN NULL;
END;
$$;
CREATE TRIGGER sessions_registered_notify
    AFTER INSERT ON sessions
    FOR EACH STATEMENT EXECUTE FUNCTION session_registered_notify();

CREATE TABLE deliveries (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    webhook_id    text NOT NULL UNIQUE CHECK (webhook_id ~ '^msg_[A-Za-z0-9]+$'),
    session_id    uuid REFERENCES sessions (id) ON DELETE SET NULL,
    subscriber    text NOT NULL REFERENCES subscribers (name) ON UPDATE CASCADE,
    event_type    text NOT NULL CHECK (event_type ~ '^[a-z]+(\.[a-z_]+)+$'),
    payload       jsonb NOT NULL,
    state         text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'succeeded', 'failed', 'paused')),
    attempts      integer NOT NULL DEFAULT 0,
    last_status   integer,
    last_error    text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    delivered_at  timestamptz,
    redacted_at   timestamptz
);
-- One delivery per session and event: a repeated terminal handoff cannot
-- create a second message.
CREATE UNIQUE INDEX deliveries_session_event_key ON deliveries (session_id, event_type) WHERE session_id IS NOT NULL;
CREATE INDEX deliveries_subscriber_state_idx ON deliveries (subscriber, state, created_at);

CREATE TABLE delivery_attempts (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    delivery_id   bigint NOT NULL REFERENCES deliveries (id) ON DELETE CASCADE,
    subscriber    text NOT NULL,
    attempt       integer NOT NULL,
    attempted_at  timestamptz NOT NULL,
    duration_ms   double precision NOT NULL,
    url           text NOT NULL,
    status_code   integer,
    error         text,
    response_body text
);
CREATE INDEX delivery_attempts_delivery_idx ON delivery_attempts (delivery_id, attempted_at);
CREATE INDEX delivery_attempts_subscriber_idx ON delivery_attempts (subscriber, attempted_at);
-- +goose StatementEnd

-- +goose Down
-- +goose StatementBegin
DROP TABLE delivery_attempts;
DROP TABLE deliveries;
DROP TRIGGER sessions_registered_notify ON sessions;
DROP FUNCTION session_registered_notify();
DROP TABLE sessions;
DROP TABLE subscriber_secrets;
DROP TABLE subscribers;
-- +goose StatementEnd
