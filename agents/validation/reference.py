"""Reference state: the budget (indicators on the ledger), projects (versioned history), blocklist."""

from collections.abc import MutableMapping
from dataclasses import dataclass, field

from agents.validation.budget import Budget
from models.inputs import PayeeBlock, Project


@dataclass(slots=True)
class ReferenceState(Budget):
    """Everything the payment rules look up; mutated only through the methods here and in Budget."""

    projects: MutableMapping[str, list[Project]] = field(default_factory=dict)
    blocklist: MutableMapping[str, PayeeBlock] = field(default_factory=dict)

    def project(self, project_id: str) -> Project | None:
        history = self.projects.get(project_id)
        return history[-1] if history else None

    def apply_project(self, project: Project) -> bool:
        """Append a newer version to the history; a lower or equal version is ignored."""
        history = self.projects.get(project.project_id, [])
        if history and project.version <= history[-1].version:
            self.stale_versions += 1
            return False
        # Reassigned, not appended in place: the mapping may be a durable table.
        self.projects[project.project_id] = [*history, project]
        return True

    def apply_block(self, block: PayeeBlock) -> None:
        if block.account not in self.blocklist:
            self.blocklist[block.account] = block
