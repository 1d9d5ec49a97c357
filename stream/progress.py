"""Progress on a terminal for long runs, and the closing summary of a run."""

import sys
import time
from typing import TextIO

from stream.embedded import RunStats

_OUTCOMES = ("accepted", "held", "rejected")


class TerminalProgress:
    """Rewrites one status line on a terminal at most every `interval_s`; silent otherwise."""

    def __init__(self, out: TextIO = sys.stderr, interval_s: float = 0.2, force: bool = False) -> None:
        self.out = out
        self.interval_s = interval_s
        self.enabled = force or out.isatty()
        self._last = 0.0

    def __call__(self, stats: RunStats) -> None:
        now = time.monotonic()
        if not self.enabled or now - self._last < self.interval_s:
            return
        self._last = now
        self.out.write("\r\x1b[K" + status_line(stats))
        self.out.flush()

    def done(self) -> None:
        if self.enabled:
            self.out.write("\r\x1b[K")
            self.out.flush()


def status_line(stats: RunStats) -> str:
    share = f"{100 * stats.bytes_read / stats.total_bytes:5.1f}% " if stats.total_bytes else ""
    rate = stats.lines / stats.elapsed_s if stats.elapsed_s > 0 else 0.0
    outcomes = " ".join(f"{name} {stats.outcomes[name]:,}" for name in _OUTCOMES)
    return (
        f"{share}{stats.lines:,} events  {rate:,.0f} ev/s  {outcomes}  "
        f"alerts {stats.alerts:,}  dead letters {stats.dead_letters:,}"
    )


def summary(stats: RunStats, top: int = 8) -> str:
    """A short human summary: events, outcomes, top reason codes, dead letters, events/s."""
    rate = stats.lines / stats.elapsed_s if stats.elapsed_s > 0 else 0.0
    decided = sum(stats.outcomes.values())
    lines = [
        f"events        {stats.lines:,} in {stats.elapsed_s:.2f} s ({rate:,.0f} events/s)",
        f"decisions     {decided:,}: "
        + ", ".join(f"{name} {stats.outcomes[name]:,}" for name in _OUTCOMES)
        + f" (+{stats.duplicates:,} duplicate deliveries re-sent)",
    ]
    if stats.reasons:
        ranked = sorted(stats.reasons.items(), key=lambda item: (-item[1], item[0]))[:top]
        lines.append("top reasons   " + ", ".join(f"{code} {n:,}" for code, n in ranked))
    lines.append(f"alerts        {stats.alerts:,} state changes")
    lines.append(f"dead letters  {stats.dead_letters:,}")
    return "\n".join(lines)
