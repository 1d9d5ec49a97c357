-- 0004 operator actions: who changed an alert (action, actor on every state and history row), and
-- an append-only audit of every write through the API (who, role, what, when, outcome).

ALTER TABLE alerts ADD COLUMN action text NOT NULL DEFAULT 'opened';
ALTER TABLE alerts ADD COLUMN actor text NOT NULL DEFAULT 'engine';
ALTER TABLE alerts ALTER COLUMN action DROP DEFAULT;
ALTER TABLE alerts ALTER COLUMN actor DROP DEFAULT;
CREATE INDEX alerts_opened ON alerts (opened_at DESC, alert_id COLLATE "C");
CREATE INDEX alerts_code ON alerts (code);

-- Rows kept from before: their action is not known.
ALTER TABLE alert_history ADD COLUMN action text NOT NULL DEFAULT 'unrecorded';
ALTER TABLE alert_history ADD COLUMN actor text NOT NULL DEFAULT 'engine';
ALTER TABLE alert_history ALTER COLUMN action DROP DEFAULT;
ALTER TABLE alert_history ALTER COLUMN actor DROP DEFAULT;
-- An acknowledgement and an update at the same event time are two entries, not one.
ALTER TABLE alert_history DROP CONSTRAINT alert_history_pkey;
ALTER TABLE alert_history ADD PRIMARY KEY (alert_id, updated_at, status, action);

-- The held-payment queue reads held decisions in arrival order.
CREATE INDEX decisions_held ON decisions (decided_at, payment_id) WHERE outcome = 'held';

CREATE TABLE operator_audit (
    audit_id   bigserial   PRIMARY KEY,
    at         timestamptz NOT NULL,  -- the wall-clock time of the request (never used by the engine)
    actor      text        NOT NULL,
    role       text        NOT NULL CHECK (role IN ('operator', 'supervisor', 'viewer')),
    action     text        NOT NULL,
    target     text        NOT NULL,
    outcome    text        NOT NULL CHECK (outcome IN ('done', 'refused', 'failed')),
    status     smallint    NOT NULL,  -- the HTTP status answered
    detail     text        NOT NULL
);
CREATE INDEX operator_audit_target ON operator_audit (target, audit_id);

-- Append-only: an audit row is never changed or removed.
CREATE FUNCTION operator_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'operator_audit is append-only';
END $$;
CREATE TRIGGER operator_audit_append_only BEFORE UPDATE OR DELETE ON operator_audit
    FOR EACH ROW EXECUTE FUNCTION operator_audit_append_only();
