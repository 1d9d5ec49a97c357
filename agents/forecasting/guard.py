"""S001 三保 protection over a treasury's cash book: hold what cash cannot afford, release in order.

A non-三保 payment is held when, after it, the treasury's position would fall below the 三保
outflows due in the next `horizon_days`:

    position - accepted unsettled non-三保 payments - payments already held - amount < 三保 due

where the position is the last balance statement plus the actual flows and settlements since,
and 三保 due counts the scheduled 三保 outflows of the window and the accepted, unsettled 三保
payments. Future inflows are not counted: protection must not rest on revenue not yet in. The
held payments queue in arrival order; the queue's head is released as soon as it fits, and
nothing behind it jumps ahead (a later, smaller payment waits its turn).
"""

from datetime import date

from agents.config import RulesConfig
from agents.findings import Finding
from agents.forecasting.book import CashBook
from models.money import format_fen


def _headroom(book: CashBook, today: date, rules: RulesConfig) -> tuple[int, int] | None:
    """(cash left after every commitment and hold, 三保 due); None before any statement."""
    position = book.position
    if position is None:
        return None
    other_pending = book.pending_total - book.pending_sanbao
    left = position - other_pending - sum(book.held.values())
    return left, book.sanbao_due(today, rules.cash.horizon_days)


def s001(book: CashBook, amount: int, today: date, rules: RulesConfig) -> Finding | None:
    """The S001 finding for a non-三保 payment of `amount`, or None when cash allows it."""
    room = _headroom(book, today, rules)
    if room is None:
        return None  # S001 applies once a balance statement of the treasury has been seen
    left, due = room
    after = left - amount
    if after >= due:
        return None
    return Finding("S001", "hold", {
        "treasury_code": book.code, "horizon_days": rules.cash.horizon_days, "sanbao_due": format_fen(due),
        "projected": format_fen(after), "shortfall": format_fen(due - after),
    })


def releasable(book: CashBook, today: date, rules: RulesConfig) -> list[str]:
    """Pop the held payments cash now allows, in arrival order; they count as accepted at once."""
    released: list[str] = []
    while book.held:
        payment_id, amount = next(iter(book.held.items()))
        del book.held[payment_id]
        room = _headroom(book, today, rules)
        if room is None or room[0] - amount < room[1]:
            book.held = {payment_id: amount, **book.held}  # back at the head: it still does not fit
            break
        book.promise(payment_id, amount, False)
        released.append(payment_id)
    return released
