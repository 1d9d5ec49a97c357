"""A deterministic scenario of a fiscal year in Inner Mongolia, as JSON lines in event-time order.

`scenario(seed, payments, start)` yields the same bytes for the same arguments: one
`random.Random(seed)`, no clock, no global state. The stream holds the reference data (projects,
indicators with direct-fund allocation chains, carry-overs, adjustments, a blocklist), `payments`
normal payment instructions over the working days of the year, their settlements, daily treasury
flows and balance statements, daily clock events, and a handful of injected anomalies of every
kind (at least 2 each, growing with the square root of `payments`), each of which makes the engine
emit exactly its code and nothing else: `expected_codes` says what the engine must decide.

How accidents are avoided: every indicator is sized after the payments are planned (planned total
x 1.2-1.6, direct-fund leaves x 1.12-1.4 so they are more than half spent within 90 days); no
supplier account is paid twice within 24 h and no account sees the same amount and economic code
twice within 8 days; individuals are paid only under 301xx/303xx/30211/30226.
"""

from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Final

from stream.demo.anomalies import Injector
from stream.demo.context import Context, encode
from stream.demo.payees import Payees
from stream.demo.payments import emit_payments, emit_redeliveries, plan_normal
from stream.demo.records import Pay
from stream.demo.reference import Reference
from stream.demo.settlements import emit_settlements
from stream.demo.timeline import DAY
from stream.demo.treasury import Treasuries

_INVALID_LINES: Final = (
    b'{"type":"treasury_balance","data":{"treasury_code":"150100","balance":\n',
    b'{"type":"refund","data":{"payment_id":"ZF2022R0001","amount":"100.00"}}\n',
    b'{"type":"settlement","data":{"payment_id":"ZF2022S0001","indicator_id":"ZB","status":"settled",'
    b'"amount":100.5,"bank_ref":"HD1","settled_at":"2022-05-06T10:00:00+08:00"}}\n',
)


@dataclass(frozen=True, slots=True)
class Expected:
    """What the validation agent must emit for a scenario (duplicate re-emissions aside)."""

    normal_payments: int
    codes: Mapping[str, int]  # reason code -> decisions carrying it (V001 and V002 included)
    outcomes: Mapping[str, int]  # outcome -> decisions (first decisions, V001 and V002)
    duplicate_deliveries: int  # identical redeliveries: the original decision again
    invalid_lines: int  # lines that fail to decode, malformed payments included
    malformed_payments: int  # of which name a payment_id (a V001 decision each)
    settlement_anomalies: int  # T005 from settlements: unknown payment id, or amount differs
    injected: Mapping[str, int]  # how many of each injected anomaly
    lines: int


def scenario(seed: int = 7, payments: int = 5000, start: date = date(2022, 1, 4)) -> Iterator[bytes]:
    """The scenario's JSON lines (each ending in a newline), in event-time order."""
    lines, _ = _build(seed, payments, start)
    yield from lines


def write_scenario(path: Path, seed: int = 7, payments: int = 5000) -> int:
    """Write `scenario(seed, payments)` to `path`; return the number of lines written."""
    lines, _ = _build(seed, payments, date(2022, 1, 4))
    with Path(path).open("wb", buffering=1 << 20) as out:
        out.writelines(lines)
    return len(lines)


def expected_codes(seed: int = 7, payments: int = 5000, start: date = date(2022, 1, 4)) -> Expected:
    """What the validation agent must decide for `scenario(seed, payments, start)`."""
    return _build(seed, payments, start)[1]


def _build(seed: int, payments: int, start: date) -> tuple[list[bytes], Expected]:
    """The whole scenario: the order of these steps is the order of the random draws, keep it."""
    ctx = Context(seed, payments, start)
    ref = Reference(ctx)
    ref.build()
    payees = Payees(ctx)
    normal = plan_normal(ctx, ref.general, ref.carry_plain + ref.carry_research, ref.leaves)
    plan = sorted(normal + Injector(ctx, ref, payees).plan(), key=lambda p: p.at)
    payees.assign(plan)
    ref.size(plan)
    ref.emit()
    emit_payments(ctx, plan)
    conflicts = duplicates = emit_redeliveries(ctx, normal)
    Treasuries(ctx).emit(emit_settlements(ctx, plan, normal, ref.general))
    for day in range(len(ctx.cal.dates)):
        ctx.emit(day * DAY, encode("clock", {"now": ctx.cal.ts(day * DAY)}))
    for i in range(ctx.k):
        ctx.emit(ctx.pay_time(ctx.some_day()), _INVALID_LINES[i % len(_INVALID_LINES)])
    ctx.injected["invalid_line"] += ctx.k
    lines = ctx.lines()
    return lines, _expected(ctx, plan, conflicts, duplicates, len(lines))


def _expected(ctx: Context, plan: list[Pay], conflicts: int, duplicates: int, lines: int) -> Expected:
    codes: Counter[str] = Counter({"V002": conflicts})
    outcomes: Counter[str] = Counter({"rejected": conflicts})
    malformed = 0
    for p in plan:
        if p.malformed is not None:
            malformed += 1
            codes["V001"] += 1
            outcomes["rejected"] += 1
        if p.valid:
            codes.update(p.codes)
            outcomes[p.outcome] += 1
    return Expected(
        normal_payments=ctx.n, codes=dict(sorted(codes.items())), outcomes=dict(sorted(outcomes.items())),
        duplicate_deliveries=duplicates, invalid_lines=ctx.k + malformed, malformed_payments=malformed,
        settlement_anomalies=2 * max(1, ctx.k // 2), injected=dict(sorted(ctx.injected.items())),
        lines=lines,
    )
