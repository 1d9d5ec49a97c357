"""The statements of the PostgreSQL store: batched upserts over unnest() arrays, rules as in `merge`.

Each write statement takes one array per column, in the order of the matching `rows.*_COLUMNS`.
"""

from stream.store import rows

_DECISION_INSERT = """
INSERT INTO decisions AS d (payment_id, outcome, reasons, indicator_id, available_after_fen, decided_at, provisional)
SELECT p, o, r::jsonb, i, a, t, v
FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::timestamptz[], $7::boolean[])
    AS u(p, o, r, i, a, t, v)"""

# merge.supersedes: key = (not provisional, decided_at, held 0 / else 1); ties keep the stored row.
UPSERT_DECISIONS = _DECISION_INSERT + """
ON CONFLICT (payment_id) DO UPDATE SET
    outcome = excluded.outcome, reasons = excluded.reasons, indicator_id = excluded.indicator_id,
    available_after_fen = excluded.available_after_fen, decided_at = excluded.decided_at,
    provisional = excluded.provisional, written_at = now()
WHERE (NOT excluded.provisional, excluded.decided_at, CASE excluded.outcome WHEN 'held' THEN 0 ELSE 1 END)
    > (NOT d.provisional, d.decided_at, CASE d.outcome WHEN 'held' THEN 0 ELSE 1 END)"""

# Redelivered copies only fill an empty slot.
FILL_DECISIONS = _DECISION_INSERT + "\nON CONFLICT (payment_id) DO NOTHING"

INSERT_DECISION_HISTORY = """
INSERT INTO decision_history (payment_id, decided_at, outcome, reasons, indicator_id, available_after_fen)
SELECT p, t, o, r::jsonb, i, a
FROM unnest($1::text[], $2::timestamptz[], $3::text[], $4::text[], $5::text[], $6::bigint[]) AS u(p, t, o, r, i, a)
ON CONFLICT DO NOTHING"""

# merge.alert_supersedes: the state with the greater or equal updated_at wins.
UPSERT_ALERTS = """
INSERT INTO alerts AS a (alert_id, code, severity, subject_kind, subject_id, status, message, evidence, opened_at,
                         updated_at)
SELECT k, c, s, sk, si, st, m::jsonb, e::jsonb, o, u
FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[],
            $9::timestamptz[], $10::timestamptz[]) AS x(k, c, s, sk, si, st, m, e, o, u)
ON CONFLICT (alert_id) DO UPDATE SET
    code = excluded.code, severity = excluded.severity, subject_kind = excluded.subject_kind,
    subject_id = excluded.subject_id, status = excluded.status, message = excluded.message,
    evidence = excluded.evidence, opened_at = excluded.opened_at, updated_at = excluded.updated_at
WHERE excluded.updated_at >= a.updated_at"""

INSERT_ALERT_HISTORY = """
INSERT INTO alert_history (alert_id, updated_at, status, evidence)
SELECT k, u, s, e::jsonb FROM unnest($1::text[], $2::timestamptz[], $3::text[], $4::text[]) AS x(k, u, s, e)
ON CONFLICT DO NOTHING"""

INSERT_DEADLETTERS = """
INSERT INTO deadletters (source, "offset", error_code, error, payment_id, raw, raw_bytes, raw_truncated, raw_sha256)
SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[], $7::bigint[],
                     $8::boolean[], $9::text[])
ON CONFLICT DO NOTHING"""

UPSERT_FORECASTS = """
INSERT INTO forecasts (treasury_code, as_of, payload)
SELECT c, d, p::jsonb FROM unnest($1::text[], $2::date[], $3::text[]) AS x(c, d, p)
ON CONFLICT (treasury_code, as_of) DO UPDATE SET payload = excluded.payload, updated_at = now()"""

UPSERT_CHAINS = """
INSERT INTO chains (root, payload)
SELECT r, p::jsonb FROM unnest($1::text[], $2::text[]) AS x(r, p)
ON CONFLICT (root) DO UPDATE SET payload = excluded.payload, updated_at = now()"""

# merge.ledger_supersedes: the greater (version, updated_at) wins, ties the later write.
UPSERT_LEDGER = """
INSERT INTO ledger_state AS l (indicator_id, amount_fen, allocated_fen, reserved_fen, spent_fen, updated_at, version)
SELECT * FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::bigint[], $5::bigint[], $6::timestamptz[],
                     $7::bigint[])
ON CONFLICT (indicator_id) DO UPDATE SET
    amount_fen = excluded.amount_fen, allocated_fen = excluded.allocated_fen, reserved_fen = excluded.reserved_fen,
    spent_fen = excluded.spent_fen, updated_at = excluded.updated_at, version = excluded.version
WHERE (excluded.version, excluded.updated_at) >= (l.version, l.updated_at)"""

# Each table of merge.Grouped: its statement and the columns of its array parameters.
WRITES = {
    "decisions": (UPSERT_DECISIONS, rows.DECISION_COLUMNS),
    "fill_only": (FILL_DECISIONS, rows.DECISION_COLUMNS),
    "decision_history": (INSERT_DECISION_HISTORY, rows.DECISION_HISTORY_COLUMNS),
    "alerts": (UPSERT_ALERTS, rows.ALERT_COLUMNS),
    "alert_history": (INSERT_ALERT_HISTORY, rows.ALERT_HISTORY_COLUMNS),
    "deadletters": (INSERT_DEADLETTERS, rows.DEADLETTER_COLUMNS),
    "forecasts": (UPSERT_FORECASTS, rows.FORECAST_COLUMNS),
    "chains": (UPSERT_CHAINS, rows.CHAIN_COLUMNS),
}
JSON_COLUMNS = frozenset({"reasons", "message", "evidence", "payload"})

SELECT_DECISION = """
SELECT payment_id, outcome, reasons, indicator_id, available_after_fen, decided_at, provisional
FROM decisions WHERE payment_id = $1"""
SELECT_DECISION_HISTORY = """
SELECT payment_id, decided_at, outcome, reasons, indicator_id, available_after_fen
FROM decision_history WHERE payment_id = $1 ORDER BY decided_at, outcome"""
SELECT_ALERTS = """
SELECT alert_id, code, severity, subject_kind, subject_id, status, message, evidence, opened_at, updated_at
FROM alerts WHERE $1::text IS NULL OR status = $1 ORDER BY alert_id COLLATE "C" """
SELECT_ALERT_HISTORY = """
SELECT alert_id, updated_at, status, evidence FROM alert_history WHERE alert_id = $1 ORDER BY updated_at, status"""
SELECT_FORECAST = "SELECT treasury_code, as_of, payload FROM forecasts WHERE treasury_code = $1 AND as_of = $2"
SELECT_CHAIN = "SELECT root, payload FROM chains WHERE root = $1"
SELECT_LEDGER = """
SELECT indicator_id, amount_fen, allocated_fen, reserved_fen, spent_fen, updated_at, version
FROM ledger_state WHERE indicator_id = $1"""
