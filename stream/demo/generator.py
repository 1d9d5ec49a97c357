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

import math
import random
from bisect import bisect_right
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Final

import orjson

from models.money import format_fen
from stream.demo import region

_DAY: Final = 86_400
_HOUR: Final = 3_600
_SEQ_BITS: Final = 28  # event order = (event time, generation order)
# Statutory holidays and make-up working weekends (State Council notices); other years: weekends only.
_HOLIDAYS: Final[dict[int, frozenset[tuple[int, int]]]] = {
    2022: frozenset(
        [(1, 1), (1, 2), (1, 3), (1, 31), (4, 3), (4, 4), (4, 5), (4, 30), (6, 3), (6, 4), (6, 5)]
        + [(2, d) for d in range(1, 7)] + [(5, d) for d in range(1, 5)] + [(9, 10), (9, 11), (9, 12)]
        + [(10, d) for d in range(1, 8)]
    ),
    2023: frozenset([(1, 1), (1, 2)] + [(1, d) for d in range(21, 28)]),
}
_MAKEUP_DAYS: Final[dict[int, frozenset[tuple[int, int]]]] = {
    2022: frozenset([(1, 29), (1, 30), (4, 2), (4, 24), (5, 7), (10, 8), (10, 9)]),
    2023: frozenset([(1, 28), (1, 29)]),
}
_MONTH_WEIGHT: Final = (0.6, 0.7, 0.9, 1.0, 1.0, 1.1, 1.0, 1.0, 1.1, 1.0, 1.2, 1.8)  # year-end rush
_MALFORMED: Final = ("amount_number", "naive_time", "three_decimals", "extra_field", "missing_kind")
_FORBIDDEN_KINDS: Final = ("fiscal_special_account", "platform_company", "own_account")
_INFLOWS: Final = frozenset({"tax_revenue", "nontax_revenue", "transfer_in", "bond_proceeds"})
# Scheduled flows in multiples of a treasury's ordinary daily outflow: payroll, livelihood, bonds, debt.
_FACTOR: Final = {"GZ1": 1.3, "GZ2": 1.3, "GZ3": 1.3, "MS": 1.5, "ZQ": 6.0, "ZW": 2.5}
_INVALID_LINES: Final = (
    b'{"type":"treasury_balance","data":{"treasury_code":"150100","balance":\n',
    b'{"type":"refund","data":{"payment_id":"ZF2022R0001","amount":"100.00"}}\n',
    b'{"type":"settlement","data":{"payment_id":"ZF2022S0001","indicator_id":"ZB","status":"settled",'
    b'"amount":100.5,"bank_ref":"HD1","settled_at":"2022-05-06T10:00:00+08:00"}}\n',
)

Payee = tuple[str, str, str]  # name, account, bank code


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
    lines, _ = _Builder(seed, payments, start).build()
    yield from lines


def write_scenario(path: Path, seed: int = 7, payments: int = 5000) -> int:
    """Write `scenario(seed, payments)` to `path`; return the number of lines written."""
    lines, _ = _Builder(seed, payments, date(2022, 1, 4)).build()
    with Path(path).open("wb", buffering=1 << 20) as out:
        out.writelines(lines)
    return len(lines)


def expected_codes(seed: int = 7, payments: int = 5000, start: date = date(2022, 1, 4)) -> Expected:
    """What the validation agent must decide for `scenario(seed, payments, start)`."""
    return _Builder(seed, payments, start).build()[1]


def _is_working(day: date) -> bool:
    key = (day.month, day.day)
    if key in _MAKEUP_DAYS.get(day.year, frozenset()):
        return True
    return day.weekday() < 5 and key not in _HOLIDAYS.get(day.year, frozenset())


class _Calendar:
    """Days are indices from `start`; timestamps are seconds from `start` 00:00 +08:00."""

    def __init__(self, start: date, days: int) -> None:
        self.dates = [start + timedelta(days=d) for d in range(days)]
        self.iso = [d.isoformat() for d in self.dates]
        self.compact = [s.replace("-", "") for s in self.iso]
        self.working = [_is_working(d) for d in self.dates]
        self.working_days = [d for d, w in enumerate(self.working) if w]

    def ts(self, t: int) -> str:
        day, rest = divmod(t, _DAY)
        hours, rest = divmod(rest, _HOUR)
        minutes, seconds = divmod(rest, 60)
        return f"{self.iso[day]}T{hours:02d}:{minutes:02d}:{seconds:02d}+08:00"

    def working_after(self, day: int, n: int) -> int:
        """The n-th working day after `day` (or the calendar's last working day)."""
        i = bisect_right(self.working_days, day) + n - 1
        return self.working_days[min(i, len(self.working_days) - 1)]


@dataclass(slots=True, eq=False)
class _Project:
    project_id: str
    name: str
    agency: str
    status: str
    research: bool
    special_bond: bool
    at: int
    later: list[tuple[int, str]] = field(default_factory=list)  # (time, status) of versions 2, 3...


@dataclass(slots=True, eq=False)
class _Agency:
    code: str
    name: str
    treasury: str
    place: str
    dept: region.Department
    level: int  # 0 region, 1 league/city, 2 banner/county/district
    projects: dict[str, _Project] = field(default_factory=dict)


@dataclass(slots=True, eq=False)
class _Indicator:
    indicator_id: str
    agency: _Agency
    project_id: str
    function: str
    economic: str
    fund_type: str
    source: str
    issued: int
    parent: "_Indicator | None" = None
    direct: str | None = None  # the chain's direct_fund_code
    children: list["_Indicator"] = field(default_factory=list)
    window: tuple[int, int] = (0, 0)  # payment-day indices a direct-fund leaf is paid in
    planned: int = 0
    amount: int = 0
    versions: list[tuple[int, int | None, str]] = field(default_factory=list)  # (time, amount, status)
    stale_at: int | None = None


@dataclass(slots=True, eq=False)
class _Pay:
    at: int
    ind: _Indicator
    amount: int
    kind: str
    indicator_id: str
    agency: str
    project: str
    function: str
    economic: str
    payee: Payee | None = None
    advance: bool = False
    approval: str | None = None
    codes: tuple[str, ...] = ()
    outcome: str = "accepted"
    normal: bool = True
    malformed: str | None = None  # a malformed line naming this payment id is sent first
    malformed_at: int = 0
    valid: bool = True  # False: only the malformed line is ever sent
    sized: bool = True  # its indicator must have room for it
    pid: str = ""
    line: bytes = b""


@dataclass(slots=True, eq=False)
class _Treasury:
    code: str
    level: int
    daily: int  # ordinary daily outflow, fen
    children: list["_Treasury"] = field(default_factory=list)
    balance: int = 0
    target: int = 0
    expected_day: int = 0
    rotation: int = 0


def _line(kind: str, data: dict[str, Any]) -> bytes:
    return orjson.dumps({"type": kind, "data": data}, option=orjson.OPT_APPEND_NEWLINE)


def _ceil(value: float, step: int) -> int:
    return max(step, -(-int(value) // step) * step)


class _Builder:
    def __init__(self, seed: int, payments: int, start: date) -> None:
        if payments < 1:
            raise ValueError("payments must be at least 1")
        self.rng = random.Random(seed)  # noqa: S311 - a reproducible scenario, not a secret
        self.n = payments
        self.year = start.year
        self.k = max(2, round(math.sqrt(payments) / 18))
        self.cal = _Calendar(start, (date(self.year + 1, 1, 12) - start).days + 1)
        year_end = (date(self.year, 12, 31) - start).days
        self.pay_days = [d for d in self.cal.working_days if 1 <= d <= year_end]
        self.next_year_days = [d for d in self.cal.working_days if d > year_end]
        if len(self.pay_days) < 40:
            raise ValueError("start must leave at least 40 working days in its year")
        self.events: list[tuple[int, bytes]] = []
        self.names = {region.REGION.code: region.REGION.name}
        self.agencies: dict[str, _Agency] = {}
        self.by_treasury: dict[str, list[_Agency]] = {}
        self.budget_agencies: list[_Agency] = []
        self.indicators: list[_Indicator] = []
        self.general: list[_Indicator] = []
        self.carry_plain: list[_Indicator] = []
        self.carry_research: list[_Indicator] = []
        self.dedicated: dict[str, list[_Indicator]] = {"B002": [], "P001": [], "P002": []}
        self.roots: list[_Indicator] = []
        self.leaves: list[_Indicator] = []
        self.accounts: set[str] = set()
        self.pools: dict[str, list[Payee]] = {}
        self.last_paid: dict[str, int] = {}
        self.last_amount: dict[tuple[str, str, int], int] = {}
        self.blocks: list[tuple[int, str, str]] = []
        self.injected: Counter[str] = Counter()
        self.t_project = 7 * _HOUR
        self.t_indicator = 8 * _HOUR

    # -- small helpers ----------------------------------------------------------------------------

    def emit(self, t: int, line: bytes) -> None:
        self.events.append(((t << _SEQ_BITS) | len(self.events), line))

    def pay_time(self, index: int, lo: int = 8 * _HOUR + 1800, hi: int = 17 * _HOUR + 1800) -> int:
        """A time on the index-th payment day, between `lo` and `hi` seconds after midnight."""
        return self.pay_days[index] * _DAY + self.rng.randrange(lo, hi)

    def some_day(self, lo: float = 0.04, hi: float = 0.97) -> int:
        n = len(self.pay_days)
        return self.rng.randrange(int(n * lo), int(n * hi))

    def day_after(self, t: int, n: int) -> int:
        """The index of the n-th payment day after the day of time `t`."""
        return min(bisect_right(self.pay_days, t // _DAY) + n - 1, len(self.pay_days) - 1)

    def amount(self, economic: str) -> int:
        """Log-uniform in the economic code's range, in fen."""
        p = region.ECONOMIC_PROFILES[economic]
        return int(math.exp(self.rng.uniform(math.log(p.low_yuan), math.log(p.high_yuan))) * 100)

    # -- reference data ---------------------------------------------------------------------------

    def agency(self, division: str, level: int, dept: region.Department) -> _Agency:
        code = division + dept.code
        found = self.agencies.get(code)
        if found is None:
            place = self.names[division]
            found = _Agency(code, place + (dept.region_name if level == 0 else dept.local_name),
                            division, place, dept, level)
            self.agencies[code] = found
            self.by_treasury.setdefault(division, []).append(found)
        return found

    def project(self, agency: _Agency, key: str, name: str, at: int | None = None, *,
                status: str = "executing", special_bond: bool = False, year: int | None = None) -> _Project:
        if at is None:
            self.t_project += 1
            at = self.t_project
        year = self.year if year is None else year
        found = _Project(f"XM{year}-{agency.code}-{key}", f"{year}年{agency.name}{name}", agency.code,
                         status, agency.dept.research, special_bond, at)
        agency.projects[key] = found
        return found

    def indicator(self, agency: _Agency, project_id: str, line: tuple[str, str], at: int | None = None, *,
                  source: str = "current", fund_type: str = "general",
                  parent: _Indicator | None = None, direct: str | None = None) -> _Indicator:
        if at is None:
            self.t_indicator += 1
            at = self.t_indicator
        ind = _Indicator(f"ZB{self.year}-{agency.treasury}-{len(self.indicators) + 1:05d}", agency,
                         project_id, line[0], line[1], fund_type, source, at, parent, direct)
        if parent is not None:
            parent.children.append(ind)
        self.indicators.append(ind)
        return ind

    def build_budget(self) -> None:
        """Every level's agencies with their basic and project budgets, issued on the first day."""
        rng = self.rng
        levels: list[tuple[str, int, tuple[region.Department, ...]]] = [
            (region.REGION.code, 0, region.DEPARTMENTS)
        ]
        finance, others = region.DEPARTMENTS[0], region.DEPARTMENTS[1:]
        for city in region.CITIES:
            self.names[city.code] = city.name
            levels.append((city.code, 1, (finance, *rng.sample(others, 6))))
            for county in city.counties:
                self.names[county.code] = county.name
                levels.append((county.code, 2, (finance, *rng.sample(others, 3))))
        for division, level, depts in levels:
            for dept in depts:
                agency = self.agency(division, level, dept)
                self.budget_agencies.append(agency)
                extra = rng.sample(dept.lines[2:], min(len(dept.lines) - 2, rng.randint(1, 2)))
                for line in (*dept.lines[:2], *extra):
                    self.general.append(self.budget_line(agency, line))

    def budget_line(self, agency: _Agency, line: tuple[str, str]) -> _Indicator:
        """An indicator under the agency's project for the line's group (人员/公用/专项)."""
        group, name = next((f"{i:02d}", g[1]) for i, g in enumerate(region.PROJECT_GROUPS)
                           if line[1].startswith(g[0]))
        bond = group == "02" and line[1] == "31005" and agency.level < 2
        prj = agency.projects.get(group)
        if prj is None:
            budgeted = group == "02" and self.rng.random() < 0.5
            prj = self.project(agency, group, name, status="budgeted" if budgeted else "executing",
                               special_bond=bond)
            if budgeted and self.rng.random() < 0.5:
                prj.later.append((self.pay_time(self.some_day(0.1, 0.5), 16 * _HOUR, 17 * _HOUR), "executing"))
        return self.indicator(agency, prj.project_id, line, fund_type="special_bond" if bond else "general")

    def build_carryovers(self) -> None:
        """Carry-over indicators (结转): their use may not change; science ones are research."""
        rng = self.rng
        science = [a for a in self.budget_agencies if a.dept.research]
        plain = [a for a in self.budget_agencies if not a.dept.research]
        chosen = science[: max(self.k, 3)] + rng.sample(plain, max(self.k + 2, len(plain) // 8))
        for i, agency in enumerate(chosen):
            prj = self.project(agency, f"JZ{i:02d}", "结转项目", year=self.year - 1)
            line = rng.choice([ln for ln in agency.dept.lines if not ln[1].startswith("301")])
            ind = self.indicator(agency, prj.project_id, line, source="carryover")
            (self.carry_research if agency.dept.research else self.carry_plain).append(ind)

    def build_dedicated(self) -> None:
        """Indicators only anomalies pay from: frozen/cancelled later (B002), unknown project (P001),
        project in reserve or terminated later (P002). One frozen indicator gets a stale version 1."""
        rng = self.rng
        for i in range(self.k):
            for code in ("B002", "P001", "P002"):
                agency = rng.choice(self.budget_agencies)
                if code == "P001":
                    project_id = f"XM{self.year}-{agency.code}-9{i:02d}"  # never in the library
                else:
                    status = "reserve" if code == "P002" and i % 2 else "executing"
                    prj = self.project(agency, f"8{code[0]}{i:02d}", "专项业务经费", status=status)
                    project_id = prj.project_id
                    if code == "P002" and status == "executing":
                        prj.later.append((self.pay_time(self.some_day(0.2, 0.6), 15 * _HOUR, 16 * _HOUR),
                                          "terminated"))
                ind = self.indicator(agency, project_id, agency.dept.lines[1])
                if code == "B002":
                    frozen_at = self.pay_time(self.some_day(0.2, 0.6), 15 * _HOUR, 16 * _HOUR)
                    ind.versions.append((frozen_at, None, "frozen" if i % 2 == 0 else "cancelled"))
                    if i == 0:
                        ind.stale_at = frozen_at + 2 * _HOUR
                        self.injected["stale_indicator_version"] += 1
                ind.planned = self.amount(ind.economic)
                self.dedicated[code].append(ind)

    def build_direct_chains(self) -> None:
        """Each direct-fund document: region -> 4-8 leagues/cities -> 1-4 of their counties (leaves)."""
        rng, cal = self.rng, self.cal
        n_days = len(self.pay_days)
        # About 11 leaves a document; small scenarios get fewer documents so every leaf is paid from.
        documents = max(2, min(len(region.DIRECT_FUNDS), int(self.n * 0.22) // 35))
        for i, doc in enumerate(region.DIRECT_FUNDS[:documents]):
            code, key = f"ZD{self.year}-{i + 1:04d}", f"ZD{i + 1:02d}"
            dept = region.DEPARTMENT[doc.department]
            line = (doc.function_code, doc.economic_code)
            day = self.pay_days[int(n_days * (0.01 + 0.065 * i))]
            owner = self.agency(region.REGION.code, 0, dept)
            prj = self.project(owner, key, doc.name, day * _DAY + 8 * _HOUR + i)
            root = self.indicator(owner, prj.project_id, line, day * _DAY + 9 * _HOUR + i, direct=code)
            self.roots.append(root)
            city_day = cal.working_after(day, 1)
            for j, city in enumerate(rng.sample(region.CITIES, rng.randint(4, 8))):
                owner = self.agency(city.code, 1, dept)
                prj = self.project(owner, key, doc.name, city_day * _DAY + 9 * _HOUR + j)
                node = self.indicator(owner, prj.project_id, line, city_day * _DAY + 10 * _HOUR + 60 * j,
                                      parent=root, direct=code)
                county_day = cal.working_after(city_day, rng.randint(2, 4))
                for m, county in enumerate(rng.sample(city.counties, rng.randint(1, len(city.counties)))):
                    owner = self.agency(county.code, 2, dept)
                    prj = self.project(owner, key, doc.name, county_day * _DAY + 9 * _HOUR + m)
                    leaf = self.indicator(owner, prj.project_id, line, county_day * _DAY + 9 * _HOUR + 1800 + 60 * m,
                                          parent=node, direct=code)
                    first = min(bisect_right(self.pay_days, county_day), n_days - 1)
                    leaf.window = (first, min(first + 45, n_days - 1))
                    self.leaves.append(leaf)

    # -- payments ---------------------------------------------------------------------------------

    def new_pay(self, ind: _Indicator, at: int, amount: int | None = None, kind: str | None = None) -> _Pay:
        return _Pay(at, ind, self.amount(ind.economic) if amount is None else amount,
                    kind or region.ECONOMIC_PROFILES[ind.economic].payee, ind.indicator_id, ind.agency.code,
                    ind.project_id, ind.function, ind.economic)

    def plan_normal(self) -> list[_Pay]:
        """General budgets 70 % (weighted by level, more in December), carry-overs 8 %, direct funds 22 %
        (within ~2 months of their allocation, the first payment within 8 working days)."""
        rng = self.rng
        n_direct = min(int(self.n * 0.22), 40 * len(self.leaves))
        n_carry = int(self.n * 0.08)
        n_general = self.n - n_direct - n_carry
        weights = [(3 - ind.agency.level) * rng.lognormvariate(0, 0.5) for ind in self.general]
        day_weights = [_MONTH_WEIGHT[self.cal.dates[d].month - 1] for d in self.pay_days]
        days = rng.choices(range(len(self.pay_days)), weights=day_weights, k=n_general + n_carry)
        targets = rng.choices(self.general, weights=weights, k=n_general)
        targets += rng.choices(self.carry_plain + self.carry_research, k=n_carry)
        plan = [self.new_pay(ind, self.pay_time(day)) for ind, day in zip(targets, days, strict=True)]
        first = self.leaves[:n_direct]
        more = rng.choices(self.leaves, weights=[rng.random() + 0.3 for _ in self.leaves], k=n_direct - len(first))
        for leaf in first:
            plan.append(self.new_pay(leaf, self.pay_time(rng.randint(leaf.window[0], min(leaf.window[1],
                                                                                          leaf.window[0] + 7)))))
        plan.extend(self.new_pay(leaf, self.pay_time(rng.randint(*leaf.window))) for leaf in more)
        for i, p in enumerate(plan):
            if rng.random() < 0.004:  # an approved temporary advance (暂付款)
                p.advance, p.approval = True, f"ZFK{self.year}-{i:05d}"
        return plan

    def add(self, out: list[_Pay], p: _Pay, tag: str, codes: tuple[str, ...], outcome: str) -> _Pay:
        p.normal, p.codes, p.outcome = False, codes, outcome
        self.injected[tag] += 1
        out.append(p)
        return p

    def plan_injections(self) -> list[_Pay]:
        out: list[_Pay] = []
        general = [ind for ind in self.general if ind.fund_type == "general"]
        org = [ind for ind in general if region.ECONOMIC_PROFILES[ind.economic].payee == "organization"]
        for i in range(self.k):
            self.inject_budget(out, i, general, org)
            self.inject_project(out, i, org)
            self.inject_payee(out, i, general, org)
            self.inject_malformed(out, i, org)
        for _ in range(max(1, self.k // 2)):  # blocked accounts that are never paid
            self.blocks.append((self.pay_time(self.some_day()), self.org_account(),
                                self.rng.choice(region.BLOCK_REASONS)))
        return out

    def inject_budget(self, out: list[_Pay], i: int, general: list[_Indicator], org: list[_Indicator]) -> None:
        rng = self.rng
        ind = rng.choice(general)
        p = self.add(out, self.new_pay(ind, self.pay_time(self.some_day())), "B001", ("B001",), "rejected")
        p.indicator_id, p.sized = f"ZB{self.year}-{ind.agency.treasury}-9{i:04d}", False
        ind = self.dedicated["B002"][i]
        self.add(out, self.new_pay(ind, self.pay_time(self.day_after(ind.versions[0][0], rng.randint(1, 10)))),
                 "B002", ("B002",), "rejected")
        at = self.next_year_days[rng.randrange(1, 4)] * _DAY + rng.randrange(9 * _HOUR, 16 * _HOUR)
        self.add(out, self.new_pay(rng.choice(general), at), "B003", ("B003",), "rejected")
        ind = rng.choice(org)
        p = self.add(out, self.new_pay(ind, self.pay_time(self.some_day())), "B004", ("B004",), "rejected")
        p.agency = rng.choice([a for a in self.by_treasury[ind.agency.treasury] if a is not ind.agency]).code
        ind = rng.choice(org)
        p = self.add(out, self.new_pay(ind, self.pay_time(self.some_day())), "B005", ("B005",), "rejected")
        if i % 2:
            p.economic = "31002" if ind.economic != "31002" else "30201"
        else:
            p.function = rng.choice([f for f in region.FUNCTIONS if f != ind.function])
        p = self.add(out, self.new_pay(rng.choice(org), self.pay_time(self.some_day())), "B006", ("B006",), "rejected")
        p.sized = False  # its amount is set above the indicator's whole amount once that is known
        for tag, pool, outcome in (("C001", self.carry_plain, "rejected"), ("C001_info", self.carry_research,
                                                                            "accepted")):
            ind = rng.choice(pool)
            other = "31002" if ind.economic != "31002" else "30201"
            p = self.add(out, self.new_pay(ind, self.pay_time(self.some_day()), self.amount(other), "organization"),
                         tag, ("C001",), outcome)
            p.economic = other
        p = self.add(out, self.new_pay(rng.choice(general), self.pay_time(self.some_day())), "A001", ("A001",),
                     "rejected")
        p.advance = True

    def inject_project(self, out: list[_Pay], i: int, org: list[_Indicator]) -> None:
        rng = self.rng
        ind = self.dedicated["P001"][i]
        self.add(out, self.new_pay(ind, self.pay_time(self.some_day())), "P001", ("P001",), "rejected")
        ind = self.dedicated["P002"][i]
        later = ind.agency.projects[f"8P{i:02d}"].later
        day = self.day_after(later[0][0], rng.randint(1, 8)) if later else self.some_day()
        self.add(out, self.new_pay(ind, self.pay_time(day)), "P002", ("P002",), "rejected")
        ind = rng.choice(org)
        p = self.add(out, self.new_pay(ind, self.pay_time(self.some_day())), "P003", ("P003",), "rejected")
        p.project = next(prj.project_id for key, prj in ind.agency.projects.items()
                         if key in ("00", "01") and prj.project_id != ind.project_id)

    def inject_payee(self, out: list[_Pay], i: int, general: list[_Indicator], org: list[_Indicator]) -> None:
        rng = self.rng
        leaf = rng.choice(self.leaves)  # D001: direct funds parked or diverted
        kind = _FORBIDDEN_KINDS[i % 3]
        p = self.add(out, self.new_pay(leaf, self.pay_time(rng.randint(*leaf.window)), kind=kind), "D001",
                     ("D001",), "rejected")
        name = {"fiscal_special_account": f"{leaf.agency.place}财政专户",
                "platform_company": f"{leaf.agency.place}城市建设投资集团有限公司"}.get(kind, leaf.agency.name)
        p.payee = (name, self.org_account(), rng.choice(region.BANKS)[0])
        # F001: three payments to one account within hours, each below the review threshold, sum above.
        ind, day = rng.choice(org), self.some_day()
        payee = self.company(rng.choice(("建筑工程", "信息技术", "仪器设备")))
        at = self.pay_days[day] * _DAY + 9 * _HOUR + rng.randrange(1800)
        for part in range(3):
            last = part == 2
            p = self.add(out, self.new_pay(ind, at, 17_500_000 + part * 2_000_000 + rng.randrange(1_900_000)),
                         "F001" if last else "F001_part", ("F001",) if last else (), "held" if last else "accepted")
            p.payee, p.kind, at = payee, "organization", at + rng.randrange(90 * 60, 180 * 60)
        # F002: the same instruction again under a new payment id a few days later.
        ind, day = rng.choice(org), self.some_day(0.04, 0.9)
        payee, amount = self.company("商贸"), self.amount(ind.economic)
        later = [j for j in range(day + 1, day + 5) if self.pay_days[j] - self.pay_days[day] <= 6]
        for again in (False, True):
            when = self.pay_time(rng.choice(later) if again and later else day)
            p = self.add(out, self.new_pay(ind, when, amount), "F002" if again else "F002_first",
                         ("F002",) if again else (), "held" if again else "accepted")
            p.payee, p.kind = payee, "organization"
        p = self.add(out, self.new_pay(rng.choice(org), self.pay_time(self.some_day(0.1, 0.97))), "F003", ("F003",),
                     "rejected")
        p.payee = self.company("商贸")
        self.blocks.append((max(7 * _HOUR, p.at - rng.randint(1, 40) * _DAY), p.payee[1],
                            rng.choice(region.BLOCK_REASONS)))
        ind = rng.choice([ind for ind in general if ind.economic in region.NON_PERSONAL_ECONOMIC])
        self.add(out, self.new_pay(ind, self.pay_time(self.some_day()), rng.randrange(50_000, 800_000), "individual"),
                 "F004", ("F004",), "held")

    def inject_malformed(self, out: list[_Pay], i: int, org: list[_Indicator]) -> None:
        """V001: a malformed instruction that names its payment id; every other one is corrected later."""
        corrected = i % 2 == 0
        p = self.add(out, self.new_pay(self.rng.choice(org), self.pay_time(self.some_day(), 12 * _HOUR, 16 * _HOUR)),
                     "V001_corrected" if corrected else "V001", (), "accepted" if corrected else "rejected")
        p.malformed, p.valid, p.sized = _MALFORMED[i % len(_MALFORMED)], corrected, corrected
        p.malformed_at = p.at - self.rng.randrange(_HOUR, 3 * _HOUR)

    # -- payees -----------------------------------------------------------------------------------

    def org_account(self) -> str:
        while True:
            account = str(self.rng.randrange(10**17, 10**18))
            if account not in self.accounts:
                self.accounts.add(account)
                return account

    def company(self, industry: str) -> Payee:
        rng = self.rng
        place = rng.choice(region.CITIES).short if rng.random() < 0.8 else "内蒙古"
        name = f"{place}{rng.choice(region.COMPANY_WORDS)}{industry}{rng.choice(region.COMPANY_SUFFIXES)}"
        return name, self.org_account(), rng.choice(region.BANKS)[0]

    def person(self) -> Payee:
        rng = self.rng
        if rng.random() < 0.15:
            name = rng.choice(region.MONGOLIAN_NAMES)
        else:
            name = rng.choice(region.SURNAMES) + rng.choice(region.GIVEN_NAMES)
        while True:
            account = rng.choice(region.CARD_BINS) + f"{rng.randrange(10**13):013d}"
            if account not in self.accounts:
                self.accounts.add(account)
                return name, account, rng.choice(region.BANKS)[0]

    def supplier(self, economic: str, at: int) -> Payee:
        """A recurring supplier, never paid twice within 24 h (no accidental F001)."""
        rng = self.rng
        industries = region.ECONOMIC_PROFILES[economic].industries or ("商贸",)
        industry = industries[rng.randrange(len(industries))]
        pool = self.pools.setdefault(industry, [])
        found: Payee | None = None
        if len(pool) >= 6 and rng.random() < 0.6:
            for _ in range(3):
                candidate = pool[rng.randrange(len(pool))]
                if at - self.last_paid.get(candidate[1], -10 * _DAY) > _DAY + _HOUR:
                    found = candidate
                    break
        if found is None:
            found = self.company(industry)
            pool.append(found)
        self.last_paid[found[1]] = at
        return found

    def assign(self, plan: list[_Pay]) -> None:
        """Payment ids and payees in event-time order; no account sees the same amount and economic
        code twice within 8 days (no accidental F002)."""
        window = 8 * _DAY
        for n, p in enumerate(plan, start=1):
            p.pid = f"ZF{self.year}{n:08d}"
            if p.payee is not None:
                continue
            if p.kind == "individual":
                p.payee = self.person()
                continue
            p.payee = self.supplier(p.economic, p.at)
            key = (p.payee[1], p.economic, p.amount)
            while p.at - self.last_amount.get(key, -window) < window:
                p.amount += 1
                key = (p.payee[1], p.economic, p.amount)
            self.last_amount[key] = p.at

    # -- amounts ----------------------------------------------------------------------------------

    def size(self, plan: list[_Pay]) -> None:
        """Indicator amounts from what is planned on them; chains bottom-up; B006 and adjustments."""
        rng = self.rng
        for p in plan:
            if p.sized:
                p.ind.planned += p.amount
        for ind in self.indicators:
            if ind.direct is None:
                base = rng.uniform(20_000, 300_000) * 100 * (3 - ind.agency.level)
                ind.amount = _ceil(ind.planned * rng.uniform(1.2, 1.6) + base, 100_000)
        for root in self.roots:
            for node in root.children:
                for leaf in node.children:
                    planned = leaf.planned * rng.uniform(1.12, 1.4) or rng.uniform(100_000, 600_000) * 100
                    leaf.amount = _ceil(planned, 10_000)
                node.amount = _ceil(sum(c.amount for c in node.children) * rng.uniform(1.0, 1.03), 1_000_000)
            root.amount = _ceil(sum(c.amount for c in root.children) * rng.uniform(1.0, 1.02), 1_000_000)
        overdrawn = set()
        for p in plan:
            if "B006" in p.codes:
                p.amount = p.ind.amount + rng.randrange(100_000, 5_000_000)
                overdrawn.add(p.ind.indicator_id)
        for ind in rng.sample([ind for ind in self.general if ind.indicator_id not in overdrawn], self.k):
            when = self.pay_time(self.some_day(0.3, 0.7), 16 * _HOUR, 17 * _HOUR)
            ind.versions.append((when, _ceil(ind.amount * rng.uniform(1.1, 1.35), 100_000), "active"))
            self.injected["indicator_adjustment"] += 1

    # -- emission ---------------------------------------------------------------------------------

    def emit_reference(self) -> None:
        ts = self.cal.ts
        for agency in self.agencies.values():
            for prj in agency.projects.values():
                data: dict[str, Any] = {
                    "project_id": prj.project_id, "version": 1, "name": prj.name, "agency_code": prj.agency,
                    "status": prj.status, "research": prj.research, "special_bond": prj.special_bond,
                    "updated_at": ts(prj.at),
                }
                self.emit(prj.at, _line("project", data))
                for version, (at, status) in enumerate(prj.later, start=2):
                    self.emit(at, _line("project", {**data, "version": version, "status": status,
                                                    "updated_at": ts(at)}))
        for ind in self.indicators:
            data = {
                "indicator_id": ind.indicator_id, "version": 1, "fiscal_year": self.year,
                "treasury_code": ind.agency.treasury, "agency_code": ind.agency.code,
                "project_id": ind.project_id, "function_code": ind.function, "economic_code": ind.economic,
                "fund_type": ind.fund_type, "source": ind.source, "amount": format_fen(ind.amount),
                "status": "active", "issued_at": ts(ind.issued),
            }
            if ind.parent is not None:
                data["parent_indicator_id"] = ind.parent.indicator_id
            if ind.direct is not None:
                data["direct_fund_code"] = ind.direct
            first = _line("indicator", data)
            self.emit(ind.issued, first)
            amount = ind.amount
            for version, (at, new_amount, status) in enumerate(ind.versions, start=2):
                amount = amount if new_amount is None else new_amount
                self.emit(at, _line("indicator", {**data, "version": version, "amount": format_fen(amount),
                                                  "status": status, "issued_at": ts(at)}))
            if ind.stale_at is not None:
                self.emit(ind.stale_at, first)
        for at, account, reason in self.blocks:
            self.emit(at, _line("payee_block", {"account": account, "reason": reason, "blocked_at": ts(at)}))

    def emit_payments(self, plan: list[_Pay]) -> None:
        cal = self.cal
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
                "purpose": f"{self.year}年{cal.dates[p.at // _DAY].month}月{what}", "advance": p.advance,
                "requested_at": cal.ts(p.at),
            }
            if p.approval is not None:
                data["advance_approval"] = p.approval
            if p.malformed is not None:
                self.emit(p.malformed_at, _malformed(p.malformed, {**data, "requested_at": cal.ts(p.malformed_at)}))
            if p.valid:
                p.line = _line("payment", data)
                self.emit(p.at, p.line)

    def emit_redeliveries(self, normal: list[_Pay]) -> int:
        """Identical redeliveries (the original decision again) and conflicting resends (V002)."""
        rng, k = self.rng, self.k
        chosen = rng.sample(normal, 2 * k)
        for p in chosen[:k]:
            self.emit(p.at + rng.randrange(300, 2 * _HOUR), p.line)
        for p in chosen[k:]:
            data = orjson.loads(p.line)
            data["data"]["amount"] = format_fen(p.amount + rng.randrange(100, 50_000))
            self.emit(p.at + rng.randrange(1800, 4 * _HOUR), orjson.dumps(data, option=orjson.OPT_APPEND_NEWLINE))
        self.injected.update(redelivery=k, V002=k)
        return k

    def emit_settlements(self, plan: list[_Pay], normal: list[_Pay]) -> dict[int, dict[str, int]]:
        """Accepted payments settle 1-3 days later, except a few returned, one amount differing and
        one never settled; one settlement names an unknown payment. Returns outflows by day/treasury."""
        rng, cal, k = self.rng, self.cal, self.k
        m = max(1, k // 2)
        special = rng.sample(normal, k + 2 * m)
        returned, wrong, never = (set(map(id, special[:k])), set(map(id, special[k:k + m])),
                                  set(map(id, special[k + m:])))
        self.injected.update(returned=k, settlement_amount=m, unsettled=m, settlement_unknown=m)
        outflows: dict[int, dict[str, int]] = {}
        refs = 0
        for p in plan:
            if not p.valid or p.outcome != "accepted" or id(p) in never:
                continue
            at = (p.at // _DAY + rng.randint(1, 3)) * _DAY + rng.randrange(9 * _HOUR, 17 * _HOUR)
            status = "returned" if id(p) in returned else "settled"
            amount = p.amount + ((-1000 if p.amount > 2000 else 1000) if id(p) in wrong else 0)
            refs += 1
            self.emit(at, _line("settlement", {
                "payment_id": p.pid, "indicator_id": p.indicator_id, "status": status,
                "amount": format_fen(amount), "bank_ref": f"HD{cal.compact[at // _DAY]}{refs:08d}",
                "settled_at": cal.ts(at),
            }))
            if status == "settled":
                day = outflows.setdefault(at // _DAY, {})
                day[p.ind.agency.treasury] = day.get(p.ind.agency.treasury, 0) + amount
        for i in range(m):
            at, ind = self.pay_time(self.some_day()), rng.choice(self.general)
            refs += 1
            self.emit(at, _line("settlement", {
                "payment_id": f"ZF{self.year}{99_000_000 + i:08d}", "indicator_id": ind.indicator_id,
                "status": "settled", "amount": format_fen(self.amount(ind.economic)),
                "bank_ref": f"HD{cal.compact[at // _DAY]}{refs:08d}", "settled_at": cal.ts(at),
            }))
        return outflows

    # -- treasuries -------------------------------------------------------------------------------

    def treasuries(self) -> list[_Treasury]:
        """Region, leagues/cities, counties with ordinary daily outflows; balances aim at ~0.55 months."""
        rng = self.rng
        top = _Treasury(region.REGION.code, 0, int(rng.uniform(1.5e8, 2.5e8)) * 100)
        every = [top]
        for city in region.CITIES:
            node = _Treasury(city.code, 1, int(rng.uniform(1.5e7, 6e7)) * 100)
            top.children.append(node)
            every.append(node)
            for county in city.counties:
                leaf = _Treasury(county.code, 2, int(rng.uniform(2e6, 1.2e7)) * 100)
                node.children.append(leaf)
                every.append(leaf)
        for t in every:
            transfers = sum(2 * c.daily for c in t.children) / max(1, len(t.children))
            scheduled = 5.4 + (0.83 if t.level < 2 else 0.0)  # payroll + livelihood (+ debt) per month
            t.expected_day = int(t.daily * (1 + scheduled / 21.75) + transfers)
            t.target = int(0.55 * 21.75 * t.expected_day)
            t.balance = int(t.target * rng.uniform(0.9, 1.1))
        return every

    def emit_treasuries(self, settled: dict[int, dict[str, int]]) -> None:
        """Each working day: transfers down the tree, scheduled flows (announced ahead), tax revenue,
        ordinary spending, and the balance statement: the running sum of flows and settlements."""
        every = self.treasuries()
        schedule = self.schedule()
        pending = 0
        for day, working in enumerate(self.cal.working):
            if not working:
                continue
            flows: dict[str, list[tuple[int, str, str, int, bool | None]]] = {t.code: [] for t in every}
            self.day_transfers(day, every, flows)
            for tag, kind in schedule.get(day, ()):
                self.day_scheduled(day, tag, kind, every, flows)
            for i, t in enumerate(every):
                paid = sum(settled.get(d, {}).get(t.code, 0) for d in range(pending, day + 1))
                self.day_close(day, i, t, flows[t.code], paid)
            pending = day + 1

    def day_transfers(self, day: int, every: list[_Treasury],
                      flows: dict[str, list[tuple[int, str, str, int, bool | None]]]) -> None:
        at = day * _DAY + 9 * _HOUR + 300
        for t in every:
            if t.children:
                child = t.children[t.rotation % len(t.children)]
                t.rotation += 1
                fen = int(2 * child.daily * self.rng.lognormvariate(0, 0.1))
                flows[t.code].append((at, f"ZYC{child.code}", "transfer_out", fen, None))
                flows[child.code].append((at + 1, f"ZYR{t.code}", "transfer_in", fen, None))

    def day_scheduled(self, day: int, tag: str, kind: str, every: list[_Treasury],
                      flows: dict[str, list[tuple[int, str, str, int, bool | None]]]) -> None:
        announce = self.announce_day(day)
        for i, t in enumerate(every):
            if (kind == "debt_service" and t.level == 2) or (kind == "bond_proceeds" and t.level > 0):
                continue
            fen = int(t.daily * _FACTOR[tag])
            sanbao = True if kind == "other_out" else None
            flows[t.code].append((day * _DAY + 9 * _HOUR + 1800, tag, kind, fen, sanbao))
            if announce < day and kind != "bond_proceeds":  # the plan; the same flow_id replaces it
                self.flow(t.code, tag, kind, fen, day, announce * _DAY + 8 * _HOUR + 1800 + i, sanbao, True)

    def day_close(self, day: int, i: int, t: _Treasury, flows: list[tuple[int, str, str, int, bool | None]],
                  paid: int) -> None:
        rng, base = self.rng, day * _DAY
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
        self.flow(t.code, "SS", "tax_revenue", tax, day, base + 10 * _HOUR + i, None, False)
        self.flow(t.code, "ZC", "other_out", ordinary, day, base + 14 * _HOUR + i, False, False)
        t.balance = before + tax
        at = base + 17 * _HOUR + 3000 + i
        self.emit(at, _line("treasury_balance", {"treasury_code": t.code, "balance": format_fen(t.balance),
                                                 "as_of": self.cal.ts(at)}))

    def flow(self, code: str, tag: str, kind: str, fen: int, day: int, at: int, sanbao: bool | None,
             scheduled: bool) -> None:
        data: dict[str, Any] = {
            "flow_id": f"LS{code}{self.cal.compact[day]}{tag}", "treasury_code": code, "kind": kind,
            "amount": format_fen(max(100, fen)), "value_date": self.cal.iso[day], "scheduled": scheduled,
        }
        if sanbao is not None:
            data["sanbao"] = sanbao
        data["recorded_at"] = self.cal.ts(at)
        self.emit(at, _line("treasury_flow", data))

    def schedule(self) -> dict[int, list[tuple[str, str]]]:
        """Payroll on 3 days from the 10th, livelihood from the 20th; each quarter's last month bond
        proceeds from the 15th (region) and debt service from the 24th (region and cities)."""
        cal = self.cal
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
        cal = self.cal
        previous = (cal.dates[value_day].replace(day=1) - timedelta(days=1)).replace(day=25)
        index = (previous - cal.dates[0]).days
        return 0 if index <= 0 else cal.working_after(index - 1, 1)

    # -- the whole --------------------------------------------------------------------------------

    def build(self) -> tuple[list[bytes], Expected]:
        self.build_budget()
        self.build_carryovers()
        self.build_dedicated()
        self.build_direct_chains()
        normal = self.plan_normal()
        plan = sorted(normal + self.plan_injections(), key=lambda p: p.at)
        self.assign(plan)
        self.size(plan)
        self.emit_reference()
        self.emit_payments(plan)
        conflicts = duplicates = self.emit_redeliveries(normal)
        self.emit_treasuries(self.emit_settlements(plan, normal))
        for day in range(len(self.cal.dates)):
            self.emit(day * _DAY, _line("clock", {"now": self.cal.ts(day * _DAY)}))
        for i in range(self.k):
            self.emit(self.pay_time(self.some_day()), _INVALID_LINES[i % len(_INVALID_LINES)])
        self.injected["invalid_line"] += self.k
        self.events.sort()
        lines = [line for _, line in self.events]
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
        return lines, Expected(
            normal_payments=self.n, codes=dict(sorted(codes.items())), outcomes=dict(sorted(outcomes.items())),
            duplicate_deliveries=duplicates, invalid_lines=self.k + malformed, malformed_payments=malformed,
            settlement_anomalies=2 * max(1, self.k // 2), injected=dict(sorted(self.injected.items())),
            lines=len(lines),
        )


def _malformed(kind: str, data: dict[str, Any]) -> bytes:
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
    return _line("payment", data)
