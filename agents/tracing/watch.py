"""Direct-funds deadlines in event time: T001 not moved, T003 stagnant, T005 unsettled.

A deadline is scheduled when its clock starts (an indicator's first version, a payment
accepted) and checked when event time passes it; whatever happens before that (an allocation,
a payment, a settlement) cancels it. A deadline that fired stays until its condition clears,
then the clearing signal resolves the alert. Event time advances per *lane*: the Kafka runtime
gives each partition its own lane, so one partition's time never passes another's deadlines.
"""

import heapq
from collections.abc import Callable, Mapping, MutableMapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from agents.config import TracingRules
from agents.ledger import Account
from alerts.signals import AlertSignal, SubjectKind
from models.inputs import Indicator
from models.money import format_fen

UNALLOCATED, STAGNANT, UNSETTLED = "T001", "T003", "T005"


@dataclass(slots=True)  # not frozen: a frozen dataclass's __init__ costs 3x (one per payment)
class Deadline:
    """When a condition is checked, about what, and whether it already fired."""

    code: str
    subject_id: str  # the indicator (T001, T003) or the payment (T005)
    indicator_id: str  # whose ledger decides it
    lane: str
    since: datetime  # issued_at, or when the payment was accepted
    due_at: datetime
    fired: bool = False


@dataclass(slots=True)
class TraceWatch:
    """The T001/T003/T005 clocks; `deadlines` may be a durable table (keys: code + subject)."""

    rules: TracingRules
    accounts: Mapping[str, Account]
    deadlines: MutableMapping[str, Deadline] = field(default_factory=dict)
    # Whether the bank has answered a payment (settled or returned). A T005 deadline is checked
    # against it when due: in order its settlement cancels it first, but a deadline that comes
    # back after its settlement (Kafka state recovered after a broker restart) must not fire.
    answered: Callable[[str], bool] = field(default=lambda _payment_id: False)
    # Per lane, (due_at, key) in due order; rebuilt from `deadlines` after `reload()`. Entries
    # whose deadline went meanwhile are skipped when popped.
    _heaps: dict[str, list[tuple[datetime, str]]] | None = None

    def reload(self) -> None:
        """Forget the in-memory order (the durable deadlines were recovered or moved)."""
        self._heaps = None

    def opened(self, indicator: Indicator, direct: bool, lane: str) -> None:
        """A new indicator: direct funds must move within N days and be spent within M."""
        if not direct:
            return
        since = indicator.issued_at
        self._schedule(UNALLOCATED, indicator.indicator_id, indicator.indicator_id, lane, since,
                       self.rules.unallocated_days)
        self._schedule(STAGNANT, indicator.indicator_id, indicator.indicator_id, lane, since,
                       self.rules.stagnant_days)

    def used(self, indicator_id: str, at: datetime) -> list[AlertSignal]:
        """Money moved on from the indicator (an allocation granted or a payment accepted)."""
        return self._cancel(UNALLOCATED, indicator_id, at)

    def drawn(self, indicator_id: str, at: datetime) -> list[AlertSignal]:
        """An allocation from the indicator: used, and no longer a leaf that can stagnate."""
        return [*self.used(indicator_id, at), *self._cancel(STAGNANT, indicator_id, at)]

    def accepted(self, payment_id: str, indicator_id: str, at: datetime, lane: str) -> list[AlertSignal]:
        """A payment accepted: it must settle within N days."""
        self._schedule(UNSETTLED, payment_id, indicator_id, lane, at, self.rules.unsettled_days)
        return self.used(indicator_id, at)

    def closed(self, payment_id: str, at: datetime) -> list[AlertSignal]:
        """A payment settled or returned: no longer waiting for the bank."""
        return self._cancel(UNSETTLED, payment_id, at)

    def spent(self, indicator_id: str, at: datetime) -> list[AlertSignal]:
        """The indicator's spending changed: a stagnation that fired may have cleared."""
        deadline = self.deadlines.get(_key(STAGNANT, indicator_id))
        if deadline is None or not deadline.fired or self._stagnant(deadline) is not None:
            return []
        return self._cancel(STAGNANT, indicator_id, at)

    def advance(self, lane: str, now: datetime) -> list[AlertSignal]:
        """Check every deadline of the lane due at or before `now`, in due order."""
        heap = self._heaps.get(lane) if self._heaps is not None else None
        if heap is None:
            heap = self._heap(lane)
        if not heap or heap[0][0] > now:
            return []  # the common case, once per event: one comparison
        signals: list[AlertSignal] = []
        while heap and heap[0][0] <= now:
            due_at, key = heapq.heappop(heap)
            deadline = self.deadlines.get(key)
            if deadline is None or deadline.fired or deadline.due_at != due_at:
                continue
            answered = deadline.code == UNSETTLED and self.answered(deadline.subject_id)
            evidence = None if answered else self._check(deadline)
            if evidence is None:
                del self.deadlines[key]
                continue
            self.deadlines[key] = Deadline(deadline.code, deadline.subject_id, deadline.indicator_id, deadline.lane,
                                           deadline.since, deadline.due_at, fired=True)
            kind: SubjectKind = "payment" if deadline.code == UNSETTLED else "indicator"
            signals.append(AlertSignal(deadline.code, kind, deadline.subject_id, due_at, evidence))
        return signals

    def _schedule(self, code: str, subject_id: str, indicator_id: str, lane: str, since: datetime,
                  days: int) -> None:
        key = _key(code, subject_id)
        if key in self.deadlines:
            return  # already running (a redelivery, or a release after a hold)
        deadline = Deadline(code, subject_id, indicator_id, lane, since, since + _days(days))
        self.deadlines[key] = deadline
        if self._heaps is not None:
            heapq.heappush(self._heaps.setdefault(lane, []), (deadline.due_at, key))

    def _cancel(self, code: str, subject_id: str, at: datetime) -> list[AlertSignal]:
        key = _key(code, subject_id)
        deadline = self.deadlines.get(key)
        if deadline is None:
            return []
        del self.deadlines[key]
        kind: SubjectKind = "payment" if code == UNSETTLED else "indicator"
        cleared = AlertSignal(code, kind, subject_id, at, active=False)
        if deadline.fired:
            return [cleared]
        if at < deadline.due_at:
            return []
        # Too late, though this lane's time had not reached the deadline yet (another partition's
        # step arrived first): the condition did hold from the deadline until now, so say so, as a
        # replay that saw time pass in order would have.
        evidence = self._check(deadline)
        if evidence is None:
            return []
        return [AlertSignal(code, kind, subject_id, deadline.due_at, evidence), cleared]

    def _heap(self, lane: str) -> list[tuple[datetime, str]]:
        if self._heaps is None:
            heaps: dict[str, list[tuple[datetime, str]]] = {}
            for key, deadline in self.deadlines.items():
                if not deadline.fired:
                    heaps.setdefault(deadline.lane, []).append((deadline.due_at, key))
            for entries in heaps.values():
                heapq.heapify(entries)
            self._heaps = heaps
        return self._heaps.setdefault(lane, [])

    def _check(self, deadline: Deadline) -> dict[str, str | int] | None:
        """The evidence if the condition holds at its deadline, else None."""
        if deadline.code == STAGNANT:
            return self._stagnant(deadline)
        if deadline.code == UNALLOCATED:
            return {"indicator_id": deadline.subject_id, "days": self.rules.unallocated_days,
                    "issued_at": deadline.since.isoformat()}
        days = self.rules.unsettled_days
        return {"payment_id": deadline.subject_id, "indicator_id": deadline.indicator_id,
                "problem": f"accepted {days} days ago and not settled", "problem_zh": f"受理 {days} 日仍未清算",
                "accepted_at": deadline.since.isoformat()}

    def _stagnant(self, deadline: Deadline) -> dict[str, str | int] | None:
        account = self.accounts.get(deadline.indicator_id)
        if account is None or account.allocated > 0:
            return None
        threshold = self.rules.stagnant_spent_percent
        if account.spent * 100 >= account.amount * threshold:
            return None
        return {"indicator_id": deadline.subject_id, "days": self.rules.stagnant_days,
                "spent_percent": account.spent * 100 // account.amount, "spent": format_fen(account.spent),
                "amount": format_fen(account.amount), "issued_at": deadline.since.isoformat()}


_SPANS: dict[int, timedelta] = {}


def _days(days: int) -> timedelta:
    span = _SPANS.get(days)
    if span is None:
        span = _SPANS[days] = timedelta(days=days)
    return span


def _key(code: str, subject_id: str) -> str:
    return f"{code}\x1f{subject_id}"
