"""Forecasts on the hot path: points built and written without pydantic's per-field machinery.

A replay makes one forecast of 30 points per treasury and statement day (408,630 points in the
generated 30,000-payment region). pydantic called the money formatter from Rust once per amount
and `trusted` set four slots per point; both showed at the top of the profile. The wire shape is
fixed (models/outputs.py), so here the points are built with the slots set directly and the JSON
is written field by field in the model's order, absent optionals left out like `exclude_none`.
tests/unit/test_forecast_wire.py holds both to pydantic's own validation and serializer.
"""

from collections.abc import Sequence
from datetime import date
from itertools import chain, repeat
from operator import attrgetter, floordiv, mod
from typing import Final

import orjson
from pydantic import BaseModel
from pydantic_core import to_json

from models.outputs import Forecast, ForecastPoint

_new = object.__new__
_set_dict = object.__setattr__
# BaseModel's own slots, set without going through its (frozen) __setattr__.
_SLOTS = BaseModel.__dict__
_set_fields = _SLOTS["__pydantic_fields_set__"].__set__
_set_extra = _SLOTS["__pydantic_extra__"].__set__
_set_private = _SLOTS["__pydantic_private__"].__set__


class _Fields(frozenset[str]):
    """The fields set every engine-made point shares (one object instead of one set per point:
    fewer objects for the garbage collector in a replay's output queue). A copy, which is what
    pydantic's `model_copy` mutates, is a plain set of its own."""

    def __copy__(self) -> set[str]:
        return set(self)


_FIELDS = _Fields({"date", "p10", "p50", "p90"})

# The JSON before a point's first amount, by date (every treasury forecasting a day shares them).
_PREFIX: dict[date, str] = {}
_PREFIX_MAX: Final = 4096
_POINT_FAST: Final = '%s%d.%02d","p50":"%d.%02d","p90":"%d.%02d"}'  # all three amounts >= 0
_POINT: Final = '%s%s","p50":"%s","p90":"%s"}'
_TEMPLATES: dict[int, str] = {}  # by number of points: _POINT_FAST repeated, comma-separated
_DATE, _P10, _P50, _P90 = (attrgetter(name) for name in ("date", "p10", "p50", "p90"))


def point(day: date, p10: int, p50: int, p90: int) -> ForecastPoint:
    """A ForecastPoint from values the engine computed (like models.base.trusted, cheaper)."""
    obj: ForecastPoint = _new(ForecastPoint)
    _set_dict(obj, "__dict__", {"date": day, "p10": p10, "p50": p50, "p90": p90})
    _set_fields(obj, _FIELDS)
    _set_extra(obj, None)
    _set_private(obj, None)
    return obj


def points(
    days: Sequence[date], p10: Sequence[int], p50: Sequence[int], p90: Sequence[int]
) -> tuple[ForecastPoint, ...]:
    """The points of a path, day by day."""
    return tuple(map(point, days, p10, p50, p90))


def fen_text(fen: int) -> str:
    """`models.money.format_fen`, for the hot loop: 123450 -> "1234.50", -5 -> "-0.05"."""
    # %-formatting of divmod's pair: a third cheaper than an f-string with two fields here.
    if fen >= 0:
        return "%d.%02d" % divmod(fen, 100)  # noqa: UP031
    return "-%d.%02d" % divmod(-fen, 100)  # noqa: UP031


def _prefix(day: date) -> str:
    found = _PREFIX.get(day)
    if found is None:
        if len(_PREFIX) >= _PREFIX_MAX:
            _PREFIX.clear()
        found = _PREFIX[day] = f'{{"date":"{day.isoformat()}","p10":"'
    return found


def _point_json(p: ForecastPoint) -> str:
    low, mid, high = p.p10, p.p50, p.p90
    if low >= 0 and mid >= 0 and high >= 0:
        return _POINT_FAST % (_prefix(p.date), low // 100, low % 100, mid // 100, mid % 100, high // 100, high % 100)
    return _POINT % (_prefix(p.date), fen_text(low), fen_text(mid), fen_text(high))


def _points_json(all_points: tuple[ForecastPoint, ...]) -> str:
    """The points' JSON, comma-separated: one %-format for the whole path when no amount is
    negative (the usual case: a balance), point by point otherwise."""
    low, mid, high = list(map(_P10, all_points)), list(map(_P50, all_points)), list(map(_P90, all_points))
    if not all_points or min(low) < 0 or min(mid) < 0 or min(high) < 0:
        return ",".join(map(_point_json, all_points))
    template = _TEMPLATES.get(len(all_points))
    if template is None:
        if len(_TEMPLATES) >= _PREFIX_MAX:
            _TEMPLATES.clear()
        template = _TEMPLATES[len(all_points)] = ",".join([_POINT_FAST] * len(all_points))
    hundred = repeat(100)
    fields = zip(map(_prefix, map(_DATE, all_points)),
                 map(floordiv, low, hundred), map(mod, low, hundred), map(floordiv, mid, hundred),
                 map(mod, mid, hundred), map(floordiv, high, hundred), map(mod, high, hundred), strict=True)
    return template % tuple(chain.from_iterable(fields))


def forecast_data(forecast: Forecast) -> bytes:
    """The `data` object of a forecast, the same bytes as `to_json(forecast, exclude_none=True)`."""
    head = b'{"treasury_code":' + orjson.dumps(forecast.treasury_code) + b',"as_of":"' + \
        forecast.as_of.isoformat().encode() + b'"'
    if forecast.coverage_ratio is not None:
        # pydantic-core's own float writer: its text for some floats differs from Python's repr.
        head += b',"coverage_ratio":' + to_json(forecast.coverage_ratio)
    body = _points_json(forecast.points).encode()
    tail = b"]}"
    if forecast.breach_date is not None:
        tail = b'],"breach_date":"' + forecast.breach_date.isoformat().encode() + b'"}'
    return head + b',"points":[' + body + tail
