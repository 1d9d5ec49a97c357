"""The forecast fast path (models/forecastwire.py) against pydantic: same models, same bytes."""

from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from models.codec import decode_output, encode, encode_data
from models.forecastwire import fen_text, point, points
from models.money import format_fen
from models.outputs import Forecast, ForecastPoint

# Balances may be negative; at most 15 integer digits at the edge (models/money.py).
fen = st.one_of(st.integers(-999, 999), st.integers(-(10**17) + 1, 10**17 - 1))
days = st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 12, 31))
ratios = st.one_of(st.none(), st.floats(allow_nan=False, allow_infinity=False),
                   st.floats(-1e6, 1e6).map(lambda r: round(r, 4)))


def pydantic_line(forecast: Forecast) -> bytes:
    data = forecast.__pydantic_serializer__.to_json(forecast, exclude_none=True)
    return b'{"type":"forecast","data":' + data + b"}\n"


balances = st.one_of(st.integers(0, 999), st.integers(0, 10**17 - 1))  # the usual case: none negative


@st.composite
def forecasts(draw: st.DrawFn) -> Forecast:
    as_of = draw(days)
    amount = draw(st.sampled_from([fen, balances]))  # the encoder has a path for each
    amounts = draw(st.lists(st.tuples(amount, amount, amount), min_size=0, max_size=31))
    built = [ForecastPoint(date=as_of + timedelta(days=h), p10=format_fen(a), p50=format_fen(b), p90=format_fen(c))
             for h, (a, b, c) in enumerate(amounts, 1)]
    breach = draw(st.one_of(st.none(), days))
    code = draw(st.from_regex(r"[0-9]{6}", fullmatch=True))
    return Forecast(treasury_code=code, as_of=as_of, coverage_ratio=draw(ratios), points=tuple(built),
                    breach_date=breach)


@settings(max_examples=120)
@given(forecasts())
def test_a_forecast_is_written_byte_for_byte_as_pydantic_writes_it(forecast: Forecast) -> None:
    assert encode(forecast) == pydantic_line(forecast)
    assert encode_data(forecast) == forecast.__pydantic_serializer__.to_json(forecast, exclude_none=True)
    assert decode_output(encode(forecast)) == forecast


@given(fen)
def test_fen_text_is_format_fen(amount: int) -> None:
    assert fen_text(amount) == format_fen(amount)


@given(days, fen, fen, fen)
def test_a_fast_point_equals_a_validated_one(day: date, p10: int, p50: int, p90: int) -> None:
    fast = point(day, p10, p50, p90)
    valid = ForecastPoint(date=day, p10=format_fen(p10), p50=format_fen(p50), p90=format_fen(p90))
    assert fast == valid and fast.model_dump() == valid.model_dump()
    assert fast.model_fields_set == valid.model_fields_set and hash(fast) == hash(valid)
    assert points([day], [p10], [p50], [p90]) == (valid,)


def test_fast_points_share_a_fields_set_that_model_copy_does_not_touch() -> None:
    day = date(2022, 1, 5)
    first, second = point(day, 1, 2, 3), point(day, 4, 5, 6)
    changed = first.model_copy(update={"p50": 7})
    assert changed.p50 == 7 and changed.model_fields_set == {"date", "p10", "p50", "p90"}
    assert first.model_fields_set is second.model_fields_set == {"date", "p10", "p50", "p90"}
    assert first.model_copy(deep=True) == first and first.p50 == 2


def test_the_edges_of_the_format() -> None:
    day = date(2022, 1, 5)
    forecast = Forecast(treasury_code="150000", as_of=day, coverage_ratio=1e16,
                        points=(point(day, -5, 0, 100), point(day, -100, -101, 99)), breach_date=None)
    line = encode(forecast)
    assert line == pydantic_line(forecast)
    assert b'"coverage_ratio":1e+16' in line and b'"p10":"-0.05","p50":"0.00","p90":"1.00"' in line
    assert b'"p10":"-1.00","p50":"-1.01","p90":"0.99"' in line and b"breach_date" not in line
