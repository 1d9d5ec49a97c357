"""Payment instructions: the normal plan, their lines, redeliveries, conflicting resends, malformed copies."""

from typing import Any, Final

import orjson

from models.money import format_fen
from stream.demo import region
from stream.demo.context import Context, encode
from stream.demo.records import Indicator, Pay
from stream.demo.timeline import DAY, HOUR

MALFORMED: Final = ("amount_number", "naive_time", "three_decimals", "extra_field", "missing_kind")
_MONTH_WEIGHT: Final = (0.6, 0.7, 0.9, 1.0, 1.0, 1.1, 1.0, 1.0, 1.1, 1.0, 1.2, 1.8)  # year-end rush


def new_pay(ctx: Context, ind: Indicator, at: int, amount: int | None = None, kind: str | None = None) -> Pay:
    """A payment from `ind` at time `at`; by default an amount and payee kind typical of its economic code."""
    return Pay(at, ind, ctx.amount(ind.economic) if amount is None else amount,
               kind or region.ECONOMIC_PROFILES[ind.economic].payee, ind.indicator_id, ind.agency.code,
               ind.project_id, ind.function, ind.economic)


def plan_normal(ctx: Context, general: list[Indicator], carryovers: list[Indicator],
                leaves: list[Indicator]) -> list[Pay]:
    """General budgets 70 % (weighted by level, more in December), carry-overs 8 %, direct funds 22 %
    (within ~2 months of their allocation, the first payment within 8 working days)."""
    rng = ctx.rng
    n_direct = min(int(ctx.n * 0.22), 40 * len(leaves))
    n_carry = int(ctx.n * 0.08)
    n_general = ctx.n - n_direct - n_carry
    weights = [(3 - ind.agency.level) * rng.lognormvariate(0, 0.5) for ind in general]
    day_weights = [_MONTH_WEIGHT[ctx.cal.dates[d].month - 1] for d in ctx.pay_days]
    days = rng.choices(range(len(ctx.pay_days)), weights=day_weights, k=n_general + n_carry)
    targets = rng.choices(general, weights=weights, k=n_general)
    targets += rng.choices(carryovers, k=n_carry)
    plan = [new_pay(ctx, ind, ctx.pay_time(day)) for ind, day in zip(targets, days, strict=True)]
    first = leaves[:n_direct]
    more = rng.choices(leaves, weights=[rng.random() + 0.3 for _ in leaves], k=n_direct - len(first))
    for leaf in first:
        plan.append(new_pay(ctx, leaf, ctx.pay_time(rng.randint(leaf.window[0], min(leaf.window[1],
                                                                                    leaf.window[0] + 7)))))
    plan.extend(new_pay(ctx, leaf, ctx.pay_time(rng.randint(*leaf.window))) for leaf in more)
    for i, p in enumerate(plan):
        if rng.random() < 0.004:  # an approved temporary advance (暂付款)
            p.advance, p.approval = True, f"ZFK{ctx.year}-{i:05d}"
    return plan


def emit_payments(ctx: Context, plan: list[Pay]) -> None:
    """Each payment's line (kept on it), preceded by its malformed copy if it has one."""
    cal = ctx.cal
    for p in plan:
        if p.payee is None:
            raise AssertionError("every planned payment has a payee once assigned")
        what = region.ECONOMIC_PROFILES[p.economic].name
        data: dict[str, Any] = {
            "payment_id": p.pid, "indicator_id": p.indicator_id, "agency_code": p.agency,
            "project_id": p.project, "function_code": p.function, "economic_code": p.economic,
            "amount": format_fen(p.amount),
            "payee": {"name": p.payee[0], "account": p.payee[1], "bank_code": p.payee[2], "kind": p.kind},
            "method": "authorized" if p.economic.startswith("302") and p.amount < 5_000_000 else "direct",
            "purpose": f"{ctx.year}年{cal.dates[p.at // DAY].month}月{what}", "advance": p.advance,
            "requested_at": cal.ts(p.at),
        }
        if p.approval is not None:
            data["advance_approval"] = p.approval
        if p.malformed is not None:
            ctx.emit(p.malformed_at, malformed(p.malformed, {**data, "requested_at": cal.ts(p.malformed_at)}))
        if p.valid:
            p.line = encode("payment", data)
            ctx.emit(p.at, p.line)


def emit_redeliveries(ctx: Context, normal: list[Pay]) -> int:
    """Identical redeliveries (the original decision again) and conflicting resends (V002)."""
    rng = ctx.rng
    k = min(ctx.k, len(normal) // 2)  # a tiny scenario has fewer payments to resend
    chosen = rng.sample(normal, 2 * k)
    for p in chosen[:k]:
        ctx.emit(p.at + rng.randrange(300, 2 * HOUR), p.line)
    for p in chosen[k:]:
        data = orjson.loads(p.line)
        data["data"]["amount"] = format_fen(p.amount + rng.randrange(100, 50_000))
        ctx.emit(p.at + rng.randrange(1800, 4 * HOUR), orjson.dumps(data, option=orjson.OPT_APPEND_NEWLINE))
    ctx.injected.update(redelivery=k, V002=k)
    return k


def malformed(kind: str, data: dict[str, Any]) -> bytes:
    """A payment line that breaks the contract in one way but still names its payment_id."""
    if kind == "amount_number":
        data["amount"] = int(data["amount"].replace(".", "")) / 100  # a JSON number, never money
    elif kind == "naive_time":
        data["requested_at"] = data["requested_at"][:19]
    elif kind == "three_decimals":
        data["amount"] += "5"
    elif kind == "extra_field":
        data["remark"] = "加急"
    else:
        data["payee"] = {key: value for key, value in data["payee"].items() if key != "kind"}
    return encode("payment", data)
