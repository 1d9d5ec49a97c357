"""A live embedded runtime over the memory store, with the API in front, for the API and operator tests."""

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from aiohttp.test_utils import TestClient, TestServer

from agents.config import default_rules_text, parse_rules
from stream.api.auth import Tokens, digest_of
from stream.api.hub import AlertHub
from stream.api.server import make_app
from stream.engine import Engine
from stream.live import LiveOperator, LiveRuntime
from stream.store.memory import MemoryStore
from tests.unit.conftest import indicator_data, line, payment_data, project_data

TOKENS = {"viewer": "v-secret", "operator": "o-secret", "supervisor": "s-secret"}
CONFIG = ",".join(f"{role}:{digest_of(token)}" for role, token in TOKENS.items()) + ",operator:" + digest_of(
    "li-secret") + ":li.wei"
PERSON = {"name": "张三", "account": "6222000000007777", "bank_code": "102191000011", "kind": "individual"}

# IND-1 (1000.00, treasury 150100); PAY-1 and PAY-3 to individuals under 30201: held (F004), each
# with an F004 alert; PAY-2 accepted.
SCENARIO = [
    line("project", project_data()),
    line("indicator", indicator_data()),
    line("payment", payment_data(payment_id="PAY-1", amount="100.00", payee=PERSON)),
    line("payment", payment_data(payment_id="PAY-2", amount="600.00")),
    line("payment", payment_data(payment_id="PAY-3", amount="50.00", requested_at="2022-03-01T10:30:00+08:00",
                                 payee={**PERSON, "account": "6222000000008888"})),
]


def auth(role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKENS.get(role, role)}"}


@dataclass
class Live:
    client: TestClient[Any, Any]
    runtime: LiveRuntime
    store: MemoryStore
    hub: AlertHub

    async def push(self, *lines: bytes) -> None:
        target = self.runtime.applied_lines + len(lines)
        await self.runtime.push(list(lines))
        for _ in range(500):
            if self.runtime.written_lines >= target:
                return
            await asyncio.sleep(0.01)
        raise AssertionError("the live runtime did not apply the lines")


@asynccontextmanager
async def live(*, operator: bool = True, keepalive_s: float = 15.0) -> AsyncIterator[Live]:
    store = MemoryStore()
    hub = AlertHub(queue_size=64)
    runtime = LiveRuntime(Engine(parse_rules(default_rules_text())), store, hub, store=store)
    task = asyncio.create_task(runtime.run())

    async def running() -> tuple[bool, dict[str, Any]]:
        return runtime.running, {"engine": "running" if runtime.running else "stopped"}

    app = make_app(store, Tokens.parse(CONFIG), operator=LiveOperator(runtime, 2.0) if operator else None,
                   hub=hub, ready=[running], keepalive_s=keepalive_s)
    try:
        async with TestClient(TestServer(app)) as client:
            state = Live(client, runtime, store, hub)
            await asyncio.sleep(0)
            await state.push(*SCENARIO)
            yield state
    finally:
        runtime.finish()
        hub.close()
        await asyncio.wait_for(task, 5)


def run(check: Callable[[Live], Awaitable[None]], **options: Any) -> None:
    async def main() -> None:
        async with live(**options) as state:
            await check(state)

    asyncio.run(main())
