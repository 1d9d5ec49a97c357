"""The API against its own OpenAPI document, property-based (schemathesis): no 500, no crash.

Every operation of /api/openapi.json gets generated path ids, query values and cursors (hostile
unicode, huge strings, bad dates, unknown enum values included), each sent without a token,
with an unknown one and with every role's token, to a real HTTP server over the live embedded
runtime (memory store, operator port). The server-sent event stream is left out: it never ends.
"""

import asyncio
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import schemathesis
from aiohttp import web
from hypothesis import HealthCheck, settings

from agents.config import default_rules_text, parse_rules
from stream.api.auth import Tokens
from stream.api.hub import AlertHub
from stream.api.openapi import document
from stream.api.server import make_app
from stream.engine import Engine
from stream.live import LiveOperator, LiveRuntime
from stream.store.memory import MemoryStore
from tests.unit.live_helpers import CONFIG, SCENARIO, TOKENS

schema = schemathesis.openapi.from_dict(document()).exclude(path="/api/alerts/stream")
HEADERS: dict[str, dict[str, str]] = {
    "none": {},
    "unknown": {"Authorization": "Bearer not-a-token"},
    "malformed": {"Authorization": "Bearer \xff\xe9 \x7f"},  # latin-1: what HTTP clients can send
    **{role: {"Authorization": f"Bearer {token}"} for role, token in TOKENS.items()},
}
PUBLIC = {"/health", "/ready", "/metrics", "/api/openapi.json"}


class _Server:
    """The API on a real TCP port, in a thread with its own event loop."""

    def __init__(self) -> None:
        self.base_url = ""
        self._ready = threading.Event()
        self._loop = asyncio.new_event_loop()
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._loop.run_until_complete, args=(self._main(),), daemon=True)

    def __enter__(self) -> "_Server":
        self._thread.start()
        if not self._ready.wait(30):
            raise RuntimeError("the API server did not start")
        return self

    def __exit__(self, *exc: object) -> None:
        if self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(30)

    async def _main(self) -> None:
        self._stop = asyncio.Event()
        store, hub = MemoryStore(), AlertHub(queue_size=64)
        runtime = LiveRuntime(Engine(parse_rules(default_rules_text())), store, hub, store=store)
        task = asyncio.create_task(runtime.run())

        async def running() -> tuple[bool, dict[str, Any]]:
            return runtime.running, {"engine": "running" if runtime.running else "stopped"}

        app = make_app(store, Tokens.parse(CONFIG), operator=LiveOperator(runtime, 2.0), hub=hub, ready=[running])
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        host, port = runner.addresses[0][:2]
        self.base_url = f"http://{host}:{port}"
        await runtime.push(list(SCENARIO))  # alerts, held payments, decisions to find
        self._ready.set()
        try:
            await self._stop.wait()
        finally:
            runtime.finish()
            hub.close()
            await asyncio.wait_for(task, 5)
            await runner.cleanup()


@pytest.fixture(scope="module")
def server() -> Iterator[_Server]:
    with _Server() as running:
        yield running


@schema.parametrize()
@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_request_gets_a_server_error(case: Any, server: _Server) -> None:
    session = requests.Session()
    for who, headers in HEADERS.items():
        response = case.call(base_url=server.base_url, session=session, headers=headers, timeout=15)
        assert response.status_code < 500, f"{who}: {case.method} {case.formatted_path} -> {response.status_code}"
        if case.path not in PUBLIC and who in ("none", "unknown", "malformed"):
            # No token, no data: refused (401; 400 for a header HTTP itself refuses; 405 for a
            # method the route does not have), never answered.
            assert response.status_code in (400, 401, 405), f"{who}: {case.method} {case.formatted_path} -> " \
                                                            f"{response.status_code}"
    # The server is still up and answers after whatever this case sent.
    assert session.get(f"{server.base_url}/health", timeout=15).status_code == 200
