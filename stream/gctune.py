"""Garbage-collector thresholds for a process that runs the engine.

The engine keeps a large, long-lived state (every indicator, payment record, cash book and alert)
and makes many short-lived objects per event. CPython's default thresholds run a full collection,
which walks the whole state, every few hundred thousand allocations: a third of a replay's CPU in
the generated region. Young garbage is still collected often; full collections become rare. Cycles
are rare in the engine (most objects are freed by reference counting), so memory barely moves.
"""

import gc

# Allocations between young collections, young collections per middle one, middle per full one.
ENGINE_THRESHOLDS = (20_000, 50, 1_000)


def tune_for_engine() -> None:
    """Set the thresholds for this process (the CLI does it for replay, demo and worker)."""
    gc.set_threshold(*ENGINE_THRESHOLDS)
