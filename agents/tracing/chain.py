"""Fund chains: build them from the ledger state, walk them, and check that they reconcile.

A chain is one allocation tree: every indicator joins its parent's chain, and a chain's root is
the top indicator's direct_fund_code, or its id where there is none. Nodes are listed top-down
(depth, then id) and payments by id, so the same state always gives the same bytes.
"""

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from agents.ledger import Account
from agents.validation.agent import PaymentRecord
from models.base import trusted
from models.inputs import Indicator
from models.money import format_fen
from models.outputs import Chain, ChainNode, ChainPayment


def node_of(indicator: Indicator, account: Account) -> ChainNode:
    return trusted(
        ChainNode,
        indicator_id=indicator.indicator_id,
        parent_indicator_id=indicator.parent_indicator_id,
        treasury_code=indicator.treasury_code,
        agency_code=indicator.agency_code,
        amount=account.amount,
        allocated=account.allocated,
        reserved=account.reserved,
        spent=account.spent,
        issued_at=indicator.issued_at,
    )


def payment_of(payment_id: str, record: PaymentRecord) -> ChainPayment | None:
    """The chain's view of a decided payment (None for state kept before payees were)."""
    if record.payee is None:
        return None
    return trusted(
        ChainPayment,
        payment_id=payment_id,
        indicator_id=record.indicator_id,
        payee_name=record.payee.name,
        payee_account=record.payee.account,
        payee_kind=record.payee.kind,
        amount=record.amount_fen,
        status=record.status,
    )


def build_chains(
    roots: Mapping[str, str],
    indicators: Mapping[str, Indicator],
    accounts: Mapping[str, Account],
    payments: Mapping[str, PaymentRecord],
) -> list[Chain]:
    """Every chain in the state, by root."""
    nodes: dict[str, list[ChainNode]] = defaultdict(list)
    for indicator_id, root in roots.items():
        nodes[root].append(node_of(indicators[indicator_id], accounts[indicator_id]))
    paid: dict[str, list[ChainPayment]] = defaultdict(list)
    for payment_id, record in payments.items():
        paid_from = roots.get(record.indicator_id)  # None: a payment to an unknown indicator (B001)
        view = payment_of(payment_id, record) if paid_from is not None else None
        if paid_from is not None and view is not None:
            paid[paid_from].append(view)
    return [assemble(root, nodes[root], paid[root]) for root in sorted(nodes)]


def assemble(root: str, nodes: Iterable[ChainNode], payments: Iterable[ChainPayment]) -> Chain:
    """A chain from its parts in any order, in the canonical order."""
    by_id = {node.indicator_id: node for node in nodes}
    depth: dict[str, int] = {}

    def depth_of(indicator_id: str) -> int:
        # Iterative, bounded by the node count: a malformed cycle cannot loop forever.
        path: list[str] = []
        current: str | None = indicator_id
        while current is not None and current in by_id and current not in depth and len(path) <= len(by_id):
            path.append(current)
            current = by_id[current].parent_indicator_id
        base = depth.get(current, -1) if current is not None else -1
        for offset, item in enumerate(reversed(path), start=1):
            depth[item] = base + offset
        return depth[indicator_id]

    ordered = sorted(by_id.values(), key=lambda n: (depth_of(n.indicator_id), n.indicator_id))
    return trusted(Chain, root=root, nodes=tuple(ordered),
                   payments=tuple(sorted(payments, key=lambda p: p.payment_id)))


@dataclass(frozen=True, slots=True)
class Mismatch:
    """A place where a chain's totals do not add up, and by how much (fen)."""

    indicator_id: str
    what: str
    expected_fen: int
    actual_fen: int

    def describe(self) -> str:
        return (f"{self.indicator_id}: {self.what} is {format_fen(self.actual_fen)}, "
                f"expected {format_fen(self.expected_fen)}")


def reconcile(chain: Chain) -> list[Mismatch]:
    """Every node's allocations equal its children's amounts; its spending and reservations equal
    what its payments say (settled → spent; accepted or held → reserved)."""
    children: dict[str, int] = defaultdict(int)
    for node in chain.nodes:
        if node.parent_indicator_id is not None:
            children[node.parent_indicator_id] += node.amount
    settled: dict[str, int] = defaultdict(int)
    reserved: dict[str, int] = defaultdict(int)
    for payment in chain.payments:
        if payment.status == "settled":
            settled[payment.indicator_id] += payment.amount
        elif payment.status in ("accepted", "held"):
            reserved[payment.indicator_id] += payment.amount
    out: list[Mismatch] = []
    for node in chain.nodes:
        node_id = node.indicator_id
        for what, expected, actual in (("allocated", children[node_id], node.allocated),
                                       ("spent", settled[node_id], node.spent),
                                       ("reserved", reserved[node_id], node.reserved)):
            if expected != actual:
                out.append(Mismatch(node_id, what, expected, actual))
    return out


def path_up(chain: Chain, indicator_id: str) -> list[ChainNode]:
    """From an indicator up to the chain's top, bottom first (empty if it is not in the chain)."""
    by_id = {node.indicator_id: node for node in chain.nodes}
    path: list[ChainNode] = []
    current: str | None = indicator_id
    while current is not None and current in by_id and len(path) <= len(by_id):
        path.append(by_id[current])
        current = by_id[current].parent_indicator_id
    return path


def mask_account(account: str) -> str:
    """Every character but the last four hidden: who was paid stays checkable, not exposed."""
    return "*" * max(0, len(account) - 4) + account[-4:]


def masked(chain: Chain) -> Chain:
    """The chain with every payee account masked (for everyone but supervisors)."""
    payments = tuple(p.model_copy(update={"payee_account": mask_account(p.payee_account)}) for p in chain.payments)
    return chain.model_copy(update={"payments": payments})
