"""The output port: where the runtime puts decisions, alerts, forecasts, chains, dead letters.

Lifecycle: `open()` once, `write(batch)` any number of times in order, `close()` once (it
flushes). A sink never reorders outputs of one type.
"""

from collections.abc import Sequence
from pathlib import Path
from typing import IO, Protocol

from models.base import WireModel
from models.codec import TYPE_NAME, encode

# One file per output type (DESIGN §5), written even when empty.
OUTPUT_FILES = {
    "decision": "decisions.jsonl",
    "alert": "alerts.jsonl",
    "forecast": "forecasts.jsonl",
    "chain": "chains.jsonl",
    "deadletter": "deadletters.jsonl",
}


class Sink(Protocol):
    async def open(self) -> None: ...

    async def write(self, batch: Sequence[WireModel]) -> None: ...

    async def close(self) -> None: ...


class MemorySink:
    """Keeps every output in order, per type; for tests and embedding."""

    def __init__(self) -> None:
        self.lines: dict[str, list[bytes]] = {name: [] for name in OUTPUT_FILES}
        self.closed = False

    async def open(self) -> None:
        self.closed = False

    async def write(self, batch: Sequence[WireModel]) -> None:
        for model in batch:
            self.lines[TYPE_NAME[type(model)]].append(encode(model))

    async def close(self) -> None:
        self.closed = True


class FileSink:
    """JSON-lines files in a directory, one per output type, buffered."""

    def __init__(self, directory: Path, buffer_bytes: int = 1 << 20) -> None:
        self.directory = directory
        self.buffer_bytes = buffer_bytes
        self._files: dict[str, IO[bytes]] = {}

    async def open(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        for name, filename in OUTPUT_FILES.items():
            self._files[name] = (self.directory / filename).open("wb", buffering=self.buffer_bytes)

    async def write(self, batch: Sequence[WireModel]) -> None:
        files = self._files
        for model in batch:
            files[TYPE_NAME[type(model)]].write(encode(model))

    async def close(self) -> None:
        for handle in self._files.values():
            handle.close()
        self._files.clear()
