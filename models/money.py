"""Money: decimal yuan strings at the edge, integer fen inside, never float."""

import re
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer

# At most 15 integer digits and 2 decimals, plain digits only (DESIGN §2).
_AMOUNT = re.compile(r"(-?)([0-9]{1,15})(?:\.([0-9]{1,2}))?")  # ASCII digits only


def parse_fen(text: str, *, signed: bool = False) -> int:
    """Parse `"1234.50"` into 123450 fen; raise ValueError on anything else."""
    match = _AMOUNT.fullmatch(text)
    if match is None:
        raise ValueError(
            "amount must be a decimal string with at most 15 integer digits and 2 decimals"
        )
    sign, whole, frac = match.groups()
    if sign and not signed:
        raise ValueError("amount must be positive")
    fen = int(whole) * 100 + (int(frac.ljust(2, "0")) if frac else 0)
    return -fen if sign else fen


def format_fen(fen: int) -> str:
    """Format fen as the canonical decimal string with exactly two decimals."""
    sign = "-" if fen < 0 else ""
    whole, frac = divmod(abs(fen), 100)
    return f"{sign}{whole}.{frac:02d}"


def _wire_text(value: Any) -> str:
    # Strict: a JSON number (int or float) is never money; only the decimal string is.
    if type(value) is not str:
        raise ValueError("amount must be a JSON string such as \"1234.50\", not a number")
    return value


def _positive(value: Any) -> int:
    fen = parse_fen(_wire_text(value))
    if fen <= 0:
        raise ValueError("amount must be greater than zero")
    return fen


def _signed(value: Any) -> int:
    return parse_fen(_wire_text(value), signed=True)


_FEN_OUT = PlainSerializer(format_fen, return_type=str)

# A positive amount (indicators, payments, settlements, flows): wire "12.50" <-> 1250 fen.
PositiveFen = Annotated[int, BeforeValidator(_positive), _FEN_OUT]
# A balance, which may be zero or negative (statements, forecasts).
SignedFen = Annotated[int, BeforeValidator(_signed), _FEN_OUT]
