"""Indicators on the ledger: opening, versioned adjustment, and allocation from a parent in steps.

An allocation (an indicator with a parent) is a reservation on the parent. In the Kafka runtime
the parent and the child live on different partitions, so each step runs on the partition of the
indicator it changes (single writer), and the child is not payable until its parent has paid for
it (TigerBeetle-style two-phase):

1. `receive` on the child's partition: check the version, the parent link and what the child
   has committed. A root, or a child that does not grow, is applied at once (a shrinking child
   hands a `Credit` to its parent). A growing child waits as *pending* and hands a `Debit` on.
2. `debit` on the parent's partition: reserve the growth on the parent, or refuse it (T002),
   and answer the child with a `Verdict`.
3. `verdict` on the child's partition: apply the pending version, or drop it.
   `credit` on the parent's partition gives back what a shrinking child released.

The embedded runtime runs the steps at once, in order. Every step is idempotent per version, so
a step redelivered after a crash changes nothing twice. Payments for a child that is still
pending wait for its verdict (see ValidationAgent), so no payment races its own indicator.
"""

from collections.abc import MutableMapping
from dataclasses import dataclass, field
from datetime import datetime

from agents.findings import Refusal
from agents.ledger import Ledger
from alerts.signals import AlertSignal
from models.inputs import Indicator
from models.money import format_fen

# (version, amount in fen) of a child as last debited from its parent.
Allocation = tuple[int, int]


@dataclass(frozen=True, slots=True)
class Debit:
    """Step 2: reserve `delta_fen` on the parent for this version of the child."""

    parent_id: str
    child_id: str
    version: int
    amount_fen: int
    delta_fen: int
    at: datetime


@dataclass(frozen=True, slots=True)
class Verdict:
    """Step 3: the parent's answer to a Debit, handed back to the child."""

    child_id: str
    version: int
    granted: bool
    direct_fund_code: str | None
    at: datetime
    # The parent's chain root: a child always joins its parent's chain.
    root: str | None = None


@dataclass(frozen=True, slots=True)
class Credit:
    """The parent gets back what a child released by shrinking (no answer needed)."""

    parent_id: str
    child_id: str
    version: int
    amount_fen: int
    delta_fen: int
    at: datetime


@dataclass(frozen=True, slots=True)
class Opened:
    """A fact for the tracing agent: an indicator's first version is on the ledger."""

    indicator: Indicator
    root: str
    direct_fund_code: str | None


@dataclass(frozen=True, slots=True)
class Drawn:
    """A fact for the tracing agent: an allocation to a child was granted from this indicator."""

    indicator_id: str
    at: datetime


Step = Debit | Verdict | Credit
TraceFact = Opened | Drawn
BudgetOut = Refusal | AlertSignal | Step | TraceFact


def step_target(step: Step) -> str:
    """The indicator whose partition runs this step."""
    return step.child_id if isinstance(step, Verdict) else step.parent_id


@dataclass(slots=True)
class Budget:
    """Indicators and their accounts; the mappings may be durable tables."""

    ledger: Ledger = field(default_factory=Ledger)
    indicators: MutableMapping[str, Indicator] = field(default_factory=dict)
    # The direct-fund document an indicator belongs to, its own or inherited from a parent.
    direct_fund: MutableMapping[str, str] = field(default_factory=dict)
    # The root of the fund chain an indicator belongs to (DESIGN §3 `chain.root`): its parent's
    # root (a chain is one allocation tree), else its direct_fund_code, else itself.
    roots: MutableMapping[str, str] = field(default_factory=dict)
    # On a parent's partition: what each child holds of it.
    allocations: MutableMapping[str, Allocation] = field(default_factory=dict)
    # On a child's partition: the version waiting for its parent's verdict, then later ones.
    pending: MutableMapping[str, list[Indicator]] = field(default_factory=dict)
    # On a parent's partition: debits that arrived before the parent itself (Kafka runtime only:
    # another partition's step can overtake the parent's own event; see ARCHITECTURE.md).
    early_debits: MutableMapping[str, list[Debit]] = field(default_factory=dict)
    wait_for_parents: bool = False
    stale_versions: int = 0

    def apply(self, new: Indicator) -> list[BudgetOut]:
        """Every step at once (embedded runtime): the outcomes, without the hand-overs."""
        queue: list[BudgetOut] = self.receive(new)
        done: list[BudgetOut] = []
        while queue:
            item = queue.pop(0)
            if isinstance(item, Debit | Verdict | Credit):
                queue.extend(self.run(item))
            else:
                done.append(item)
        return done

    def run(self, step: Step) -> list[BudgetOut]:
        if isinstance(step, Debit):
            return self.debit(step)
        if isinstance(step, Verdict):
            return self.verdict(step)
        return self.credit(step)

    def receive(self, new: Indicator) -> list[BudgetOut]:
        """Step 1, on the indicator's own partition; waits behind a version still in flight."""
        queue = self.pending.get(new.indicator_id)
        if queue:
            refusal = self._stale(new, [*queue, self.indicators.get(new.indicator_id)])
            if refusal is not None:
                return [] if refusal.error_code == "stale" else [refusal]
            self.pending[new.indicator_id] = [*queue, new]
            return []
        return self._start(new)

    def _start(self, new: Indicator) -> list[BudgetOut]:
        old = self.indicators.get(new.indicator_id)
        refusal = self._refusal(new, old)
        if refusal is not None:
            return [] if refusal.error_code == "stale" else [refusal]
        parent_id = new.parent_indicator_id
        delta = new.amount - (old.amount if old is not None else 0)
        if parent_id is None or delta <= 0:
            out = self._install(new, new.direct_fund_code or self.direct_fund.get(new.indicator_id), None)
            if parent_id is not None and delta < 0:
                out.append(Credit(parent_id, new.indicator_id, new.version, new.amount, -delta, new.issued_at))
            return out
        self.pending[new.indicator_id] = [new]
        return [Debit(parent_id, new.indicator_id, new.version, new.amount, delta, new.issued_at)]

    def _stale(self, new: Indicator, known: list[Indicator | None]) -> Refusal | None:
        versions = [k for k in known if k is not None]
        if not versions or new.version > max(k.version for k in versions):
            return None
        self.stale_versions += 1
        if any(k.version == new.version and k != new for k in versions):
            return Refusal("version_conflict", f"version {new.version} was already received with other content")
        return Refusal("stale", "")

    def _refusal(self, new: Indicator, old: Indicator | None) -> Refusal | None:
        if new.parent_indicator_id == new.indicator_id:
            return Refusal("own_parent", "an indicator cannot be allocated from itself")
        if old is None:
            return None
        stale = self._stale(new, [old])
        if stale is not None:
            return stale
        if new.parent_indicator_id != old.parent_indicator_id:
            return Refusal("parent_changed", "an adjustment may not move an indicator to another parent")
        committed = self.ledger.accounts[new.indicator_id].committed
        if new.amount < committed:
            return Refusal(
                "below_committed",
                f"adjustment to {format_fen(new.amount)} is below the committed {format_fen(committed)}",
            )
        return None

    def _install(self, new: Indicator, direct_fund_code: str | None, parent_root: str | None) -> list[BudgetOut]:
        """Apply a version; a new indicator answers the debits that were waiting for it."""
        out: list[BudgetOut] = []
        if new.indicator_id in self.indicators:
            self.ledger.adjust(new.indicator_id, new.amount)
        else:
            self.ledger.open(new.indicator_id, new.amount)
            root = parent_root or new.direct_fund_code or new.indicator_id
            self.roots[new.indicator_id] = root
            out.append(Opened(new, root, direct_fund_code))
        self.indicators[new.indicator_id] = new
        if direct_fund_code is not None:
            self.direct_fund[new.indicator_id] = direct_fund_code
        for debit in self.early_debits.pop(new.indicator_id, None) or []:
            out.extend(self.debit(debit))
        return out

    def debit(self, step: Debit) -> list[BudgetOut]:
        """Step 2, on the parent's partition."""
        inherited = self.direct_fund.get(step.parent_id)
        root = self.roots.get(step.parent_id)
        held = self.allocations.get(step.child_id)
        if held is not None and step.version <= held[0]:
            return [Verdict(step.child_id, step.version, held[0] == step.version, inherited, step.at, root)]
        if step.parent_id not in self.indicators:
            if self.wait_for_parents:
                self.early_debits[step.parent_id] = [*self.early_debits.get(step.parent_id, []), step]
                return []
            return [
                Refusal("unknown_parent", f"parent indicator {step.parent_id} is unknown"),
                Verdict(step.child_id, step.version, False, None, step.at),
            ]
        available = self.ledger.available(step.parent_id)
        if step.delta_fen > available:
            signal = AlertSignal(
                "T002", "indicator", step.parent_id, step.at,
                {"indicator_id": step.parent_id, "child_indicator_id": step.child_id,
                 "requested": format_fen(step.delta_fen), "available": format_fen(available)},
            )
            return [signal, Verdict(step.child_id, step.version, False, None, step.at)]
        self.ledger.allocate(step.parent_id, step.delta_fen)
        self.allocations[step.child_id] = (step.version, step.amount_fen)
        return [Drawn(step.parent_id, step.at), Verdict(step.child_id, step.version, True, inherited, step.at, root)]

    def verdict(self, step: Verdict) -> list[BudgetOut]:
        """Step 3, on the child's partition: apply or drop the version in flight, start the next."""
        queue = self.pending.get(step.child_id)
        if not queue or queue[0].version != step.version:
            return []  # a redelivered verdict, already applied or dropped
        del self.pending[step.child_id]
        head, waiting = queue[0], queue[1:]
        out: list[BudgetOut] = []
        if step.granted:
            out.extend(self._install(head, head.direct_fund_code or step.direct_fund_code, step.root))
        for later in waiting:
            out.extend(self.receive(later))
        return out

    def credit(self, step: Credit) -> list[BudgetOut]:
        """On the parent's partition: take back what a shrinking child released."""
        held = self.allocations.get(step.child_id)
        if held is None or step.version <= held[0]:
            return []  # redelivered, or older than what the parent already knows
        self.ledger.allocate(step.parent_id, -step.delta_fen)
        self.allocations[step.child_id] = (step.version, step.amount_fen)
        return []
