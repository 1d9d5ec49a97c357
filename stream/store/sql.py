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
                         updated_at, action, actor)
SELECT k, c, s, sk, si, st, m::jsonb, e::jsonb, o, u, ac, ar
FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[],
            $9::timestamptz[], $10::timestamptz[], $11::text[], $12::text[])
    AS x(k, c, s, sk, si, st, m, e, o, u, ac, ar)
ON CONFLICT (alert_id) DO UPDATE SET
    code = excluded.code, severity = excluded.severity, subject_kind = excluded.subject_kind,
    subject_id = excluded.subject_id, status = excluded.status, message = excluded.message,
    evidence = excluded.evidence, opened_at = excluded.opened_at, updated_at = excluded.updated_at,
    action = excluded.action, actor = excluded.actor
WHERE excluded.updated_at >= a.updated_at"""

INSERT_ALERT_HISTORY = """
INSERT INTO alert_history (alert_id, updated_at, status, evidence, action, actor)
SELECT k, u, s, e::jsonb, ac, ar
FROM unnest($1::text[], $2::timestamptz[], $3::text[], $4::text[], $5::text[], $6::text[]) AS x(k, u, s, e, ac, ar)
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

UPSERT_CHAIN_NODES = """
INSERT INTO chain_nodes AS n (indicator_id, root, parent_indicator_id, treasury_code, agency_code, amount_fen,
                              allocated_fen, reserved_fen, spent_fen, issued_at, version)
SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[], $7::bigint[],
                     $8::bigint[], $9::bigint[], $10::timestamptz[], $11::bigint[])
ON CONFLICT (indicator_id) DO UPDATE SET
    root = excluded.root, parent_indicator_id = excluded.parent_indicator_id,
    treasury_code = excluded.treasury_code, agency_code = excluded.agency_code, amount_fen = excluded.amount_fen,
    allocated_fen = excluded.allocated_fen, reserved_fen = excluded.reserved_fen, spent_fen = excluded.spent_fen,
    issued_at = excluded.issued_at, version = excluded.version, updated_at = now()
WHERE excluded.version >= n.version"""

UPSERT_CHAIN_PAYMENTS = """
INSERT INTO chain_payments AS p (payment_id, indicator_id, root, payee_name, payee_account, payee_kind, amount_fen,
                                 status, stage)
SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::bigint[],
                     $8::text[], $9::smallint[])
ON CONFLICT (payment_id) DO UPDATE SET
    indicator_id = excluded.indicator_id, root = excluded.root, payee_name = excluded.payee_name,
    payee_account = excluded.payee_account, payee_kind = excluded.payee_kind, amount_fen = excluded.amount_fen,
    status = excluded.status, stage = excluded.stage, updated_at = now()
WHERE excluded.stage >= p.stage"""

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
    "chain_nodes": (UPSERT_CHAIN_NODES, rows.CHAIN_NODE_COLUMNS),
    "chain_payments": (UPSERT_CHAIN_PAYMENTS, rows.CHAIN_PAYMENT_COLUMNS),
}
JSON_COLUMNS = frozenset({"reasons", "message", "evidence", "payload"})

SELECT_DECISION = """
SELECT payment_id, outcome, reasons, indicator_id, available_after_fen, decided_at, provisional
FROM decisions WHERE payment_id = $1"""
SELECT_DECISION_HISTORY = """
SELECT payment_id, decided_at, outcome, reasons, indicator_id, available_after_fen
FROM decision_history WHERE payment_id = $1 ORDER BY decided_at, outcome"""
_ALERT = "alert_id, code, severity, subject_kind, subject_id, status, message, evidence, opened_at, updated_at, " \
         "action, actor"
SELECT_ALERTS = f"""
SELECT {_ALERT} FROM alerts WHERE $1::text IS NULL OR status = $1 ORDER BY alert_id COLLATE "C" """  # noqa: S608
SELECT_ALERT = f"SELECT {_ALERT} FROM alerts WHERE alert_id = $1"  # noqa: S608
# merge.alert_history_order: by time, then in lifecycle order within one instant.
SELECT_ALERT_HISTORY = """
SELECT alert_id, updated_at, status, evidence, action, actor FROM alert_history WHERE alert_id = $1
ORDER BY updated_at, CASE status WHEN 'open' THEN 0 WHEN 'acknowledged' THEN 1 ELSE 2 END, action COLLATE "C" """
# The treasury an alert is about: its subject, the subject indicator's, or the subject payment's indicator's.
_IN_TREASURY = """(
    (a.subject_kind = 'treasury' AND a.subject_id = $4)
    OR (a.subject_kind = 'indicator' AND EXISTS (
        SELECT 1 FROM chain_nodes n WHERE n.indicator_id = a.subject_id AND n.treasury_code = $4))
    OR (a.subject_kind = 'payment' AND EXISTS (
        SELECT 1 FROM decisions d JOIN chain_nodes n ON n.indicator_id = d.indicator_id
        WHERE d.payment_id = a.subject_id AND n.treasury_code = $4)))"""
# A page of alerts, newest occurrence first; the cursor is the last row's (opened_at, alert_id).
SELECT_ALERT_PAGE = f"""
SELECT {_ALERT} FROM alerts a
WHERE ($1::text IS NULL OR a.status = $1) AND ($2::text IS NULL OR a.code = $2)
  AND ($3::text IS NULL OR a.severity = $3) AND ($4::text IS NULL OR {_IN_TREASURY})
  AND ($5::timestamptz IS NULL OR a.opened_at < $5 OR (a.opened_at = $5 AND a.alert_id COLLATE "C" > $6))
ORDER BY a.opened_at DESC, a.alert_id COLLATE "C" LIMIT $7"""  # noqa: S608 - fixed columns
# Held payments in arrival order (decided_at, payment_id), with their treasury and amount when known.
SELECT_HELD_PAGE = """
SELECT d.payment_id, d.outcome, d.reasons, d.indicator_id, d.available_after_fen, d.decided_at, d.provisional,
       n.treasury_code, p.amount_fen, p.payee_name, p.payee_account, p.payee_kind
FROM decisions d
LEFT JOIN chain_nodes n ON n.indicator_id = d.indicator_id
LEFT JOIN chain_payments p ON p.payment_id = d.payment_id
WHERE d.outcome = 'held' AND ($1::text IS NULL OR n.treasury_code = $1)
  AND ($2::timestamptz IS NULL OR d.decided_at > $2 OR (d.decided_at = $2 AND d.payment_id COLLATE "C" > $3))
ORDER BY d.decided_at, d.payment_id COLLATE "C" LIMIT $4"""
INSERT_AUDIT = """
INSERT INTO operator_audit (at, actor, role, action, target, outcome, status, detail)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING audit_id"""
SELECT_AUDIT = """
SELECT audit_id, at, actor, role, action, target, outcome, status, detail FROM operator_audit
WHERE $1::text IS NULL OR target = $1 ORDER BY audit_id DESC LIMIT $2"""
SELECT_FORECAST = """
SELECT treasury_code, as_of, payload FROM forecasts
WHERE treasury_code = $1 AND ($2::date IS NULL OR as_of = $2) ORDER BY as_of DESC LIMIT 1"""
_NODE = "indicator_id, root, parent_indicator_id, treasury_code, agency_code, amount_fen, allocated_fen, " \
        "reserved_fen, spent_fen, issued_at"
_C_NODE = ", ".join("c." + name.strip() for name in _NODE.split(","))
_N_NODE = ", ".join("n." + name.strip() for name in _NODE.split(","))
_PAYMENT = "payment_id, indicator_id, root, payee_name, payee_account, payee_kind, amount_fen, status"
# A chain walked down from its top indicators along the parent links (bounded depth: a bad link
# cannot recurse forever), then the payments made from the nodes found.
SELECT_CHAIN_NODES = f"""
WITH RECURSIVE tree AS (
    SELECT {_NODE}, 0 AS depth FROM chain_nodes WHERE root = $1 AND parent_indicator_id IS NULL
    UNION ALL
    SELECT {_C_NODE}, t.depth + 1
    FROM chain_nodes c JOIN tree t ON c.parent_indicator_id = t.indicator_id WHERE t.depth < 64
)
SELECT {_NODE} FROM tree ORDER BY depth, indicator_id COLLATE "C" """  # noqa: S608 - fixed columns
SELECT_CHAIN_PAYMENTS = f"""
SELECT {_PAYMENT} FROM chain_payments WHERE indicator_id = ANY($1::text[]) ORDER BY payment_id COLLATE "C" """  # noqa: S608
# A payment's indicator and every indicator above it, the payment's own first.
SELECT_PAYMENT_PATH = f"""
WITH RECURSIVE up AS (
    SELECT {_N_NODE}, 0 AS hops
    FROM chain_payments p JOIN chain_nodes n ON n.indicator_id = p.indicator_id WHERE p.payment_id = $1
    UNION ALL
    SELECT {_N_NODE}, up.hops + 1
    FROM chain_nodes n JOIN up ON n.indicator_id = up.parent_indicator_id WHERE up.hops < 64
)
SELECT {_NODE} FROM up ORDER BY hops"""  # noqa: S608
SELECT_CHAIN_PAYMENT = f"SELECT {_PAYMENT} FROM chain_payments WHERE payment_id = $1"  # noqa: S608
SELECT_LEDGER = """
SELECT indicator_id, amount_fen, allocated_fen, reserved_fen, spent_fen, updated_at, version
FROM ledger_state WHERE indicator_id = $1"""
