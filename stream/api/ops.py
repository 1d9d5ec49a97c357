"""Liveness, readiness and Prometheus metrics: what the ops team and the orchestrator poll.

`/health` answers while the process serves. `/ready` says whether it can do its job: the store
answers, plus whatever the runtime adds (the live engine task running; in the Kafka worker,
partitions assigned and tables recovered). Neither needs a token: they carry no data.
"""

from collections.abc import Awaitable, Callable
from typing import Any, Final

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Counter, generate_latest

from stream.api.views import STORE_KEY, json_response
from stream.store.errors import StoreError

# Extra readiness of the runtime around the API: (ready, details).
ReadyCheck = Callable[[], Awaitable[tuple[bool, dict[str, Any]]]]
READY_KEY: Final = web.AppKey("ready-checks", list[ReadyCheck])

OPERATOR_ACTIONS: Final = Counter(
    "treasury_operator_actions", "Operator actions through the API, by action and HTTP status",
    ["action", "status"],
)


async def health(request: web.Request) -> web.Response:
    return json_response({"status": "ok"})


async def ready(request: web.Request) -> web.Response:
    checks: dict[str, Any] = {}
    ok = True
    try:
        await request.app[STORE_KEY].ping()
        checks["store"] = "ok"
    except StoreError as failure:
        ok, checks["store"] = False, f"unavailable: {failure}"
    for check in request.app.get(READY_KEY, []):
        passed, details = await check()
        ok = ok and passed
        checks.update(details)
    response = json_response({"status": "ready" if ok else "not ready", "checks": checks})
    response.set_status(200 if ok else 503)
    return response


async def metrics(request: web.Request) -> web.Response:
    return web.Response(body=generate_latest(REGISTRY), headers={"Content-Type": CONTENT_TYPE_LATEST})
