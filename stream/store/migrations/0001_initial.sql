-- 0001 initial: the queryable record of decisions, ledger state, alerts, chains, forecasts, dead letters.
-- Money is bigint fen, times are timestamptz. Applied by `treasury migrate` in one transaction.

-- The effective decision of each payment (one row per payment_id; see stream/store/merge.py).
CREATE TABLE decisions (
    payment_id          text        PRIMARY KEY,
    outcome             text        NOT NULL CHECK (outcome IN ('accepted', 'rejected', 'held')),
    reasons             jsonb       NOT NULL,
    indicator_id        text,
    available_after_fen bigint,
    decided_at          timestamptz NOT NULL,
    provisional         boolean     NOT NULL,  -- only reason V001: a valid instruction replaces it
    written_at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX decisions_indicator ON decisions (indicator_id);
CREATE INDEX decisions_outcome ON decisions (outcome, decided_at);

-- Every effective decision a payment has had (held, then released or rejected), append-only.
CREATE TABLE decision_history (
    payment_id          text        NOT NULL,
    decided_at          timestamptz NOT NULL,
    outcome             text        NOT NULL CHECK (outcome IN ('accepted', 'rejected', 'held')),
    reasons             jsonb       NOT NULL,
    indicator_id        text,
    available_after_fen bigint,
    PRIMARY KEY (payment_id, decided_at, outcome)
);

-- Each indicator's ledger: available = amount - allocated - reserved - spent, never below zero.
CREATE TABLE ledger_state (
    indicator_id  text        PRIMARY KEY,
    amount_fen    bigint      NOT NULL CHECK (amount_fen >= 0),
    allocated_fen bigint      NOT NULL CHECK (allocated_fen >= 0),
    reserved_fen  bigint      NOT NULL CHECK (reserved_fen >= 0),
    spent_fen     bigint      NOT NULL CHECK (spent_fen >= 0),
    available_fen bigint      GENERATED ALWAYS AS (amount_fen - allocated_fen - reserved_fen - spent_fen) STORED
                              CHECK (available_fen >= 0),
    updated_at    timestamptz NOT NULL
);

-- The current state of each alert (alert_id is stable for the same code and subject).
CREATE TABLE alerts (
    alert_id     text        PRIMARY KEY,
    code         text        NOT NULL,
    severity     text        NOT NULL CHECK (severity IN ('info', 'warning', 'critical')),
    subject_kind text        NOT NULL,
    subject_id   text        NOT NULL,
    status       text        NOT NULL CHECK (status IN ('open', 'acknowledged', 'resolved')),
    message      jsonb       NOT NULL,  -- {"zh": ..., "en": ...}
    evidence     jsonb       NOT NULL,
    opened_at    timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL
);
CREATE INDEX alerts_status ON alerts (status, severity, updated_at DESC);
CREATE INDEX alerts_subject ON alerts (subject_kind, subject_id);

-- Every state an alert went through, append-only.
CREATE TABLE alert_history (
    alert_id   text        NOT NULL,
    updated_at timestamptz NOT NULL,
    status     text        NOT NULL CHECK (status IN ('open', 'acknowledged', 'resolved')),
    evidence   jsonb       NOT NULL,
    PRIMARY KEY (alert_id, updated_at, status)
);

-- Input that could not be applied; the key makes a replayed offset a no-op.
CREATE TABLE deadletters (
    source        text        NOT NULL,
    "offset"      bigint      NOT NULL CHECK ("offset" >= 0),
    error_code    text        NOT NULL,
    error         text        NOT NULL,
    payment_id    text,
    raw           text        NOT NULL,  -- up to 64 KiB of the line; NUL shown as U+FFFD
    raw_bytes     bigint      NOT NULL CHECK (raw_bytes >= 0),
    raw_truncated boolean     NOT NULL,
    raw_sha256    text        NOT NULL CHECK (raw_sha256 ~ '^[0-9a-f]{64}$'),
    written_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (source, "offset", raw_sha256)
);
CREATE INDEX deadletters_payment ON deadletters (payment_id) WHERE payment_id IS NOT NULL;
CREATE INDEX deadletters_code ON deadletters (error_code);

-- A treasury's cash forecast per event-time day (the wire model as JSON: amounts as yuan strings).
CREATE TABLE forecasts (
    treasury_code text        NOT NULL,
    as_of         date        NOT NULL,
    payload       jsonb       NOT NULL,
    updated_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (treasury_code, as_of)
);

-- Each fund chain's latest state (the wire model as JSON).
CREATE TABLE chains (
    root       text        PRIMARY KEY,
    payload    jsonb       NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
