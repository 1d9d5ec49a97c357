"""Persistence of the engine's outputs: the Store port, MemoryStore, and (asyncpg) `stream.store.postgres`.

Importing this package does not import asyncpg: the embedded runtime stays fast to start.
"""

from stream.store.errors import StoreError
from stream.store.memory import MemoryStore
from stream.store.port import Store

__all__ = ["MemoryStore", "Store", "StoreError"]
