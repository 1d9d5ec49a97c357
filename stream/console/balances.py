"""Balance history per treasury for the console's treasury view: statements and floors, bounded, in memory."""

from collections import deque
from dataclasses import dataclass, field
from datetime import date
from typing import Protocol


@dataclass(frozen=True, slots=True)
class BalancePoint:
    """One day's first balance statement, and the floor (R001) that day when there was history for it."""

    day: date
    balance_fen: int
    floor_fen: int | None


class BalanceHistory(Protocol):
    """Where the treasury view reads balance statements from."""

    def record(self, treasury_code: str, point: BalancePoint) -> None: ...

    def treasuries(self) -> list[tuple[str, BalancePoint]]:
        """Every treasury with its latest point, by code."""
        ...

    def history(self, treasury_code: str, days: int) -> list[BalancePoint] | None:
        """The last `days` points, oldest first; None for a treasury never seen."""
        ...


@dataclass(slots=True)
class MemoryBalanceHistory:
    """The embedded runtime's history: a ring of the last `keep_days` statement days per treasury."""

    keep_days: int = 400
    _by_treasury: dict[str, deque[BalancePoint]] = field(default_factory=dict)

    def record(self, treasury_code: str, point: BalancePoint) -> None:
        ring = self._by_treasury.setdefault(treasury_code, deque(maxlen=self.keep_days))
        if ring and ring[-1].day == point.day:
            return  # the day's first statement counts, as for the forecast
        ring.append(point)

    def treasuries(self) -> list[tuple[str, BalancePoint]]:
        return [(code, ring[-1]) for code, ring in sorted(self._by_treasury.items()) if ring]

    def history(self, treasury_code: str, days: int) -> list[BalancePoint] | None:
        ring = self._by_treasury.get(treasury_code)
        if ring is None:
            return None
        return list(ring)[-days:] if days > 0 else []
