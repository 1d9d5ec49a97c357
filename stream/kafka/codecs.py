"""Codecs for the state kept in faust tables (changelog values) and for allocation steps."""

from collections.abc import Callable
from datetime import datetime
from types import SimpleNamespace
from typing import Any

import orjson
from faust.serializers import codecs
from pydantic import TypeAdapter

from agents.ledger import Account
from agents.tracing.watch import Deadline
from agents.validation.agent import PaymentRecord
from agents.validation.budget import Credit, Debit, Step, Verdict
from agents.validation.patterns import Recent
from alerts.lifecycle import HistoryEntry, Tracked
from models.codec import encode_data
from models.errors import TreasuryError
from models.inputs import Indicator, Payee, PayeeBlock, Payment, Project, Settlement
from models.outputs import Alert, Decision

_PROJECTS = TypeAdapter(list[Project])
_SETTLEMENTS = TypeAdapter(list[Settlement])
_INDICATORS = TypeAdapter(list[Indicator])
STATE_CODEC = "treasury-state"


class StateCodecError(TreasuryError):
    """A state value of an unknown kind: a programming error or a foreign changelog."""


def dumps_state(value: Any) -> bytes:
    """One tagged byte string per state value; the tag says how to read it back.

    A deleted key is the empty value, which faust's recovery treats as a tombstone.
    """
    if value is None:
        return b""
    if isinstance(value, Account):
        return b"A" + orjson.dumps([value.amount, value.allocated, value.reserved, value.spent, value.version])
    if isinstance(value, PaymentRecord):
        payee = None if value.payee is None else encode_data(value.payee).decode()
        return b"R" + orjson.dumps(
            [value.fingerprint.hex(), value.indicator_id, value.amount_fen, value.status,
             encode_data(value.decision).decode(), payee]
        )
    if isinstance(value, Deadline):
        return b"W" + orjson.dumps([value.code, value.subject_id, value.indicator_id, value.lane,
                                    value.since.isoformat(), value.due_at.isoformat(), value.fired])
    if isinstance(value, Tracked):
        return b"L" + orjson.dumps([encode_data(value.alert).decode(),
                                    [[h.at.isoformat(), h.action, h.actor] for h in value.history], value.waived])
    if isinstance(value, Indicator | PayeeBlock):
        return (b"I" if isinstance(value, Indicator) else b"B") + encode_data(value)
    if isinstance(value, str):
        return b"S" + value.encode()
    if isinstance(value, tuple):
        return b"T" + orjson.dumps(list(value))
    if isinstance(value, list):
        return _dumps_list(value)
    raise StateCodecError(f"no codec for state value {type(value).__name__}")


def _dumps_list(value: list[Any]) -> bytes:
    if not value or isinstance(value[0], Recent):
        return b"H" + orjson.dumps(
            [[r.at.isoformat(), r.payment_id, r.agency_code, r.amount_fen, r.economic_code] for r in value]
        )
    if isinstance(value[0], Project):
        return b"P" + _PROJECTS.dump_json(value, exclude_none=True)
    if isinstance(value[0], Settlement):
        return b"E" + _SETTLEMENTS.dump_json(value, exclude_none=True)
    if isinstance(value[0], Indicator):
        return b"N" + _INDICATORS.dump_json(value, exclude_none=True)
    if isinstance(value[0], Payment | Settlement) and any(isinstance(v, Payment) for v in value):
        # Parked items: payments and settlements in arrival order.
        return b"Q" + orjson.dumps([["p" if isinstance(v, Payment) else "s", encode_data(v).decode()]
                                    for v in value])
    if isinstance(value[0], Debit):
        return b"D" + orjson.dumps([dumps_step(step).decode() for step in value])
    raise StateCodecError(f"no codec for a list of {type(value[0]).__name__}")


def _account(body: bytes) -> Account:
    # Changelogs written before accounts had a version hold four numbers: version 0.
    amount, allocated, reserved, spent, *version = orjson.loads(body)
    return Account(amount, allocated, reserved, spent, version[0] if version else 0)


def _record(body: bytes) -> PaymentRecord:
    fingerprint, indicator_id, amount_fen, status, decision, *rest = orjson.loads(body)
    payee = Payee.model_validate_json(rest[0]) if rest and rest[0] is not None else None
    return PaymentRecord(bytes.fromhex(fingerprint), indicator_id, amount_fen, status,
                         Decision.model_validate_json(decision), payee)


def _deadline(body: bytes) -> Deadline:
    code, subject_id, indicator_id, lane, since, due_at, fired = orjson.loads(body)
    return Deadline(code, subject_id, indicator_id, lane, datetime.fromisoformat(since),
                    datetime.fromisoformat(due_at), fired)


def _tracked(body: bytes) -> Tracked:
    alert, history, *rest = orjson.loads(body)  # `waived` was added later: absent in older changelogs
    return Tracked(Alert.model_validate_json(alert),
                   [HistoryEntry(datetime.fromisoformat(at), action, actor) for at, action, actor in history],
                   bool(rest[0]) if rest else False)


def _history(body: bytes) -> list[Recent]:
    return [Recent(datetime.fromisoformat(at), pid, agency, amount, economic)
            for at, pid, agency, amount, economic in orjson.loads(body)]


_LOADERS: dict[bytes, Callable[[bytes], Any]] = {
    b"A": _account,
    b"R": _record,
    b"I": Indicator.model_validate_json,
    b"B": PayeeBlock.model_validate_json,
    b"S": bytes.decode,
    b"T": lambda body: tuple(orjson.loads(body)),
    b"H": _history,
    b"W": _deadline,
    b"L": _tracked,
    b"P": _PROJECTS.validate_json,
    b"E": _SETTLEMENTS.validate_json,
    b"N": _INDICATORS.validate_json,
    b"Q": lambda body: [Payment.model_validate_json(data) if kind == "p" else Settlement.model_validate_json(data)
                        for kind, data in orjson.loads(body)],
    b"D": lambda body: [loads_step(step.encode()) for step in orjson.loads(body)],
}


def loads_state(raw: bytes) -> Any:
    """The value `dumps_state` wrote; the empty value is a deleted key."""
    if not raw:
        return None
    loader = _LOADERS.get(raw[:1])
    if loader is None:
        raise StateCodecError(f"unknown state tag {raw[:1]!r}")
    return loader(raw[1:])


class StateValue:
    """The value type of our tables: faust takes a changelog's serializer from it, and loads as-is."""

    _options = SimpleNamespace(serializer=STATE_CODEC)

    @classmethod
    def from_data(cls, data: Any, preferred_type: Any = None) -> Any:
        return data


class _StateCodec(codecs.Codec):
    def _dumps(self, obj: Any) -> bytes:
        return dumps_state(obj)

    def _loads(self, s: bytes) -> Any:
        return loads_state(s)


def register() -> None:
    """Make the codec known to faust by name (idempotent)."""
    codecs.register(STATE_CODEC, _StateCodec())


def dumps_step(step: Step) -> bytes:
    """An allocation step as JSON; its kind names the dataclass."""
    fields = {name: getattr(step, name) for name in step.__dataclass_fields__}
    return orjson.dumps({"step": type(step).__name__, **fields})


_STEPS: dict[str, type[Debit] | type[Verdict] | type[Credit]] = {
    "Debit": Debit, "Verdict": Verdict, "Credit": Credit,
}


def loads_step(raw: bytes) -> Step:
    data = orjson.loads(raw)
    kind = _STEPS.get(data.pop("step", None))
    if kind is None:
        raise StateCodecError("unknown allocation step")
    data["at"] = datetime.fromisoformat(data["at"])
    return kind(**data)
