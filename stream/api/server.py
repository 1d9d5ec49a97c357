"""The API as an aiohttp application: mounted on the faust worker's web server, or served alone.

`treasury serve` runs it read-only over PostgreSQL (after `treasury replay --db`, or beside
workers); `treasury live` serves it beside the running embedded engine, with operator actions
and the alert stream; the Kafka worker mounts the same routes on its own web server when it
has a database.
"""

import asyncio
from collections.abc import AsyncIterator

from aiohttp import web

from stream.api import actions, alerts, ops, views
from stream.api.auth import Tokens
from stream.api.hub import AlertHub
from stream.api.openapi import document
from stream.operator.port import Operator
from stream.store.port import Store


def make_app(store: Store, tokens: Tokens, *, manage_store: bool = True, operator: Operator | None = None,
             hub: AlertHub | None = None, ready: list[ops.ReadyCheck] | None = None,
             keepalive_s: float = 15.0) -> web.Application:
    """The routes over `store`; with `manage_store` the app opens the store on start and closes it."""
    app = web.Application(client_max_size=64 * 1024)  # requests carry no bodies worth more
    app.router.add_get("/metrics", ops.metrics)
    add_api(app, store, tokens, manage_store=manage_store, operator=operator, hub=hub, ready=ready,
            keepalive_s=keepalive_s)
    return app


def add_api(app: web.Application, store: Store, tokens: Tokens, *, manage_store: bool = True,
            operator: Operator | None = None, hub: AlertHub | None = None,
            ready: list[ops.ReadyCheck] | None = None, keepalive_s: float = 15.0) -> None:
    """/health, /ready and the /api routes on an application (the faust worker's has /metrics already)."""
    app[views.STORE_KEY] = store
    app[views.TOKENS_KEY] = tokens
    app[ops.READY_KEY] = ready or []
    app[alerts.KEEPALIVE_KEY] = keepalive_s
    if operator is not None:
        app[actions.OPERATOR_KEY] = operator
    if hub is not None:
        app[alerts.HUB_KEY] = hub
    read, export = views.READ, views.EXPORT
    add = app.router.add_get
    add("/health", ops.health)
    add("/ready", ops.ready)
    add("/api/openapi.json", _openapi)
    add("/api/alerts", views.guarded(read, alerts.list_alerts))
    add("/api/alerts/stream", views.guarded(read, alerts.stream_alerts))  # before {alert_id}
    add("/api/alerts/{alert_id}", views.guarded(read, alerts.one_alert))
    app.router.add_post("/api/alerts/{alert_id}/ack", actions.action("acknowledge", "alert_id"))
    app.router.add_post("/api/alerts/{alert_id}/resolve", actions.action("resolve", "alert_id"))
    add("/api/held", views.guarded(read, actions.held))
    add("/api/payments/{payment_id}", views.guarded(read, views.payment))
    app.router.add_post("/api/payments/{payment_id}/release", actions.action("release", "payment_id"))
    app.router.add_post("/api/payments/{payment_id}/reject", actions.action("reject", "payment_id"))
    add("/api/chains/{root}", views.guarded(read, views.chain))
    add("/api/chains/{root}/recipients.csv", views.guarded(export, views.recipients_csv))
    add("/api/forecasts/{treasury}", views.guarded(read, views.forecast))
    if manage_store:
        app.cleanup_ctx.append(_store_lifecycle)


async def _openapi(request: web.Request) -> web.Response:
    return views.json_response(document())


async def _store_lifecycle(app: web.Application) -> AsyncIterator[None]:
    store = app[views.STORE_KEY]
    await store.open()
    yield
    await store.close()


async def serve(app: web.Application, host: str, port: int, ready: asyncio.Event | None = None) -> None:
    """Serve until cancelled."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
        if ready is not None:
            ready.set()
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()
