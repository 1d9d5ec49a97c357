"""Webhook and Alertmanager sinks against a loopback aiohttp server: signature, retries, back-pressure."""

import asyncio
import hashlib
import hmac
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import orjson
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from alerts.alertmanager import AlertmanagerSink, payload
from alerts.delivery import DeliveryLimits
from alerts.lifecycle import AlertBook
from alerts.signals import AlertSignal
from alerts.webhook import SIGNATURE_HEADER, WebhookSink
from models.outputs import Alert
from tests.unit.conftest import T0

SECRET = b"shared-secret"
FAST = DeliveryLimits(timeout_s=1.0, queue_size=100, max_attempts=3, backoff_s=0.01, backoff_max_s=0.02)


def alerts() -> list[Alert]:
    book = AlertBook()
    signal = AlertSignal("R001", "treasury", "150100", T0, {"balance": "1.00", "floor": "2.00"})
    opened = book.apply(signal)
    resolved = book.apply(AlertSignal("R001", "treasury", "150100", T0, {}, active=False))
    assert opened is not None and resolved is not None
    return [opened, resolved]


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@asynccontextmanager
async def receiver(handler: Handler, path: str = "/hook") -> AsyncIterator[TestServer]:
    app = web.Application()
    app.router.add_post(path, handler)
    server = TestServer(app)
    await server.start_server()
    try:
        yield server
    finally:
        await server.close()


async def settle(sink: Any, count: int, deadline_s: float = 3.0) -> None:
    started = time.monotonic()
    while sink.delivered + sink.failed < count:
        assert time.monotonic() - started < deadline_s, "the sink did not finish in time"
        await asyncio.sleep(0.01)


def test_the_webhook_signs_the_body_and_the_receiver_can_verify_it() -> None:
    received: list[tuple[bytes, str]] = []

    async def hook(request: web.Request) -> web.Response:
        received.append((await request.read(), request.headers[SIGNATURE_HEADER]))
        return web.Response(status=204)

    async def main() -> None:
        async with receiver(hook) as server:
            sink = WebhookSink(str(server.make_url("/hook")), SECRET, FAST)
            await sink.start()
            for alert in alerts():
                assert sink.offer(alert)
            await settle(sink, 2)
            await sink.close()
        assert sink.delivered == 2 and sink.failed == sink.dropped == 0
        for body, signed in received:
            expected = "sha256=" + hmac.new(SECRET, body, hashlib.sha256).hexdigest()
            assert hmac.compare_digest(signed, expected)
            forged = "sha256=" + hmac.new(b"other", body, hashlib.sha256).hexdigest()
            assert not hmac.compare_digest(signed, forged)
        assert [orjson.loads(body)["status"] for body, _ in received] == ["open", "resolved"]  # in order

    asyncio.run(main())


def test_failures_are_retried_with_back_off_and_4xx_is_final() -> None:
    answers = [503, 500, 200, 400]
    seen: list[float] = []

    async def flaky(request: web.Request) -> web.Response:
        seen.append(time.monotonic())
        return web.Response(status=answers.pop(0))

    async def main() -> None:
        async with receiver(flaky) as server:
            sink = WebhookSink(str(server.make_url("/hook")), SECRET, FAST)
            waits: list[float] = []

            async def sleep(seconds: float) -> None:
                waits.append(seconds)

            sink.sleep = sleep
            await sink.start()
            opened, resolved = alerts()
            sink.offer(opened)  # 503, 500, then 200
            await settle(sink, 1)
            sink.offer(resolved)  # 400: not retried
            await settle(sink, 2)
            await sink.close()
        assert (sink.delivered, sink.failed, len(seen)) == (1, 1, 4)
        assert waits == [0.01, 0.02]  # doubling, capped at backoff_max_s

    asyncio.run(main())


def test_an_unreachable_receiver_is_given_up_after_max_attempts() -> None:
    async def main() -> None:
        sink = WebhookSink("http://127.0.0.1:1/hook", SECRET, FAST)
        await sink.start()
        sink.offer(alerts()[0])
        await settle(sink, 1)
        await sink.close()
        assert (sink.delivered, sink.failed) == (0, 1)

    asyncio.run(main())


def test_a_stuck_receiver_never_blocks_the_stream() -> None:
    release = asyncio.Event()

    async def stuck(request: web.Request) -> web.Response:
        await release.wait()
        return web.Response(status=200)

    async def main() -> None:
        async with receiver(stuck) as server:
            limits = DeliveryLimits(timeout_s=5.0, queue_size=3, max_attempts=1, backoff_s=0.01, backoff_max_s=0.01)
            sink = WebhookSink(str(server.make_url("/hook")), SECRET, limits)
            await sink.start()
            alert = alerts()[0]
            sink.offer(alert)
            await asyncio.sleep(0.05)  # the sender has taken it and waits on the receiver
            started = time.monotonic()
            accepted = [sink.offer(alert) for _ in range(1000)]
            elapsed = time.monotonic() - started
            assert elapsed < 0.5  # never waited on the receiver
            assert accepted.count(True) == 3 and sink.dropped == 997
            release.set()
            await settle(sink, 4)
            await sink.close()
        assert sink.delivered == 4

    asyncio.run(main())


def test_alertmanager_gets_v2_alerts_and_firing_ones_again() -> None:
    posts: list[Any] = []

    async def api(request: web.Request) -> web.Response:
        posts.append(orjson.loads(await request.read()))
        return web.Response(status=200)

    async def main() -> None:
        async with receiver(api, "/api/v2/alerts") as server:
            sink = AlertmanagerSink(str(server.make_url("/")), FAST, resend_s=0.05)
            await sink.start()
            opened, resolved = alerts()
            sink.offer(opened)
            # The firing alert is pushed again while it lasts (waited for, not slept: a loaded
            # machine may take longer than a few resend periods).
            for _ in range(500):
                if len(posts) >= 3:
                    break
                await asyncio.sleep(0.01)
            sink.offer(resolved)
            count = len(posts)
            await asyncio.sleep(0.2)
            await sink.close()
        assert count >= 3  # the first push and at least two re-sends
        assert len(posts) <= count + 2  # once resolved, it is no longer re-sent (one in flight at most)
        first = posts[0][0]
        assert first["labels"] == {"alertname": "R001", "alert_id": opened.alert_id, "severity": "critical",
                                   "subject_kind": "treasury", "subject_id": "150100", "service": "treasury"}
        assert first["startsAt"] == opened.opened_at.isoformat() and "endsAt" not in first
        assert first["annotations"]["runbook"] and first["annotations"]["status"] == "open"
        last = next(p[0] for p in posts if "endsAt" in p[0])
        assert last["endsAt"] == resolved.updated_at.isoformat() and last["labels"] == first["labels"]
        assert sink.firing == {}

    asyncio.run(main())


def test_payload_of_an_acknowledged_alert_keeps_firing() -> None:
    book = AlertBook()
    opened = book.apply(AlertSignal("R001", "treasury", "150100", T0, {"balance": "1.00", "floor": "2.00"}))
    assert opened is not None
    acked = book.acknowledge(opened.alert_id, "li", T0)
    assert acked is not None
    shaped = payload(acked)
    assert "endsAt" not in shaped and shaped["annotations"]["status"] == "acknowledged"
    assert shaped["annotations"]["actor"] == "li"


def test_limits_and_secrets_are_checked() -> None:
    with pytest.raises(ValueError, match="secret"):
        WebhookSink("http://x", b"")
    with pytest.raises(ValueError, match="queue"):
        DeliveryLimits(queue_size=0)
    with pytest.raises(ValueError, match="back-off"):
        DeliveryLimits(backoff_s=5, backoff_max_s=1)
    assert [DeliveryLimits(backoff_s=1, backoff_max_s=5).backoff(n) for n in (1, 2, 3, 4)] == [1, 2, 4, 5]
