"""Reference state: indicators (versioned, on the ledger), projects (versioned history), blocklist."""

from dataclasses import dataclass, field

from agents.findings import Refusal
from agents.ledger import Ledger
from alerts.signals import AlertSignal
from models.inputs import Indicator, PayeeBlock, Project
from models.money import format_fen


@dataclass(slots=True)
class ReferenceState:
    """Everything the payment rules look up; mutated only through the methods below."""

    ledger: Ledger = field(default_factory=Ledger)
    indicators: dict[str, Indicator] = field(default_factory=dict)
    # The direct-fund document an indicator belongs to, its own or inherited from a parent.
    direct_fund: dict[str, str] = field(default_factory=dict)
    projects: dict[str, list[Project]] = field(default_factory=dict)
    blocklist: dict[str, PayeeBlock] = field(default_factory=dict)
    stale_versions: int = 0

    def project(self, project_id: str) -> Project | None:
        history = self.projects.get(project_id)
        return history[-1] if history else None

    def apply_project(self, project: Project) -> bool:
        """Append a newer version to the history; a lower or equal version is ignored."""
        history = self.projects.setdefault(project.project_id, [])
        if history and project.version <= history[-1].version:
            self.stale_versions += 1
            return False
        history.append(project)
        return True

    def apply_block(self, block: PayeeBlock) -> None:
        self.blocklist.setdefault(block.account, block)

    def apply_indicator(self, new: Indicator) -> Refusal | AlertSignal | None:
        """Open or adjust an indicator; an allocation also debits its parent.

        Returns a refusal (kept as a dead letter) or a T002 signal when it cannot be applied.
        """
        old = self.indicators.get(new.indicator_id)
        if old is not None and new.version <= old.version:
            self.stale_versions += 1
            if new.version == old.version and new != old:
                return Refusal("version_conflict", f"version {new.version} was already applied with other content")
            return None
        parent_id = new.parent_indicator_id
        if parent_id == new.indicator_id:
            return Refusal("own_parent", "an indicator cannot be allocated from itself")
        if old is not None and parent_id != old.parent_indicator_id:
            return Refusal("parent_changed", "an adjustment may not move an indicator to another parent")
        if parent_id is not None and parent_id not in self.indicators:
            return Refusal("unknown_parent", f"parent indicator {parent_id} is unknown")
        if old is not None:
            committed = self.ledger.accounts[new.indicator_id].committed
            if new.amount < committed:
                return Refusal(
                    "below_committed",
                    f"adjustment to {format_fen(new.amount)} is below the committed {format_fen(committed)}",
                )
        delta = new.amount - (old.amount if old is not None else 0)
        if parent_id is not None and delta > 0 and delta > self.ledger.available(parent_id):
            return AlertSignal(
                "T002", "indicator", parent_id, new.issued_at,
                {
                    "indicator_id": parent_id,
                    "child_indicator_id": new.indicator_id,
                    "requested": format_fen(delta),
                    "available": format_fen(self.ledger.available(parent_id)),
                },
            )
        if parent_id is not None and delta != 0:
            self.ledger.allocate(parent_id, delta)
        if old is None:
            self.ledger.open(new.indicator_id, new.amount)
        else:
            self.ledger.adjust(new.indicator_id, new.amount)
        inherited = new.direct_fund_code or (self.direct_fund.get(parent_id) if parent_id is not None else None)
        if inherited is not None:
            self.direct_fund[new.indicator_id] = inherited
        self.indicators[new.indicator_id] = new
        return None
