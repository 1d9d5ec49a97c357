"""Treasury cash: the treasury tree, daily flows (transfers, scheduled, tax, spending) and balances."""

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Final

from models.money import format_fen
from stream.demo import region
from stream.demo.context import Context, encode
from stream.demo.timeline import DAY, HOUR

_INFLOWS: Final = frozenset({"tax_revenue", "nontax_revenue", "transfer_in", "bond_proceeds"})
# Scheduled flows in multiples of a treasury's ordinary daily outflow: payroll, livelihood, bonds, debt.
_FACTOR: Final = {"GZ1": 1.3, "GZ2": 1.3, "GZ3": 1.3, "MS": 1.5, "ZQ": 6.0, "ZW": 2.5}

Flow = tuple[int, str, str, int, bool | None]  # time, flow tag, kind, fen, sanbao


@dataclass(slots=True, eq=False)
class Treasury:
    code: str
    level: int
    daily: int  # ordinary daily outflow, fen
    children: list["Treasury"] = field(default_factory=list)
    balance: int = 0
    target: int = 0
    expected_day: int = 0
    rotation: int = 0


class Treasuries:
    """Emits every working day's treasury flows and balance statements."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def treasuries(self) -> list[Treasury]:
        """Region, leagues/cities, counties with ordinary daily outflows; balances aim at ~0.55 months."""
        rng = self.ctx.rng
        top = Treasury(region.REGION.code, 0, int(rng.uniform(1.5e8, 2.5e8)) * 100)
        every = [top]
        for city in region.CITIES:
            node = Treasury(city.code, 1, int(rng.uniform(1.5e7, 6e7)) * 100)
            top.children.append(node)
            every.append(node)
            for county in city.counties:
                leaf = Treasury(county.code, 2, int(rng.uniform(2e6, 1.2e7)) * 100)
                node.children.append(leaf)
                every.append(leaf)
        for t in every:
            transfers = sum(2 * c.daily for c in t.children) / max(1, len(t.children))
            scheduled = 5.4 + (0.83 if t.level < 2 else 0.0)  # payroll + livelihood (+ debt) per month
            t.expected_day = int(t.daily * (1 + scheduled / 21.75) + transfers)
            t.target = int(0.55 * 21.75 * t.expected_day)
            t.balance = int(t.target * rng.uniform(0.9, 1.1))
        return every

    def emit(self, settled: dict[int, dict[str, int]]) -> None:
        """Each working day: transfers down the tree, scheduled flows (announced ahead), tax revenue,
        ordinary spending, and the balance statement: the running sum of flows and settlements."""
        every = self.treasuries()
        schedule = self.schedule()
        pending = 0
        for day, working in enumerate(self.ctx.cal.working):
            if not working:
                continue
            flows: dict[str, list[Flow]] = {t.code: [] for t in every}
            self.day_transfers(day, every, flows)
            for tag, kind in schedule.get(day, ()):
                self.day_scheduled(day, tag, kind, every, flows)
            for i, t in enumerate(every):
                paid = sum(settled.get(d, {}).get(t.code, 0) for d in range(pending, day + 1))
                self.day_close(day, i, t, flows[t.code], paid)
            pending = day + 1

    def day_transfers(self, day: int, every: list[Treasury], flows: dict[str, list[Flow]]) -> None:
        at = day * DAY + 9 * HOUR + 300
        for t in every:
            if t.children:
                child = t.children[t.rotation % len(t.children)]
                t.rotation += 1
                fen = int(2 * child.daily * self.ctx.rng.lognormvariate(0, 0.1))
                flows[t.code].append((at, f"ZYC{child.code}", "transfer_out", fen, None))
                flows[child.code].append((at + 1, f"ZYR{t.code}", "transfer_in", fen, None))

    def day_scheduled(self, day: int, tag: str, kind: str, every: list[Treasury],
                      flows: dict[str, list[Flow]]) -> None:
        announce = self.announce_day(day)
        for i, t in enumerate(every):
            if (kind == "debt_service" and t.level == 2) or (kind == "bond_proceeds" and t.level > 0):
                continue
            fen = int(t.daily * _FACTOR[tag])
            sanbao = True if kind == "other_out" else None
            flows[t.code].append((day * DAY + 9 * HOUR + 1800, tag, kind, fen, sanbao))
            if announce < day and kind != "bond_proceeds":  # the plan; the same flow_id replaces it
                self.flow(t.code, tag, kind, fen, day, announce * DAY + 8 * HOUR + 1800 + i, sanbao, True)

    def day_close(self, day: int, i: int, t: Treasury, flows: list[Flow], paid: int) -> None:
        rng, base = self.ctx.rng, day * DAY
        inflow, outflow = 0, paid
        for at, tag, kind, fen, sanbao in flows:
            self.flow(t.code, tag, kind, fen, day, at, sanbao, False)
            if kind in _INFLOWS:
                inflow += fen
            else:
                outflow += fen
        ordinary = int(t.daily * rng.lognormvariate(0, 0.2))
        before = t.balance + inflow - outflow - ordinary
        # Revenue that pulls the balance back towards its target: the treasury's cash management.
        tax = max(t.expected_day // 10,
                  int(0.3 * (t.target - before) + 0.7 * t.expected_day * rng.lognormvariate(0, 0.15)))
        self.flow(t.code, "SS", "tax_revenue", tax, day, base + 10 * HOUR + i, None, False)
        self.flow(t.code, "ZC", "other_out", ordinary, day, base + 14 * HOUR + i, False, False)
        t.balance = before + tax
        at = base + 17 * HOUR + 3000 + i
        self.ctx.emit(at, encode("treasury_balance", {"treasury_code": t.code, "balance": format_fen(t.balance),
                                                      "as_of": self.ctx.cal.ts(at)}))

    def flow(self, code: str, tag: str, kind: str, fen: int, day: int, at: int, sanbao: bool | None,
             scheduled: bool) -> None:
        cal = self.ctx.cal
        data: dict[str, Any] = {
            "flow_id": f"LS{code}{cal.compact[day]}{tag}", "treasury_code": code, "kind": kind,
            "amount": format_fen(max(100, fen)), "value_date": cal.iso[day], "scheduled": scheduled,
        }
        if sanbao is not None:
            data["sanbao"] = sanbao
        data["recorded_at"] = cal.ts(at)
        self.ctx.emit(at, encode("treasury_flow", data))

    def schedule(self) -> dict[int, list[tuple[str, str]]]:
        """Payroll on 3 days from the 10th, livelihood from the 20th; each quarter's last month bond
        proceeds from the 15th (region) and debt service from the 24th (region and cities)."""
        cal = self.ctx.cal
        by_month: dict[tuple[int, int], list[int]] = {}
        for d in cal.working_days:
            by_month.setdefault((cal.dates[d].year, cal.dates[d].month), []).append(d)
        out: dict[int, list[tuple[str, str]]] = {}
        for (_, month), days in by_month.items():
            def on_or_after(day_of_month: int, n: int = 1, days: list[int] = days) -> list[int]:
                return [d for d in days if cal.dates[d].day >= day_of_month][:n]

            items = [(d, f"GZ{i + 1}", "other_out") for i, d in enumerate(on_or_after(10, 3))]
            items += [(d, "MS", "other_out") for d in on_or_after(20)]
            if month % 3 == 0:
                items += [(d, "ZQ", "bond_proceeds") for d in on_or_after(15)]
                items += [(d, "ZW", "debt_service") for d in on_or_after(24)]
            for d, tag, kind in items:
                out.setdefault(d, []).append((tag, kind))
        return out

    def announce_day(self, value_day: int) -> int:
        """Plans are announced on the first working day from the 25th of the month before."""
        cal = self.ctx.cal
        previous = (cal.dates[value_day].replace(day=1) - timedelta(days=1)).replace(day=25)
        index = (previous - cal.dates[0]).days
        return 0 if index <= 0 else cal.working_after(index - 1, 1)
