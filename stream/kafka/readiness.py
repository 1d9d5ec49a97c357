"""The worker's readiness for `/ready`: not rebalancing, its tables recovered, and what it owns."""

from typing import Any

from stream.api.ops import ReadyCheck


def worker_ready(app: Any) -> ReadyCheck:
    """A check over a faust app: ready once recovery has completed and no rebalance is under way."""

    async def check() -> tuple[bool, dict[str, Any]]:
        rebalancing = bool(getattr(app, "rebalancing", False))
        recovering = bool(getattr(app, "in_recovery", False))
        recovered = app.tables.recovery.completed.is_set() and not recovering
        try:
            assigned = len(app.consumer.assignment())
        except Exception:  # no consumer yet (starting): nothing assigned
            assigned = 0
        ok = recovered and not rebalancing
        return ok, {"worker": "ready" if ok else "rebalancing" if rebalancing else "recovering",
                    "assigned_partitions": assigned}

    return check
