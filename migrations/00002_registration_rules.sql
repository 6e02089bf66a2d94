-- Registration refuses what the worker cannot do, and a session's identity
-- never changes after registration (docs/INVARIANTS.md, I5).
--
-- Rules checked when a row is inserted (sessions_guard_insert):
--   * pollhook's own columns (state, poll_job_id, outcome, answer, error,
--     finished_at, redacted_at, created_at, updated_at) are left to their
--     defaults: an app that sets one gets an error naming the column
--     (constraint sessions_owned_columns);
--   * deadline is NULL or a finite time after created_at
--     (sessions_deadline_check); cancel_requested_at, on insert and update,
--     is NULL or finite (sessions_cancel_requested_at_check);
--   * a Marksign token is at most 128 characters, the client's limit
--     (sessions_marksign_token_check; internal/session.MarksignTokenMaxLen);
--   * a FortID session id is stored in lower case, so the same session in
--     another case conflicts with the first (sessions_provider_external_id_key).
-- Rules checked on every update (sessions_guard_update):
--   * identity columns (provider, flow, external_id, account, locale,
--     subscriber, app_ref, created_at) never change; subscriber follows a
--     rename of its subscriber (ON UPDATE CASCADE) only
--     (sessions_identity_immutable);
--   * apps may change cancel_requested_at and updated_at, and link a pending
--     session to its poll job (poll_job_id from NULL); everything else is
--     written by pollhook, whose statements set the transaction-local
--     setting pollhook.internal (sessions_owned_columns);
--   * a terminal state is final (sessions_state_final).
-- The rules are triggers rather than CHECK constraints so that rows
-- registered before this migration stay readable and writable by the
-- worker; identity being immutable, a rule checked at insert holds for the
-- row's whole life.
--
-- pollhook.internal is for pollhook's own statements, test fixtures and
-- restores from backup, never for apps.

-- +goose Up
-- +goose StatementBegin

-- Canonicalise the FortID ids registered so far. Where the same id exists
-- in several cases (already two sessions), the lower-case row (or else the
-- oldest) is canonicalised and the others keep their case.
UPDATE sessions s SET external_id = lower(s.external_id)
FROM (
    SELECT DISTINCT ON (lower(external_id)) id
    FROM sessions
    WHERE provider = 'fortid'
    ORDER BY lower(external_id), (external_id = lower(external_id)) DESC, created_at, id
) AS keep
WHERE s.id = keep.id AND s.external_id <> lower(s.external_id);

CREATE FUNCTION sessions_guard_insert() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    col text;
BEGIN
    IF NEW.provider = 'fortid' THEN
        NEW.external_id := lower(NEW.external_id);
    END IF;
    IF NEW.provider = 'marksign' AND length(NEW.external_id) > 128 THEN
        RAISE EXCEPTION 'sessions: a Marksign session token is at most 128 characters (got %)', length(NEW.external_id)
            USING ERRCODE = 'check_violation', CONSTRAINT = 'sessions_marksign_token_check', COLUMN = 'external_id';
    END IF;
    IF NEW.deadline IS NOT NULL AND NOT isfinite(NEW.deadline) THEN
        RAISE EXCEPTION 'sessions: deadline must be a finite time (got %)', NEW.deadline
            USING ERRCODE = 'check_violation', CONSTRAINT = 'sessions_deadline_check', COLUMN = 'deadline';
    END IF;
    IF NEW.cancel_requested_at IS NOT NULL AND NOT isfinite(NEW.cancel_requested_at) THEN
        RAISE EXCEPTION 'sessions: cancel_requested_at must be a finite time'
            USING ERRCODE = 'check_violation', CONSTRAINT = 'sessions_cancel_requested_at_check', COLUMN = 'cancel_requested_at';
    END IF;
    IF coalesce(current_setting('pollhook.internal', true), '') = 'on' THEN
        RETURN NEW;
    END IF;
    col := CASE
        WHEN NEW.state IS DISTINCT FROM 'pending' THEN 'state'
        WHEN NEW.poll_job_id IS NOT NULL THEN 'poll_job_id'
        WHEN NEW.outcome IS NOT NULL THEN 'outcome'
        WHEN NEW.answer IS NOT NULL THEN 'answer'
        WHEN NEW.error IS NOT NULL THEN 'error'
        WHEN NEW.finished_at IS NOT NULL THEN 'finished_at'
        WHEN NEW.redacted_at IS NOT NULL THEN 'redacted_at'
        WHEN NEW.created_at IS DISTINCT FROM now() THEN 'created_at'
        WHEN NEW.updated_at IS DISTINCT FROM now() THEN 'updated_at'
    END;
    IF col IS NOT NULL THEN
        RAISE EXCEPTION 'sessions.% is written by pollhook: register a session without it', col
            USING ERRCODE = 'check_violation', CONSTRAINT = 'sessions_owned_columns', COLUMN = col,
                  HINT = 'insert provider, flow, external_id, subscriber and optionally account, locale, app_ref, deadline';
    END IF;
    IF NEW.deadline IS NOT NULL AND NEW.deadline <= NEW.created_at THEN
        RAISE EXCEPTION 'sessions: deadline % is not after the registration time %', NEW.deadline, NEW.created_at
            USING ERRCODE = 'check_violation', CONSTRAINT = 'sessions_deadline_check', COLUMN = 'deadline';
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER sessions_guard_insert
    BEFORE INSERT ON sessions
    FOR EACH ROW EXECUTE FUNCTION sessions_guard_insert();

CREATE FUNCTION sessions_guard_update() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    col text;
BEGIN
    col := CASE
        WHEN NEW.provider IS DISTINCT FROM OLD.provider THEN 'provider'
        WHEN NEW.flow IS DISTINCT FROM OLD.flow THEN 'flow'
        WHEN NEW.external_id IS DISTINCT FROM OLD.external_id THEN 'external_id'
        WHEN NEW.account IS DISTINCT FROM OLD.account THEN 'account'
        WHEN NEW.locale IS DISTINCT FROM OLD.locale THEN 'locale'
        -- A rename of the subscriber cascades from inside its foreign key's
        -- trigger: the only way the subscriber column may change.
        WHEN NEW.subscriber IS DISTINCT FROM OLD.subscriber AND pg_trigger_depth() < 2 THEN 'subscriber'
        WHEN NEW.app_ref IS DISTINCT FROM OLD.app_ref THEN 'app_ref'
        WHEN NEW.created_at IS DISTINCT FROM OLD.created_at THEN 'created_at'
    END;
    IF col IS NOT NULL THEN
        RAISE EXCEPTION 'sessions.% cannot change after registration: register a new session instead', col
            USING ERRCODE = 'check_violation', CONSTRAINT = 'sessions_identity_immutable', COLUMN = col;
    END IF;
    IF OLD.state NOT IN ('pending', 'polling') AND NEW.state IS DISTINCT FROM OLD.state THEN
        RAISE EXCEPTION 'sessions: session % already ended as %', OLD.id, OLD.state
            USING ERRCODE = 'check_violation', CONSTRAINT = 'sessions_state_final', COLUMN = 'state';
    END IF;
    IF NEW.cancel_requested_at IS NOT NULL AND NOT isfinite(NEW.cancel_requested_at) THEN
        RAISE EXCEPTION 'sessions: cancel_requested_at must be a finite time'
            USING ERRCODE = 'check_violation', CONSTRAINT = 'sessions_cancel_requested_at_check', COLUMN = 'cancel_requested_at';
    END IF;
    IF coalesce(current_setting('pollhook.internal', true), '') = 'on' THEN
        RETURN NEW;
    END IF;
    col := CASE
        WHEN NEW.state IS DISTINCT FROM OLD.state THEN 'state'
        WHEN NEW.poll_job_id IS DISTINCT FROM OLD.poll_job_id
            AND NOT (OLD.poll_job_id IS NULL AND OLD.state = 'pending') THEN 'poll_job_id'
        WHEN NEW.outcome IS DISTINCT FROM OLD.outcome THEN 'outcome'
        WHEN NEW.answer IS DISTINCT FROM OLD.answer THEN 'answer'
        WHEN NEW.error IS DISTINCT FROM OLD.error THEN 'error'
        WHEN NEW.deadline IS DISTINCT FROM OLD.deadline THEN 'deadline'
        WHEN NEW.finished_at IS DISTINCT FROM OLD.finished_at THEN 'finished_at'
        WHEN NEW.redacted_at IS DISTINCT FROM OLD.redacted_at THEN 'redacted_at'
    END;
    IF col IS NOT NULL THEN
        RAISE EXCEPTION 'sessions.% is written by pollhook: apps may only set cancel_requested_at', col
            USING ERRCODE = 'check_violation', CONSTRAINT = 'sessions_owned_columns', COLUMN = col;
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER sessions_guard_update
    BEFORE UPDATE ON sessions
    FOR EACH ROW EXECUTE FUNCTION sessions_guard_update();
-- +goose StatementEnd

-- +goose Down
-- +goose StatementBegin
DROP TRIGGER sessions_guard_update ON sessions;
DROP FUNCTION sessions_guard_update();
DROP TRIGGER sessions_guard_insert ON sessions;
DROP FUNCTION sessions_guard_insert();
-- +goose StatementEnd
