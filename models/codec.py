"""The one orjson codec of the JSON-lines envelope `{"type": T, "data": {...}}`."""

from functools import cache
from hashlib import blake2b
from typing import Annotated, Any, Final, Literal, Union

import orjson
from pydantic import BaseModel, Field, TypeAdapter, ValidationError, create_model

from models.base import WireModel
from models.errors import InvalidInput
from models.forecastwire import forecast_data
from models.inputs import (
    Clock,
    Indicator,
    InputEvent,
    PayeeBlock,
    Payment,
    Project,
    Settlement,
    TreasuryBalance,
    TreasuryFlow,
)
from models.outputs import Alert, Chain, DeadLetter, Decision, Forecast

INPUT_TYPES: Final[dict[str, type[WireModel]]] = {
    "indicator": Indicator,
    "project": Project,
    "payment": Payment,
    "settlement": Settlement,
    "treasury_balance": TreasuryBalance,
    "treasury_flow": TreasuryFlow,
    "payee_block": PayeeBlock,
    "clock": Clock,
}
OUTPUT_TYPES: Final[dict[str, type[WireModel]]] = {
    "decision": Decision,
    "alert": Alert,
    "forecast": Forecast,
    "chain": Chain,
    "deadletter": DeadLetter,
}
TYPE_NAME: Final[dict[type[WireModel], str]] = {
    model: name for name, model in (INPUT_TYPES | OUTPUT_TYPES).items()
}
# Longest line accepted before parsing: bounds memory per message (hostile input).
DEFAULT_MAX_LINE_BYTES: Final = 1 << 20
_MAX_ERROR_CHARS: Final = 800


def _envelope(name: str, model: type[WireModel]) -> type[BaseModel]:
    """`{"type": name, "data": model}`, closed and strict like every wire model."""
    tag: Any = Literal[name]
    return create_model(f"{model.__name__}Envelope", __base__=WireModel, type=(tag, ...), data=(model, ...))


_ENVELOPES = tuple(_envelope(name, model) for name, model in INPUT_TYPES.items())
# One pass in pydantic-core: parse the JSON, pick the model by `type`, validate `data`.
_ENVELOPE_UNION: Any = Annotated[Union[_ENVELOPES], Field(discriminator="type")]  # noqa: UP007
_INPUT_ADAPTER: Final[TypeAdapter[Any]] = TypeAdapter(_ENVELOPE_UNION)


def describe(error: ValidationError) -> str:
    """A compact, value-free description of a validation error (no payee data echoed)."""
    parts = []
    for item in error.errors(include_url=False, include_input=False)[:5]:
        where = ".".join(str(part) for part in item["loc"])
        parts.append(f"{where}: {item['msg']}")
    more = error.error_count() - len(parts)
    if more > 0:
        parts.append(f"and {more} more")
    return "; ".join(parts)[:_MAX_ERROR_CHARS]


def decode_line(line: bytes, max_line_bytes: int = DEFAULT_MAX_LINE_BYTES) -> InputEvent:
    """Decode one JSON line into its input event; raise InvalidInput on any contract breach."""
    if len(line) > max_line_bytes:
        raise InvalidInput("line_too_long", f"line of {len(line)} bytes exceeds {max_line_bytes}")
    try:
        envelope = _INPUT_ADAPTER.validate_json(line)
    except ValidationError as error:
        raise InvalidInput(_error_code(error), describe(error)) from None
    event: InputEvent = envelope.data
    return event


def decode_data(type_name: str, value: bytes, max_line_bytes: int = DEFAULT_MAX_LINE_BYTES) -> InputEvent:
    """Decode a message value whose type is known from elsewhere (a Kafka topic)."""
    model = INPUT_TYPES.get(type_name)
    if model is None:
        raise InvalidInput("unknown_type", f"unknown input type {type_name[:64]!r}")
    if len(value) > max_line_bytes:
        raise InvalidInput("line_too_long", f"value of {len(value)} bytes exceeds {max_line_bytes}")
    try:
        event: InputEvent = model.model_validate_json(value)  # type: ignore[assignment]
    except ValidationError as error:
        raise InvalidInput(_error_code(error), describe(error)) from None
    return event


@cache
def _output_adapter() -> TypeAdapter[Any]:
    # Built on first use: only tools reading output files need it, not the engine's start-up.
    envelopes = tuple(_envelope(name, model) for name, model in OUTPUT_TYPES.items())
    union: Any = Annotated[Union[envelopes], Field(discriminator="type")]  # noqa: UP007
    return TypeAdapter(union)


def decode_output(line: bytes) -> WireModel:
    """One line of an output file (`decisions.jsonl`, `chains.jsonl`, …) back as its model."""
    try:
        output: WireModel = _output_adapter().validate_json(line).data
    except ValidationError as error:
        raise InvalidInput(_error_code(error), describe(error)) from None
    return output


def _error_code(error: ValidationError) -> str:
    first = error.errors(include_url=False, include_input=False)[0]
    if first["type"] == "json_invalid":
        return "json_invalid"
    if first["type"] == "union_tag_invalid":
        return "unknown_type"
    if first["type"] in ("union_tag_not_found", "model_type") or (first["type"] == "dict_type" and not first["loc"]):
        return "bad_envelope"
    return "schema_invalid"


def payment_hint(line: bytes, kind: str | None = None) -> tuple[str | None, str | None, str | None]:
    """Best effort (payment_id, indicator_id, requested_at) from a message that failed to decode.

    `line` is an envelope, or a bare `data` object when `kind` (the topic's type) is given. Only a
    message that says it is a payment names a payment; a bad settlement must never produce a
    decision that would contradict the payment's own.
    """
    try:
        obj = orjson.loads(line)
    except orjson.JSONDecodeError:
        return None, None, None
    if kind is not None:
        obj = {"type": kind, "data": obj}
    if not isinstance(obj, dict) or obj.get("type") != "payment":
        return None, None, None
    data = obj.get("data")
    if not isinstance(data, dict):
        return None, None, None
    return _short_str(data.get("payment_id")), _short_str(data.get("indicator_id")), _short_str(
        data.get("requested_at")
    )


def _short_str(value: object) -> str | None:
    if isinstance(value, str) and 0 < len(value) <= 64 and value.isprintable():
        return value
    return None


def _as_dict(value: object) -> dict[str, Any]:
    if isinstance(value, BaseModel):
        return value.__dict__
    raise TypeError(f"cannot fingerprint {type(value).__name__}")


def fingerprint(model: WireModel) -> bytes:
    """A 16-byte digest of a model's content (field order fixed by the model): equal iff same content."""
    return blake2b(orjson.dumps(model.__dict__, default=_as_dict), digest_size=16).digest()


def encode(model: WireModel) -> bytes:
    """One JSON line (with its newline) for an input or output model."""
    if type(model) is Forecast:
        return b'{"type":"forecast","data":' + forecast_data(model) + b"}\n"
    name = TYPE_NAME[type(model)]
    # Absent optional fields are left out rather than sent as null (DESIGN §3: "absent").
    data = model.__pydantic_serializer__.to_json(model, exclude_none=True)
    return b'{"type":"' + name.encode() + b'","data":' + data + b"}\n"


def encode_data(model: WireModel) -> bytes:
    """The `data` object alone, as a Kafka message value."""
    if type(model) is Forecast:
        return forecast_data(model)
    return model.__pydantic_serializer__.to_json(model, exclude_none=True)
