"""The state all parts of a scenario share: its one random generator, calendar, size and events."""

import math
import random
from bisect import bisect_right
from collections import Counter
from datetime import date
from typing import Any, Final

import orjson

from stream.demo import region
from stream.demo.timeline import DAY, HOUR, Calendar

_SEQ_BITS: Final = 28  # event order = (event time, generation order)


def encode(kind: str, data: dict[str, Any]) -> bytes:
    """One JSON line of the envelope `{"type": kind, "data": data}`."""
    return orjson.dumps({"type": kind, "data": data}, option=orjson.OPT_APPEND_NEWLINE)


def ceil_to(value: float, step: int) -> int:
    """`value` rounded up to a multiple of `step` (at least `step`)."""
    return max(step, -(-int(value) // step) * step)


class Context:
    """One `random.Random(seed)`, the calendar, the payment days and the events emitted so far."""

    def __init__(self, seed: int, payments: int, start: date) -> None:
        if payments < 1:
            raise ValueError("payments must be at least 1")
        self.rng = random.Random(seed)  # noqa: S311 - a reproducible scenario, not a secret
        self.n = payments
        self.year = start.year
        self.k = max(2, round(math.sqrt(payments) / 18))  # how many of each injected anomaly
        self.cal = Calendar(start, (date(self.year + 1, 1, 12) - start).days + 1)
        year_end = (date(self.year, 12, 31) - start).days
        self.pay_days = [d for d in self.cal.working_days if 1 <= d <= year_end]
        self.next_year_days = [d for d in self.cal.working_days if d > year_end]
        if len(self.pay_days) < 40:
            raise ValueError("start must leave at least 40 working days in its year")
        self.events: list[tuple[int, bytes]] = []
        self.injected: Counter[str] = Counter()

    def emit(self, t: int, line: bytes) -> None:
        self.events.append(((t << _SEQ_BITS) | len(self.events), line))

    def lines(self) -> list[bytes]:
        """Every emitted line in event-time order (ties in generation order)."""
        self.events.sort()
        return [line for _, line in self.events]

    def pay_time(self, index: int, lo: int = 8 * HOUR + 1800, hi: int = 17 * HOUR + 1800) -> int:
        """A time on the index-th payment day, between `lo` and `hi` seconds after midnight."""
        return self.pay_days[index] * DAY + self.rng.randrange(lo, hi)

    def some_day(self, lo: float = 0.04, hi: float = 0.97) -> int:
        n = len(self.pay_days)
        return self.rng.randrange(int(n * lo), int(n * hi))

    def day_after(self, t: int, n: int) -> int:
        """The index of the n-th payment day after the day of time `t`."""
        return min(bisect_right(self.pay_days, t // DAY) + n - 1, len(self.pay_days) - 1)

    def amount(self, economic: str) -> int:
        """Log-uniform in the economic code's range, in fen."""
        p = region.ECONOMIC_PROFILES[economic]
        return int(math.exp(self.rng.uniform(math.log(p.low_yuan), math.log(p.high_yuan))) * 100)
