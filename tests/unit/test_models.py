"""Wire models: money round-trips exactly, hot-path construction equals validation, digests are stable."""

from datetime import UTC, datetime

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from models.base import trusted
from models.codec import decode_line, decode_output, encode, fingerprint
from models.errors import InvalidInput
from models.money import format_fen, parse_fen
from models.outputs import Decision, Reason
from tests.unit.conftest import line, make_payment, payment_data


@given(st.integers(min_value=-(10**17) + 1, max_value=10**17 - 1))
def test_fen_round_trips_through_the_wire_text(fen: int) -> None:
    assert parse_fen(format_fen(fen), signed=True) == fen


@pytest.mark.parametrize(("text", "fen"), [("0.01", 1), ("1", 100), ("1.5", 150), ("1234.50", 123450),
                                           ("999999999999999.99", 99999999999999999)])
def test_fen_parses_exactly(text: str, fen: int) -> None:
    assert parse_fen(text) == fen


@pytest.mark.parametrize("text", ["", ".5", "1.", "1.234", "1e3", "+1", " 1", "1,000.00", "１２", "0x10",
                                  "1234567890123456", "-1"])
def test_fen_rejects_anything_but_plain_decimals(text: str) -> None:
    with pytest.raises(ValueError, match="amount"):
        parse_fen(text)


def test_trusted_construction_equals_a_validated_model() -> None:
    at = datetime(2022, 3, 1, 1, 30, tzinfo=UTC)
    reason = trusted(Reason, code="B006", message="m", message_en="e", clause="c")
    built = trusted(Decision, payment_id="P1", outcome="rejected", reasons=(reason,), indicator_id="I1",
                    available_after=12345, decided_at=at, duplicate_delivery=False)
    validated = Decision.model_validate_json(encode(built)[len(b'{"type":"decision","data":'):-2])
    assert validated == built
    assert encode(validated) == encode(built)
    assert b'"available_after":"123.45"' in encode(built)


def test_fingerprint_is_content_not_formatting() -> None:
    data = payment_data()
    compact = decode_line(line("payment", data))
    indented = orjson.dumps({"type": "payment", "data": data}, option=orjson.OPT_INDENT_2)
    spaced = decode_line(indented.replace(b"\n", b""))
    assert fingerprint(compact) == fingerprint(spaced)
    other = make_payment(amount="1.01")
    assert fingerprint(other) != fingerprint(compact)
    assert fingerprint(compact) == bytes.fromhex(fingerprint(compact).hex())
    assert len(fingerprint(compact)) == 16


def test_an_output_line_decodes_back_to_its_model_and_an_input_line_does_not() -> None:
    decision = trusted(Decision, payment_id="P1", outcome="accepted", reasons=(), indicator_id="I1",
                       available_after=100, decided_at=datetime(2022, 3, 1, tzinfo=UTC), duplicate_delivery=False)
    assert decode_output(encode(decision)) == decision
    with pytest.raises(InvalidInput):
        decode_output(line("payment", payment_data()))
