"""The webhook sink: each alert state as JSON, signed with HMAC-SHA256 of the body.

Receivers check `X-Treasury-Signature: sha256=<hex>` against HMAC-SHA256(secret, raw body) in
constant time before trusting the payload. The body is the alert wire object (DESIGN §3).
"""

import hashlib
import hmac

from alerts.delivery import Delivery, DeliveryLimits, Request
from models.codec import encode_data
from models.outputs import Alert

SIGNATURE_HEADER = "X-Treasury-Signature"


def signature(secret: bytes, body: bytes) -> str:
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


class WebhookSink(Delivery):
    """POSTs each alert state to `url`, signed; bounded, retried, never blocking (see Delivery)."""

    name = "webhook"

    def __init__(self, url: str, secret: bytes, limits: DeliveryLimits | None = None) -> None:
        if not secret:
            raise ValueError("a webhook needs a signing secret")
        super().__init__(limits or DeliveryLimits())
        self.url = url
        self._secret = secret

    def build(self, alert: Alert) -> Request:
        body = encode_data(alert)
        return self.url, body, {"Content-Type": "application/json", "X-Treasury-Event": "alert",
                                SIGNATURE_HEADER: signature(self._secret, body)}
