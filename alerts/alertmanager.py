"""Alertmanager-compatible push: `POST {url}/api/v2/alerts` with labels, annotations, startsAt, endsAt.

Labels identify an alert in Alertmanager, so they hold only what never changes for one alert
(alertname = code, alert_id, severity, subject); status and texts are annotations. A resolved
alert carries `endsAt` (when it resolved, event time); an open or acknowledged one has none, and
is pushed again every `resend_s` while it lasts, since Alertmanager resolves a firing alert it
has not heard of for its `resolve_timeout`.
"""

import asyncio
import contextlib
from typing import Any

import orjson

from alerts.catalogue import CATALOGUE
from alerts.delivery import Delivery, DeliveryLimits, Request
from models.outputs import Alert


def payload(alert: Alert) -> dict[str, Any]:
    """One alert in Alertmanager's v2 `postableAlert` shape."""
    rule = CATALOGUE.get(alert.code)
    labels = {"alertname": alert.code, "alert_id": alert.alert_id, "severity": alert.severity,
              "subject_kind": alert.subject.kind, "subject_id": alert.subject.id, "service": "treasury"}
    annotations = {"summary": rule.title_en if rule else alert.code, "summary_zh": rule.title_zh if rule else "",
                   "description": alert.message.en, "description_zh": alert.message.zh, "status": alert.status,
                   "actor": alert.actor}
    if rule is not None:
        annotations.update(clause=rule.clause, runbook=rule.runbook)
    out: dict[str, Any] = {"labels": labels, "annotations": annotations, "startsAt": alert.opened_at.isoformat()}
    if alert.status == "resolved":
        out["endsAt"] = alert.updated_at.isoformat()
    return out


class AlertmanagerSink(Delivery):
    """Pushes each alert state, and re-pushes the firing ones every `resend_s` (see the module docstring)."""

    name = "alertmanager"

    def __init__(self, url: str, limits: DeliveryLimits | None = None, resend_s: float = 60.0,
                 max_firing: int = 10_000) -> None:
        if resend_s <= 0 or max_firing < 1:
            raise ValueError("resend_s must be positive and max_firing at least 1")
        super().__init__(limits or DeliveryLimits())
        self.url = url.rstrip("/") + "/api/v2/alerts"
        self.resend_s = resend_s
        self.max_firing = max_firing  # bounded memory: beyond it, the oldest firing alert is not re-sent
        self.firing: dict[str, dict[str, Any]] = {}
        self._resender: asyncio.Task[None] | None = None

    def build(self, alert: Alert) -> Request:
        item = payload(alert)
        self.firing.pop(alert.alert_id, None)
        if alert.status != "resolved":
            self.firing[alert.alert_id] = item
            if len(self.firing) > self.max_firing:
                self.firing.pop(next(iter(self.firing)))
        return self._request([item])

    def _request(self, items: list[dict[str, Any]]) -> Request:
        return self.url, orjson.dumps(items), {"Content-Type": "application/json"}

    async def start(self) -> None:
        await super().start()
        if self._resender is None:
            self._resender = asyncio.create_task(self._resend(), name="alertmanager-resend")

    async def close(self, drain_s: float = 5.0) -> None:
        if self._resender is not None:
            self._resender.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._resender
            self._resender = None
        await super().close(drain_s)

    async def _resend(self) -> None:
        while True:
            await asyncio.sleep(self.resend_s)
            if self.firing:
                self.offer_request(self._request(list(self.firing.values())))
