"""Settlements of accepted payments, with returned, wrong-amount, never-settled and unknown ones."""

from models.money import format_fen
from stream.demo.context import Context, encode
from stream.demo.records import Indicator, Pay
from stream.demo.timeline import DAY, HOUR


def emit_settlements(ctx: Context, plan: list[Pay], normal: list[Pay],
                     general: list[Indicator]) -> dict[int, dict[str, int]]:
    """Accepted payments settle 1-3 days later, except a few returned, one amount differing and
    one never settled; one settlement names an unknown payment. Returns outflows by day/treasury."""
    rng, cal, k = ctx.rng, ctx.cal, ctx.k
    m = max(1, k // 2)
    special = rng.sample(normal, k + 2 * m)
    returned, wrong, never = (set(map(id, special[:k])), set(map(id, special[k:k + m])),
                              set(map(id, special[k + m:])))
    ctx.injected.update(returned=k, settlement_amount=m, unsettled=m, settlement_unknown=m)
    outflows: dict[int, dict[str, int]] = {}
    refs = 0
    for p in plan:
        if not p.valid or p.outcome != "accepted" or id(p) in never:
            continue
        at = (p.at // DAY + rng.randint(1, 3)) * DAY + rng.randrange(9 * HOUR, 17 * HOUR)
        status = "returned" if id(p) in returned else "settled"
        amount = p.amount + ((-1000 if p.amount > 2000 else 1000) if id(p) in wrong else 0)
        refs += 1
        ctx.emit(at, encode("settlement", {
            "payment_id": p.pid, "indicator_id": p.indicator_id, "status": status,
            "amount": format_fen(amount), "bank_ref": f"HD{cal.compact[at // DAY]}{refs:08d}",
            "settled_at": cal.ts(at),
        }))
        if status == "settled":
            day = outflows.setdefault(at // DAY, {})
            day[p.ind.agency.treasury] = day.get(p.ind.agency.treasury, 0) + amount
    for i in range(m):
        at, ind = ctx.pay_time(ctx.some_day()), rng.choice(general)
        refs += 1
        ctx.emit(at, encode("settlement", {
            "payment_id": f"ZF{ctx.year}{99_000_000 + i:08d}", "indicator_id": ind.indicator_id,
            "status": "settled", "amount": format_fen(ctx.amount(ind.economic)),
            "bank_ref": f"HD{cal.compact[at // DAY]}{refs:08d}", "settled_at": cal.ts(at),
        }))
    return outflows
