"""Hostile input, generated: every decoder and the engine take any bytes without an exception.

Random bytes, random JSON, valid events with one field made hostile (boundary amounts, unicode
with emoji and right-to-left marks, huge strings, deep nesting, wrong types, missing and unknown
fields). Invalid input must become data: InvalidInput from the decoders, a dead letter (and a
V001 decision for a payment that names its id) from the engine; never another exception.
Examples are bounded so the whole file runs in seconds in CI.
"""

import contextlib
import json
from decimal import Decimal
from typing import Any

import orjson
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from models.codec import INPUT_TYPES, decode_data, decode_line, decode_output, encode, payment_hint
from models.errors import InvalidInput
from models.outputs import DeadLetter, Decision
from stream.engine import Engine
from stream.kafka.codecs import StateCodecError, loads_state, loads_step
from stream.kafka.persist import decode_batch
from stream.kafka.topics import Topics, key_of, sequence_of
from stream.settings import Settings
from tests.unit.conftest import (
    BALANCE_DEFAULTS,
    BLOCK_DEFAULTS,
    FLOW_DEFAULTS,
    INDICATOR_DEFAULTS,
    PAYMENT_DEFAULTS,
    PROJECT_DEFAULTS,
    SETTLEMENT_DEFAULTS,
)

FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SMALL = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
RULES = Settings().load_rules()
MAX_LINE = 4096

VALID: dict[str, dict[str, Any]] = {
    "indicator": INDICATOR_DEFAULTS,
    "project": PROJECT_DEFAULTS,
    "payment": PAYMENT_DEFAULTS,
    "settlement": SETTLEMENT_DEFAULTS,
    "treasury_balance": BALANCE_DEFAULTS,
    "treasury_flow": FLOW_DEFAULTS,
    "payee_block": BLOCK_DEFAULTS,
    "clock": {"now": "2022-03-05T00:00:00+08:00"},
}

# Text that has broken parsers and terminals: RTL override, emoji, zero-width, combining marks,
# CJK, NUL and control characters, lone quotes and backslashes.
NASTY_TEXT = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["\u202e\u0645\u0631\u062d\u0628\u0627", "💸🏦\u200d👩‍💻", "e\u0301\u0301\u0301", "国库集中支付",
                     "\x00", "\x1f\x7f", "'\";--", "\\u0000", "=cmd|' /C calc'!A0", "\ufeff", " ", ""]),
    st.sampled_from([300, 1400, 70_000]).map(lambda n: "长" * n),  # huge: around and past the line limit
)
# Amounts at and around the contract's edges (plain digits, ≤ 15 integer digits, ≤ 2 decimals, > 0).
AMOUNT_TEXT = st.one_of(
    st.sampled_from(["0", "0.00", "0.01", "1", "-1", "-0.01", "999999999999999.99", "1000000000000000",
                     "1.234", "1e3", "+1", " 1", "1 ", "１２", "1.", ".5", "01.10", "NaN", "Infinity", "", "0x10",
                     "1_000", "١٢٣"]),
    st.decimals(allow_nan=False, allow_infinity=False, places=2).map(str),
    st.decimals(allow_nan=False, allow_infinity=False).map(str),
    st.from_regex(r"-?[0-9]{1,17}(\.[0-9]{0,3})?", fullmatch=True),
)
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False, allow_infinity=False),
                    NASTY_TEXT)
JSON_VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=20)
DEEP_MARK = "<deep nesting>"
DEEP = st.integers(1, 3000).map(lambda depth: "[" * depth + "]" * depth)


@st.composite
def hostile_events(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    """A valid event of some type with one field made hostile (or dropped, or one added)."""
    kind = draw(st.sampled_from(sorted(VALID)))
    data = dict(VALID[kind])
    field = draw(st.sampled_from(sorted(data)))
    action = draw(st.sampled_from(["amount", "text", "json", "drop", "extra", "deep", "keep"]))
    if action == "amount":
        data[field if "amount" not in data else "amount"] = draw(AMOUNT_TEXT)
    elif action == "text":
        data[field] = draw(NASTY_TEXT)
    elif action == "json":
        data[field] = draw(JSON_VALUES)
    elif action == "drop":
        del data[field]
    elif action == "extra":
        data[draw(st.text(min_size=1, max_size=10))] = draw(JSON_VALUES)
    elif action == "deep":
        data[field] = DEEP_MARK if draw(st.booleans()) else [[[[[]]]]]
    return kind, data


def _dumps(value: Any) -> bytes:
    """UTF-8 JSON; integers beyond 64 bits and lone surrogates (which orjson refuses) escaped by
    json; the deep-nesting mark replaced by 2,000 nested arrays (no encoder nests that deep)."""
    try:
        raw = orjson.dumps(value)
    except TypeError:
        raw = json.dumps(value).encode()
    return raw.replace(b'"' + DEEP_MARK.encode() + b'"', b"[" * 2000 + b"]" * 2000)


def _line(kind: str, data: Any) -> bytes:
    return _dumps({"type": kind, "data": data})


def _engine() -> Engine:
    """An engine that knows one indicator and one project, so valid payments reach the rules."""
    engine = Engine(RULES, max_line_bytes=MAX_LINE)
    for kind in ("project", "indicator"):
        engine.handle_line(_line(kind, VALID[kind]), "seed", 0)
    return engine


def _assert_sound(outputs: list[Any]) -> None:
    """Every output is a model that encodes to one JSON line and decodes back."""
    for out in outputs:
        line = encode(out)
        assert line.endswith(b"\n") and b"\n" not in line[:-1]
        assert decode_output(line[:-1]) == out


# -- decoders ---------------------------------------------------------------------------------


@FUZZ
@given(st.binary(max_size=3000))
@example(b"")
@example(b"\xff\xfe")
@example(b"[" * 100_000)
@example(b'{"type": "payment", "data": ' * 2000)
def test_decode_line_takes_any_bytes(raw: bytes) -> None:
    try:
        decode_line(raw, MAX_LINE)
    except InvalidInput as error:
        assert error.code in {"json_invalid", "schema_invalid", "unknown_type", "bad_envelope", "line_too_long"}


@FUZZ
@given(st.sampled_from([*INPUT_TYPES, "refund", ""]), st.one_of(st.binary(max_size=2000), JSON_VALUES.map(_dumps)))
def test_decode_data_takes_any_value_on_any_topic(kind: str, raw: bytes) -> None:
    with contextlib.suppress(InvalidInput):
        decode_data(kind, raw, MAX_LINE)


@FUZZ
@given(hostile_events())
def test_hostile_fields_are_invalid_input_or_a_valid_event(event: tuple[str, dict[str, Any]]) -> None:
    kind, data = event
    line = _line(kind, data)
    for decode in (lambda: decode_line(line, MAX_LINE), lambda: decode_data(kind, _dumps(data), MAX_LINE)):
        try:
            decoded = decode()
        except InvalidInput:
            continue
        assert type(decoded) is INPUT_TYPES[kind]
        # A valid event encodes back to one line that decodes to the same event (nothing lost).
        assert decode_line(encode(decoded)[:-1], 1 << 20) == decoded


@FUZZ
@given(AMOUNT_TEXT)
@example("0.01")
@example("999999999999999.99")
def test_amounts_are_accepted_exactly_when_the_contract_allows_them(amount: str) -> None:
    line = _line("payment", {**PAYMENT_DEFAULTS, "amount": amount})
    integer, _, decimals = amount.removeprefix("-").partition(".")
    plain = (integer.isascii() and integer.isdigit() and 1 <= len(integer) <= 15
             and (not _ or (decimals.isascii() and decimals.isdigit() and len(decimals) <= 2)))
    allowed = plain and not amount.startswith("-") and Decimal(amount) > 0
    try:
        payment = decode_line(line)
    except InvalidInput as error:
        assert not allowed, f"{amount!r} refused: {error}"
        return
    assert allowed, f"{amount!r} accepted"
    assert payment.amount == int(Decimal(amount) * 100)  # type: ignore[attr-defined]


@FUZZ
@given(st.one_of(st.binary(max_size=500), JSON_VALUES.map(_dumps), hostile_events().map(lambda e: _dumps(e[1]))),
       st.sampled_from([None, "payment", "settlement", "indicator-step"]))
def test_payment_hint_never_raises_and_returns_short_printable_ids(raw: bytes, kind: str | None) -> None:
    for value in payment_hint(raw, kind):
        assert value is None or (0 < len(value) <= 64 and value.isprintable())
    if kind not in (None, "payment"):
        assert payment_hint(raw, kind) == (None, None, None)


@FUZZ
@given(st.one_of(st.binary(max_size=500), JSON_VALUES.map(_dumps),
                 st.fixed_dictionaries({"step": st.sampled_from(["Debit", "Verdict", "Credit", "Nope"])},
                                       optional={"parent_id": JSON_VALUES, "child_id": NASTY_TEXT,
                                                 "version": JSON_VALUES, "amount_fen": st.integers(),
                                                 "delta_fen": st.integers(), "granted": JSON_VALUES,
                                                 "direct_fund_code": JSON_VALUES, "at": NASTY_TEXT,
                                                 "root": JSON_VALUES}).map(_dumps)))
@example(b'{"step": []}')
@example(b'{"step": "Debit", "parent_id": "P", "child_id": "C", "version": 1, "amount_fen": 1, "delta_fen": 1,'
         b' "at": "2022-01-01T00:00:00"}')
def test_allocation_steps_decode_or_raise_state_codec_error(raw: bytes) -> None:
    with contextlib.suppress(StateCodecError):
        loads_step(raw)


@SMALL
@given(st.binary(max_size=300))
def test_state_values_decode_or_raise_a_treasury_error(raw: bytes) -> None:
    """Changelog values are ours (a foreign one is a programming error), but never a crash of
    another kind than a TreasuryError or a value/type error the table recovery reports."""
    with contextlib.suppress(StateCodecError, ValueError, TypeError, KeyError):
        loads_state(raw)


@FUZZ
@given(st.dictionaries(st.sampled_from(["indicator_id", "account", "now", "project_id", "x"]), SCALARS),
       st.sampled_from([*INPUT_TYPES, "nope"]),
       st.lists(st.tuples(st.text(max_size=20), st.one_of(st.none(), st.binary(max_size=30))), max_size=4))
def test_routing_keys_and_sequence_headers_take_anything(data: dict[str, Any], kind: str,
                                                        headers: list[tuple[str, bytes | None]]) -> None:
    key = key_of(kind, data)
    assert key is None or (isinstance(key, str) and 0 < len(key) <= 256)
    assert isinstance(sequence_of(headers), int)


class _Message:
    def __init__(self, topic: str, partition: int, offset: int, value: bytes | None) -> None:
        self.topic, self.partition, self.offset, self.value = topic, partition, offset, value


@SMALL
@given(st.lists(st.tuples(st.sampled_from(["decision", "alert", "deadletter", "ledger", "chain-row"]),
                          st.one_of(st.none(), st.binary(max_size=200), JSON_VALUES.map(_dumps))),
                min_size=1, max_size=8))
def test_the_persist_consumer_keeps_unreadable_output_messages_as_dead_letters(
    messages: list[tuple[str, bytes | None]],
) -> None:
    topics = Topics("t.")
    batch = decode_batch([_Message(f"t.{kind}", 0, n, value) for n, (kind, value) in enumerate(messages)], topics)
    letters = [o for o in batch.outputs if isinstance(o, DeadLetter) and o.error_code == "output_undecodable"]
    assert len(letters) + len(batch.balances) + len(batch.nodes) + len(batch.payments) + len(
        [o for o in batch.outputs if o not in letters]) == len(messages)
    last = {f"t.{kind}": n + 1 for n, (kind, _) in enumerate(messages)}
    assert {tp.topic: offset for tp, offset in batch.offsets.items()} == last  # every one committed once written
    _assert_sound(letters)


# -- the engine ---------------------------------------------------------------------------------


@FUZZ
@given(st.one_of(st.binary(max_size=1500), JSON_VALUES.map(_dumps), hostile_events().map(lambda e: _line(*e)),
                 DEEP.map(str.encode)))
def test_the_engine_turns_any_line_into_data(line: bytes) -> None:
    engine = _engine()
    try:
        decode_line(line, MAX_LINE)
        invalid: InvalidInput | None = None
    except InvalidInput as error:
        invalid = error
    outputs = engine.handle_line(line, "fuzz.jsonl", 7)
    _assert_sound(outputs)
    if invalid is not None:
        letters = [o for o in outputs if isinstance(o, DeadLetter)]
        assert [(d.error_code, d.offset) for d in letters] == [(invalid.code, 7)]
        assert letters[0].raw_bytes == len(line) and len(letters[0].raw.encode()) <= 64 * 1024 * 3
        decisions = [o for o in outputs if isinstance(o, Decision)]
        assert all([r.code for r in d.reasons] == ["V001"] and d.outcome == "rejected" for d in decisions)
        hinted, _, _ = payment_hint(line)
        assert [d.payment_id for d in decisions] == ([hinted] if hinted and invalid.code != "line_too_long" else [])


@SMALL
@given(st.lists(st.one_of(hostile_events().map(lambda e: _line(*e)), st.binary(max_size=200),
                          st.sampled_from([_line(k, v) for k, v in VALID.items()])), min_size=1, max_size=25))
def test_the_engine_takes_hostile_streams_without_breaking_its_ledger(lines: list[bytes]) -> None:
    """A stream of valid and hostile events: no exception, and every indicator's available
    amount stays between zero and its amount (the ledger's own invariants hold)."""
    engine = _engine()
    for number, line in enumerate(lines, start=1):
        _assert_sound(engine.handle_line(line, "fuzz.jsonl", number))
    for account in engine.validation.state.ledger.accounts.values():
        committed = account.allocated + account.reserved + account.spent
        assert 0 <= committed <= account.amount
