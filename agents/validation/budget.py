"""Indicators on the ledger: opening, versioned adjustment, and allocation from a parent in steps.

An allocation (an indicator with a parent) is a reservation on the parent. In the Kafka runtime
the parent and the child live on different partitions, so the change runs as steps, each on the
partition of the indicator it changes (single writer):

1. `receive` on the parent's partition: check the version, debit the parent for a growing
   allocation (or refuse with T002), remember what was debited, then hand an `Install` on;
2. `install` on the child's partition: open or adjust the child; when the child refuses (stale,
   moved, below what it committed) or shrinks, hand a `GiveBack` on;
3. `give_back` on the parent's partition: credit the parent and settle what is remembered.

The embedded runtime runs the three steps at once, in order. Every step is idempotent for a
given version, so a redelivered step after a crash changes nothing twice.
"""

from collections.abc import MutableMapping
from dataclasses import dataclass, field

from agents.findings import Refusal
from agents.ledger import Ledger
from alerts.signals import AlertSignal
from models.inputs import Indicator
from models.money import format_fen

# (version, amount in fen) of an allocation as debited from its parent.
Allocation = tuple[int, int]


@dataclass(frozen=True, slots=True)
class Install:
    """Step 2: open or adjust `indicator` on its own partition."""

    indicator: Indicator
    direct_fund_code: str | None
    debited_fen: int  # what step 1 debited from the parent for this version (undone on refusal)
    shrink_fen: int  # what the parent gets back once the child accepts a smaller amount
    previous: Allocation | None  # the parent's record before step 1, restored on refusal


@dataclass(frozen=True, slots=True)
class GiveBack:
    """Step 3: credit the parent and record (or restore) what its child holds."""

    parent_id: str
    child_id: str
    credit_fen: int
    record: Allocation | None


BudgetOut = Refusal | AlertSignal | Install | GiveBack


@dataclass(slots=True)
class Budget:
    """Indicators and their accounts; the mappings may be durable tables."""

    ledger: Ledger = field(default_factory=Ledger)
    indicators: MutableMapping[str, Indicator] = field(default_factory=dict)
    # The direct-fund document an indicator belongs to, its own or inherited from a parent.
    direct_fund: MutableMapping[str, str] = field(default_factory=dict)
    allocations: MutableMapping[str, Allocation] = field(default_factory=dict)
    stale_versions: int = 0

    def apply(self, new: Indicator) -> list[BudgetOut]:
        """All steps at once (embedded runtime): the outcomes, without the hand-overs."""
        pending: list[BudgetOut] = list(self.receive(new))
        done: list[BudgetOut] = []
        while pending:
            item = pending.pop(0)
            if isinstance(item, Install):
                pending.extend(self.install(item))
            elif isinstance(item, GiveBack):
                pending.extend(self.give_back(item))
            else:
                done.append(item)
        return done

    def receive(self, new: Indicator) -> list[BudgetOut]:
        """Step 1, on the parent's partition (or the indicator's own when it has no parent)."""
        parent_id = new.parent_indicator_id
        if parent_id is None:
            return [Install(new, new.direct_fund_code, 0, 0, None)]
        if parent_id == new.indicator_id:
            return [Refusal("own_parent", "an indicator cannot be allocated from itself")]
        if parent_id not in self.indicators:
            return [Refusal("unknown_parent", f"parent indicator {parent_id} is unknown")]
        previous = self.allocations.get(new.indicator_id)
        if previous is not None and new.version <= previous[0]:
            # The child's own partition decides whether it is a conflict; nothing to debit here.
            return [Install(new, None, 0, 0, previous)]
        delta = new.amount - (previous[1] if previous is not None else 0)
        inherited = new.direct_fund_code or self.direct_fund.get(parent_id)
        available = self.ledger.available(parent_id)
        if delta > available:
            return [AlertSignal(
                "T002", "indicator", parent_id, new.issued_at,
                {"indicator_id": parent_id, "child_indicator_id": new.indicator_id,
                 "requested": format_fen(delta), "available": format_fen(available)},
            )]
        if delta > 0:
            self.ledger.allocate(parent_id, delta)
        if delta >= 0:
            self.allocations[new.indicator_id] = (new.version, new.amount)
        return [Install(new, inherited, max(delta, 0), max(-delta, 0), previous)]

    def install(self, step: Install) -> list[BudgetOut]:
        """Step 2, on the indicator's own partition."""
        new, old = step.indicator, self.indicators.get(step.indicator.indicator_id)
        refusal = self._refusal(new, old)
        if refusal is not None:
            out: list[BudgetOut] = [refusal] if refusal.error_code != "stale" else []
            if step.debited_fen and new.parent_indicator_id is not None:
                out.append(GiveBack(new.parent_indicator_id, new.indicator_id, step.debited_fen, step.previous))
            return out
        if old is None:
            self.ledger.open(new.indicator_id, new.amount)
        else:
            self.ledger.adjust(new.indicator_id, new.amount)
        self.indicators[new.indicator_id] = new
        if step.direct_fund_code is not None:
            self.direct_fund[new.indicator_id] = step.direct_fund_code
        if step.shrink_fen and new.parent_indicator_id is not None:
            record = (new.version, new.amount)
            return [GiveBack(new.parent_indicator_id, new.indicator_id, step.shrink_fen, record)]
        return []

    def _refusal(self, new: Indicator, old: Indicator | None) -> Refusal | None:
        if old is None:
            return None
        if new.version <= old.version:
            self.stale_versions += 1
            if new.version == old.version and new != old:
                return Refusal("version_conflict", f"version {new.version} was already applied with other content")
            return Refusal("stale", "")
        if new.parent_indicator_id != old.parent_indicator_id:
            return Refusal("parent_changed", "an adjustment may not move an indicator to another parent")
        committed = self.ledger.accounts[new.indicator_id].committed
        if new.amount < committed:
            return Refusal(
                "below_committed",
                f"adjustment to {format_fen(new.amount)} is below the committed {format_fen(committed)}",
            )
        return None

    def give_back(self, step: GiveBack) -> list[BudgetOut]:
        """Step 3, on the parent's partition: credit it and settle the allocation record."""
        if self.allocations.get(step.child_id) == step.record:
            return []  # a redelivered step: already credited
        self.ledger.allocate(step.parent_id, -step.credit_fen)
        if step.record is None:
            self.allocations.pop(step.child_id, None)
        else:
            self.allocations[step.child_id] = step.record
        return []
