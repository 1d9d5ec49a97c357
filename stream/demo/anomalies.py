"""The injected anomalies: payments that each make the validation agent emit exactly one code."""

from typing import Final

from stream.demo import region
from stream.demo.context import Context
from stream.demo.payees import Payees
from stream.demo.payments import MALFORMED, new_pay
from stream.demo.records import Indicator, Pay
from stream.demo.reference import Reference
from stream.demo.timeline import DAY, HOUR

_FORBIDDEN_KINDS: Final = ("fiscal_special_account", "platform_company", "own_account")


class Injector:
    """Plans `k` anomalies of every kind (and the payee blocks they need) over the reference data."""

    def __init__(self, ctx: Context, ref: Reference, payees: Payees) -> None:
        self.ctx = ctx
        self.ref = ref
        self.payees = payees

    def plan(self) -> list[Pay]:
        ctx, ref = self.ctx, self.ref
        out: list[Pay] = []
        general = [ind for ind in ref.general if ind.fund_type == "general"]
        org = [ind for ind in general if region.ECONOMIC_PROFILES[ind.economic].payee == "organization"]
        for i in range(ctx.k):
            self.inject_budget(out, i, general, org)
            self.inject_project(out, i, org)
            self.inject_payee(out, i, general, org)
            self.inject_malformed(out, i, org)
        for _ in range(max(1, ctx.k // 2)):  # blocked accounts that are never paid
            ref.blocks.append((ctx.pay_time(ctx.some_day()), self.payees.org_account(),
                               ctx.rng.choice(region.BLOCK_REASONS)))
        return out

    def add(self, out: list[Pay], p: Pay, tag: str, codes: tuple[str, ...], outcome: str) -> Pay:
        p.normal, p.codes, p.outcome = False, codes, outcome
        self.ctx.injected[tag] += 1
        out.append(p)
        return p

    def inject_budget(self, out: list[Pay], i: int, general: list[Indicator], org: list[Indicator]) -> None:
        ctx, ref = self.ctx, self.ref
        rng = ctx.rng
        ind = rng.choice(general)
        p = self.add(out, new_pay(ctx, ind, ctx.pay_time(ctx.some_day())), "B001", ("B001",), "rejected")
        p.indicator_id, p.sized = f"ZB{ctx.year}-{ind.agency.treasury}-9{i:04d}", False
        ind = ref.dedicated["B002"][i]
        self.add(out, new_pay(ctx, ind, ctx.pay_time(ctx.day_after(ind.versions[0][0], rng.randint(1, 10)))),
                 "B002", ("B002",), "rejected")
        at = ctx.next_year_days[rng.randrange(1, 4)] * DAY + rng.randrange(9 * HOUR, 16 * HOUR)
        self.add(out, new_pay(ctx, rng.choice(general), at), "B003", ("B003",), "rejected")
        ind = rng.choice(org)
        p = self.add(out, new_pay(ctx, ind, ctx.pay_time(ctx.some_day())), "B004", ("B004",), "rejected")
        p.agency = rng.choice([a for a in ref.by_treasury[ind.agency.treasury] if a is not ind.agency]).code
        ind = rng.choice(org)
        p = self.add(out, new_pay(ctx, ind, ctx.pay_time(ctx.some_day())), "B005", ("B005",), "rejected")
        if i % 2:
            p.economic = "31002" if ind.economic != "31002" else "30201"
        else:
            p.function = rng.choice([f for f in region.FUNCTIONS if f != ind.function])
        p = self.add(out, new_pay(ctx, rng.choice(org), ctx.pay_time(ctx.some_day())), "B006", ("B006",), "rejected")
        p.sized = False  # its amount is set above the indicator's whole amount once that is known
        for tag, pool, outcome in (("C001", ref.carry_plain, "rejected"), ("C001_info", ref.carry_research,
                                                                           "accepted")):
            ind = rng.choice(pool)
            other = "31002" if ind.economic != "31002" else "30201"
            p = self.add(out, new_pay(ctx, ind, ctx.pay_time(ctx.some_day()), ctx.amount(other), "organization"),
                         tag, ("C001",), outcome)
            p.economic = other
        p = self.add(out, new_pay(ctx, rng.choice(general), ctx.pay_time(ctx.some_day())), "A001", ("A001",),
                     "rejected")
        p.advance = True

    def inject_project(self, out: list[Pay], i: int, org: list[Indicator]) -> None:
        ctx, ref = self.ctx, self.ref
        rng = ctx.rng
        ind = ref.dedicated["P001"][i]
        self.add(out, new_pay(ctx, ind, ctx.pay_time(ctx.some_day())), "P001", ("P001",), "rejected")
        ind = ref.dedicated["P002"][i]
        later = ind.agency.projects[f"8P{i:02d}"].later
        day = ctx.day_after(later[0][0], rng.randint(1, 8)) if later else ctx.some_day()
        self.add(out, new_pay(ctx, ind, ctx.pay_time(day)), "P002", ("P002",), "rejected")
        ind = rng.choice(org)
        p = self.add(out, new_pay(ctx, ind, ctx.pay_time(ctx.some_day())), "P003", ("P003",), "rejected")
        p.project = next(prj.project_id for key, prj in ind.agency.projects.items()
                         if key in ("00", "01") and prj.project_id != ind.project_id)

    def inject_payee(self, out: list[Pay], i: int, general: list[Indicator], org: list[Indicator]) -> None:
        ctx, ref, payees = self.ctx, self.ref, self.payees
        rng = ctx.rng
        leaf = rng.choice(ref.leaves)  # D001: direct funds parked or diverted
        kind = _FORBIDDEN_KINDS[i % 3]
        p = self.add(out, new_pay(ctx, leaf, ctx.pay_time(rng.randint(*leaf.window)), kind=kind), "D001",
                     ("D001",), "rejected")
        name = {"fiscal_special_account": f"{leaf.agency.place}财政专户",
                "platform_company": f"{leaf.agency.place}城市建设投资集团有限公司"}.get(kind, leaf.agency.name)
        p.payee = (name, payees.org_account(), rng.choice(region.BANKS)[0])
        # F001: three payments to one account within hours, each below the review threshold, sum above.
        ind, day = rng.choice(org), ctx.some_day()
        payee = payees.company(rng.choice(("建筑工程", "信息技术", "仪器设备")))
        at = ctx.pay_days[day] * DAY + 9 * HOUR + rng.randrange(1800)
        for part in range(3):
            last = part == 2
            p = self.add(out, new_pay(ctx, ind, at, 17_500_000 + part * 2_000_000 + rng.randrange(1_900_000)),
                         "F001" if last else "F001_part", ("F001",) if last else (), "held" if last else "accepted")
            p.payee, p.kind, at = payee, "organization", at + rng.randrange(90 * 60, 180 * 60)
        # F002: the same instruction again under a new payment id a few days later.
        ind, day = rng.choice(org), ctx.some_day(0.04, 0.9)
        payee, amount = payees.company("商贸"), ctx.amount(ind.economic)
        later = [j for j in range(day + 1, day + 5) if ctx.pay_days[j] - ctx.pay_days[day] <= 6]
        for again in (False, True):
            when = ctx.pay_time(rng.choice(later) if again and later else day)
            p = self.add(out, new_pay(ctx, ind, when, amount), "F002" if again else "F002_first",
                         ("F002",) if again else (), "held" if again else "accepted")
            p.payee, p.kind = payee, "organization"
        p = self.add(out, new_pay(ctx, rng.choice(org), ctx.pay_time(ctx.some_day(0.1, 0.97))), "F003", ("F003",),
                     "rejected")
        p.payee = payees.company("商贸")
        ref.blocks.append((max(7 * HOUR, p.at - rng.randint(1, 40) * DAY), p.payee[1],
                           rng.choice(region.BLOCK_REASONS)))
        ind = rng.choice([ind for ind in general if ind.economic in region.NON_PERSONAL_ECONOMIC])
        self.add(out, new_pay(ctx, ind, ctx.pay_time(ctx.some_day()), rng.randrange(50_000, 800_000), "individual"),
                 "F004", ("F004",), "held")

    def inject_malformed(self, out: list[Pay], i: int, org: list[Indicator]) -> None:
        """V001: a malformed instruction that names its payment id; every other one is corrected later."""
        ctx = self.ctx
        corrected = i % 2 == 0
        p = self.add(out, new_pay(ctx, ctx.rng.choice(org), ctx.pay_time(ctx.some_day(), 12 * HOUR, 16 * HOUR)),
                     "V001_corrected" if corrected else "V001", (), "accepted" if corrected else "rejected")
        p.malformed, p.valid, p.sized = MALFORMED[i % len(MALFORMED)], corrected, corrected
        p.malformed_at = p.at - ctx.rng.randrange(HOUR, 3 * HOUR)
