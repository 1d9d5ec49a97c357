"""The scenario's calendar: working days (with statutory holidays) and +08:00 timestamps."""

from bisect import bisect_right
from datetime import date, timedelta
from typing import Final

DAY: Final = 86_400
HOUR: Final = 3_600
# Statutory holidays and make-up working weekends (State Council notices); other years: weekends only.
_HOLIDAYS: Final[dict[int, frozenset[tuple[int, int]]]] = {
    2022: frozenset(
        [(1, 1), (1, 2), (1, 3), (1, 31), (4, 3), (4, 4), (4, 5), (4, 30), (6, 3), (6, 4), (6, 5)]
        + [(2, d) for d in range(1, 7)] + [(5, d) for d in range(1, 5)] + [(9, 10), (9, 11), (9, 12)]
        + [(10, d) for d in range(1, 8)]
    ),
    2023: frozenset([(1, 1), (1, 2)] + [(1, d) for d in range(21, 28)]),
}
_MAKEUP_DAYS: Final[dict[int, frozenset[tuple[int, int]]]] = {
    2022: frozenset([(1, 29), (1, 30), (4, 2), (4, 24), (5, 7), (10, 8), (10, 9)]),
    2023: frozenset([(1, 28), (1, 29)]),
}


def is_working(day: date) -> bool:
    """Whether `day` is a working day: a weekday that is no holiday, or a make-up weekend day."""
    key = (day.month, day.day)
    if key in _MAKEUP_DAYS.get(day.year, frozenset()):
        return True
    return day.weekday() < 5 and key not in _HOLIDAYS.get(day.year, frozenset())


class Calendar:
    """Days are indices from `start`; timestamps are seconds from `start` 00:00 +08:00."""

    def __init__(self, start: date, days: int) -> None:
        self.dates = [start + timedelta(days=d) for d in range(days)]
        self.iso = [d.isoformat() for d in self.dates]
        self.compact = [s.replace("-", "") for s in self.iso]
        self.working = [is_working(d) for d in self.dates]
        self.working_days = [d for d, w in enumerate(self.working) if w]

    def ts(self, t: int) -> str:
        day, rest = divmod(t, DAY)
        hours, rest = divmod(rest, HOUR)
        minutes, seconds = divmod(rest, 60)
        return f"{self.iso[day]}T{hours:02d}:{minutes:02d}:{seconds:02d}+08:00"

    def working_after(self, day: int, n: int) -> int:
        """The n-th working day after `day` (or the calendar's last working day)."""
        i = bisect_right(self.working_days, day) + n - 1
        return self.working_days[min(i, len(self.working_days) - 1)]
