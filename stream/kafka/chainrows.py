"""Chain rows as messages on `<prefix>chain-row`: how a worker tells Postgres about its part of a chain.

A chain spans partitions (a region's indicator on one, its counties' on others), so no worker
holds a whole chain. Each worker sends the rows it alone writes: a node row for every indicator
it owns whose account changed (with the account's version), a payment row for every payment on
its indicators whose status changed (with its stage). Postgres puts the chain together when it
is read (recursive SQL, stream/store/sql.py); the versions and stages make a late copy harmless.
"""

from datetime import datetime

import orjson

from agents.ledger import Account
from agents.validation.agent import PaymentRecord
from models.inputs import Indicator
from stream.store.rows import PAYMENT_STAGE, Row, utc

NODE, PAYMENT = "n", "p"


def node_message(indicator: Indicator, root: str, account: Account) -> bytes:
    return orjson.dumps([NODE, indicator.indicator_id, root, indicator.parent_indicator_id, indicator.treasury_code,
                         indicator.agency_code, account.amount, account.allocated, account.reserved, account.spent,
                         indicator.issued_at.isoformat(), account.version])


def payment_message(payment_id: str, record: PaymentRecord, root: str) -> bytes | None:
    """None for a record kept before payees were (it cannot name its recipient)."""
    payee = record.payee
    if payee is None:
        return None
    return orjson.dumps([PAYMENT, payment_id, record.indicator_id, root, payee.name, payee.account, payee.kind,
                         record.amount_fen, record.status])


def read(value: bytes) -> tuple[str, Row]:
    """A message back as a row of `chain_nodes` or `chain_payments`."""
    kind, *fields = orjson.loads(value)
    if kind == NODE:
        (indicator_id, root, parent, treasury, agency, amount, allocated, reserved, spent, issued_at,
         version) = fields
        return NODE, {"indicator_id": indicator_id, "root": root, "parent_indicator_id": parent,
                      "treasury_code": treasury, "agency_code": agency, "amount_fen": amount,
                      "allocated_fen": allocated, "reserved_fen": reserved, "spent_fen": spent,
                      "issued_at": utc(datetime.fromisoformat(issued_at)), "version": version}
    if kind == PAYMENT:
        payment_id, indicator_id, root, name, account, payee_kind, amount, status = fields
        return PAYMENT, {"payment_id": payment_id, "indicator_id": indicator_id, "root": root, "payee_name": name,
                         "payee_account": account, "payee_kind": payee_kind, "amount_fen": amount, "status": status,
                         "stage": PAYMENT_STAGE[status]}
    raise ValueError(f"unknown chain row kind {kind!r}")
