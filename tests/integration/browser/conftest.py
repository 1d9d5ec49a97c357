"""The console in headless Chromium: a live demo engine served from a thread, the browser from Debian's package.

The server is the demo's own wiring (stream/demo/showcase.build) over the memory store, fed a
generated region unpaced, on a free loopback port. Chromium is /usr/bin/chromium (CHROMIUM to
override), driven by playwright without its own browser download, with the network features
that would call out switched off and a fresh profile per run. Screenshots go to test-artifacts/.
"""

import asyncio
import os
import shutil
import threading
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest
from aiohttp import web
from prometheus_client import CollectorRegistry

from stream.api.auth import Tokens, digest_of
from stream.demo.generator import scenario
from stream.demo.showcase import Showcase, build
from stream.metrics import EngineMetrics
from stream.settings import Settings
from stream.sinks import MemorySink
from stream.store.memory import MemoryStore
from tests.integration.services import free_port

ROOT = Path(__file__).resolve().parents[3]
ARTIFACTS = ROOT / "test-artifacts"
TOKENS = {"viewer": "browser-viewer", "operator": "browser-operator", "supervisor": "browser-supervisor"}
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]
T = TypeVar("T")


@dataclass
class Served:
    """The running demo server: its address, engine, store, and a way to run coroutines on its loop."""

    base: str
    shown: Showcase
    store: MemoryStore
    loop: asyncio.AbstractEventLoop

    def call(self, coroutine: Coroutine[Any, Any, T], timeout_s: float = 60.0) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout_s)

    def push(self, *lines: bytes) -> None:
        """Lines into the engine; returns once they are applied and written."""
        runtime = self.shown.runtime

        async def applied() -> None:
            target = runtime.applied_lines + len(lines)
            await runtime.push(list(lines))
            while runtime.applied_lines < target or not runtime._inputs.empty():
                await asyncio.sleep(0.02)
            await asyncio.sleep(0.1)  # the writes after the last line

        self.call(applied())


@pytest.fixture(scope="session")
def served() -> Iterator[Served]:
    config = ",".join(f"{role}:{digest_of(token)}:browser-{role}" for role, token in TOKENS.items())
    store = MemoryStore()
    port = free_port()
    loop = asyncio.new_event_loop()
    started = threading.Event()
    holder: dict[str, Any] = {}

    async def main() -> None:
        shown = build(Settings(), store, MemorySink(), Tokens.parse(config), EngineMetrics(CollectorRegistry()))
        runner = web.AppRunner(shown.app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        holder["shown"], holder["runner"] = shown, runner
        holder["engine"] = asyncio.create_task(shown.runtime.run())
        started.set()

    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    asyncio.run_coroutine_threadsafe(main(), loop).result(30)
    started.wait(30)
    serving = Served(f"http://127.0.0.1:{port}", holder["shown"], store, loop)
    lines = [raw.rstrip(b"\n") for raw in scenario(11, 150)]
    for start in range(0, len(lines), 2000):
        serving.push(*lines[start:start + 2000])
    yield serving

    async def stop() -> None:
        holder["shown"].runtime.finish()
        holder["shown"].hub.close()
        await holder["engine"]
        await holder["runner"].cleanup()

    serving.call(stop())
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)


@pytest.fixture(scope="session")
def chromium_path() -> str:
    path = os.environ.get("CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    # Fail, not skip: CI installs Debian's chromium (.ci/run); a browser test that skips proves nothing.
    assert Path(path).is_file(), f"headless Chromium not found at {path} (Debian package: chromium)"
    return path


# Module scope, not session: playwright's sync API keeps an event loop running in this thread
# while it is open, and every later test that calls asyncio.run() would then fail.
@pytest.fixture(scope="module")
def browser_context(chromium_path: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    profile = tmp_path_factory.mktemp("chromium-profile")  # a fresh --user-data-dir
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(profile), executable_path=chromium_path, headless=True, args=CHROMIUM_FLAGS,
            viewport={"width": 1280, "height": 860}, locale="zh-CN", timezone_id="Asia/Shanghai",
        )
        try:
            yield context
        finally:
            context.close()


@pytest.fixture
def page(browser_context: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A fresh tab (its own sessionStorage); its screenshot is kept as a test artefact."""
    tab = browser_context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda error: errors.append(str(error)))
    try:
        yield tab
        ARTIFACTS.mkdir(exist_ok=True)
        tab.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
        assert not errors, f"JavaScript errors on the page: {errors}"
    finally:
        tab.close()


def sign_in(page: Any, served: Served, role: str, route: str = "") -> None:
    page.goto(f"{served.base}/console/{route}")
    page.fill("#token", TOKENS[role])
    page.click("#token-form button[type=submit]")
