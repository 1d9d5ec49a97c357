"""F001 split payments and F002 suspected duplicates: windows of recent payments per payee account."""

from collections.abc import Callable, MutableMapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from agents.config import ValidationRules
from agents.findings import Finding
from models.inputs import Payment
from models.money import format_fen


@dataclass(slots=True)  # not frozen: one per payment on the hot path, never mutated
class Recent:
    """A payment that was not rejected when it was decided."""

    at: datetime
    payment_id: str
    agency_code: str
    amount_fen: int
    economic_code: str


@dataclass(slots=True)
class PayeeHistory:
    """Recent non-rejected payments per payee account, pruned to the longest window."""

    rules: ValidationRules
    by_account: MutableMapping[str, list[Recent]] = field(default_factory=dict)
    _split_window: timedelta = field(init=False)
    _duplicate_window: timedelta = field(init=False)
    _memory: timedelta = field(init=False)

    def __post_init__(self) -> None:
        self._split_window = timedelta(hours=self.rules.split_window_hours)
        self._duplicate_window = timedelta(days=self.rules.duplicate_window_days)
        self._memory = max(self._split_window, self._duplicate_window)

    def findings(self, payment: Payment, is_live: Callable[[str], bool]) -> list[Finding]:
        """F001 and F002 for a payment against earlier ones still not rejected (`is_live`)."""
        recent = self.by_account.get(payment.payee.account)
        if not recent:
            return []
        found = []
        split = self._split(payment, recent, is_live)
        if split is not None:
            found.append(split)
        duplicate = self._duplicate(payment, recent, is_live)
        if duplicate is not None:
            found.append(duplicate)
        return found

    def _split(self, payment: Payment, recent: list[Recent], is_live: Callable[[str], bool]) -> Finding | None:
        threshold = self.rules.review_threshold
        if payment.amount >= threshold or len(recent) + 1 < self.rules.split_min_payments:
            return None
        since = payment.requested_at - self._split_window
        parts = [
            r for r in recent
            if r.agency_code == payment.agency_code and since <= r.at <= payment.requested_at
            and r.amount_fen < threshold and is_live(r.payment_id)
        ]
        count = len(parts) + 1
        total = sum(r.amount_fen for r in parts) + payment.amount
        if count < self.rules.split_min_payments or total <= threshold:
            return None
        return Finding(
            "F001", "hold",
            {
                "count": count,
                "total": format_fen(total),
                "threshold": format_fen(threshold),
                "window_hours": self.rules.split_window_hours,
                "payment_ids": [r.payment_id for r in parts],
            },
        )

    def _duplicate(self, payment: Payment, recent: list[Recent], is_live: Callable[[str], bool]) -> Finding | None:
        since = payment.requested_at - self._duplicate_window
        for r in recent:
            if (
                r.amount_fen == payment.amount and r.economic_code == payment.economic_code
                and since <= r.at <= payment.requested_at and r.payment_id != payment.payment_id
                and is_live(r.payment_id)
            ):
                return Finding(
                    "F002", "hold",
                    {"earlier_payment_id": r.payment_id, "window_days": self.rules.duplicate_window_days},
                )
        return None

    def record(self, payment: Payment) -> None:
        """Remember a payment that was not rejected; forget what no window can reach."""
        entry = Recent(payment.requested_at, payment.payment_id, payment.agency_code, payment.amount,
                       payment.economic_code)
        account = payment.payee.account
        recent = self.by_account.get(account)
        if recent is None:
            # A plain list: most accounts hold one or two entries, and a deque costs ~600 bytes empty.
            self.by_account[account] = [entry]
            return
        recent.append(entry)
        horizon = payment.requested_at - self._memory
        stale = 0
        while stale < len(recent) and recent[stale].at < horizon:
            stale += 1
        if stale:
            del recent[:stale]
        self.by_account[account] = recent  # written back: the mapping may be a durable table
