"""Query-string checks shared by the list endpoints: known parameters only, bounded limit, opaque cursor.

A cursor is the last row's sort key, base64url-encoded JSON; clients treat it as opaque. A bad
one is a 400 with a clear message, never a 500.
"""

import base64
import binascii
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Final

import orjson

from stream.store.queries import MAX_PAGE

DEFAULT_LIMIT: Final = 50


class BadQuery(ValueError):
    """A query parameter the API cannot use; the message says which and why."""


def known_only(query: Mapping[str, str], allowed: Iterable[str]) -> None:
    unknown = sorted(set(query) - set(allowed))
    if unknown:
        raise BadQuery(f"unknown query parameter(s) {', '.join(unknown)}; allowed: {', '.join(sorted(allowed))}")


def limit_of(query: Mapping[str, str]) -> int:
    text = query.get("limit")
    if text is None:
        return DEFAULT_LIMIT
    if not text.isdigit() or not 1 <= int(text) <= MAX_PAGE:
        raise BadQuery(f"limit must be a whole number from 1 to {MAX_PAGE}")
    return int(text)


def one_of(query: Mapping[str, str], name: str, allowed: Iterable[str]) -> str | None:
    value = query.get(name)
    choices = sorted(allowed)
    if value is not None and value not in choices:
        raise BadQuery(f"{name} must be one of {', '.join(choices)}")
    return value


def encode_cursor(at: datetime, key: str) -> str:
    return base64.urlsafe_b64encode(orjson.dumps([at.isoformat(), key])).decode().rstrip("=")


def decode_cursor(query: Mapping[str, str]) -> tuple[datetime, str] | None:
    text = query.get("cursor")
    if text is None:
        return None
    try:
        at, key = orjson.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
        moment = datetime.fromisoformat(at)
        if moment.tzinfo is None or not isinstance(key, str):
            raise ValueError
    except (ValueError, TypeError, binascii.Error, orjson.JSONDecodeError):
        raise BadQuery("cursor is not one this API gave out (pass next_cursor back unchanged)") from None
    return moment, key
