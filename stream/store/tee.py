"""TeeSink: one Sink that writes every batch to several (e.g. the output files and the database)."""

from collections.abc import Sequence

from models.base import WireModel
from stream.sinks import Sink


class TeeSink:
    """Opens, writes and closes its sinks in order; closes every opened one even after an error."""

    def __init__(self, *sinks: Sink) -> None:
        self.sinks = sinks
        self._opened: list[Sink] = []

    async def open(self) -> None:
        try:
            for sink in self.sinks:
                await sink.open()
                self._opened.append(sink)
        except BaseException:
            await self.close()
            raise

    async def write(self, batch: Sequence[WireModel]) -> None:
        for sink in self.sinks:
            await sink.write(batch)

    async def close(self) -> None:
        opened, self._opened = self._opened, []
        error: BaseException | None = None
        for sink in reversed(opened):
            try:
                await sink.close()
            except Exception as exc:  # close the others, then raise the first
                error = error or exc
        if error is not None:
            raise error
