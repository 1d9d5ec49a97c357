"""The API as an aiohttp application: mounted on the faust worker's web server, or served alone.

`treasury serve` runs it over PostgreSQL (after `treasury replay --db`, or beside workers); the
Kafka worker mounts the same application under its own web server when it has a database.
"""

import asyncio
from collections.abc import AsyncIterator

from aiohttp import web

from stream.api import views
from stream.api.auth import Tokens
from stream.store.port import Store


def make_app(store: Store, tokens: Tokens, *, manage_store: bool = True) -> web.Application:
    """The routes over `store`; with `manage_store` the app opens the store on start and closes it."""
    app = web.Application(client_max_size=64 * 1024)  # requests carry no bodies worth more
    app.router.add_get("/health", _health)
    add_api(app, store, tokens, manage_store=manage_store)
    return app


def add_api(app: web.Application, store: Store, tokens: Tokens, *, manage_store: bool = True) -> None:
    """The /api routes on an existing application (the faust worker's own web server)."""
    app[views.STORE_KEY] = store
    app[views.TOKENS_KEY] = tokens
    app.router.add_get("/api/chains/{root}", views.guarded(views.READ, views.chain))
    app.router.add_get("/api/chains/{root}/recipients.csv", views.guarded(views.EXPORT, views.recipients_csv))
    app.router.add_get("/api/payments/{payment_id}", views.guarded(views.READ, views.payment))
    app.router.add_get("/api/forecasts/{treasury}", views.guarded(views.READ, views.forecast))
    if manage_store:
        app.cleanup_ctx.append(_store_lifecycle)


async def _health(request: web.Request) -> web.Response:
    return views.json_response({"status": "ok"})


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
