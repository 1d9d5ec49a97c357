"""Reference data: agencies, projects, indicators (direct-fund chains included), their sizing and blocks."""

from bisect import bisect_right
from typing import Any

from models.money import format_fen
from stream.demo import region
from stream.demo.context import Context, ceil_to, encode
from stream.demo.records import Agency, Indicator, Pay, Project
from stream.demo.timeline import DAY, HOUR


class Reference:
    """Builds the reference data, sizes its indicators once payments are planned, and emits it."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.names = {region.REGION.code: region.REGION.name}
        self.agencies: dict[str, Agency] = {}
        self.by_treasury: dict[str, list[Agency]] = {}
        self.budget_agencies: list[Agency] = []
        self.indicators: list[Indicator] = []
        self.general: list[Indicator] = []
        self.carry_plain: list[Indicator] = []
        self.carry_research: list[Indicator] = []
        self.dedicated: dict[str, list[Indicator]] = {"B002": [], "P001": [], "P002": []}
        self.roots: list[Indicator] = []
        self.leaves: list[Indicator] = []
        self.blocks: list[tuple[int, str, str]] = []  # (time, account, reason) of payee blocks
        self.t_project = 7 * HOUR
        self.t_indicator = 8 * HOUR

    def build(self) -> None:
        self.build_budget()
        self.build_carryovers()
        self.build_dedicated()
        self.build_direct_chains()

    def agency(self, division: str, level: int, dept: region.Department) -> Agency:
        code = division + dept.code
        found = self.agencies.get(code)
        if found is None:
            place = self.names[division]
            found = Agency(code, place + (dept.region_name if level == 0 else dept.local_name),
                           division, place, dept, level)
            self.agencies[code] = found
            self.by_treasury.setdefault(division, []).append(found)
        return found

    def project(self, agency: Agency, key: str, name: str, at: int | None = None, *,
                status: str = "executing", special_bond: bool = False, year: int | None = None) -> Project:
        if at is None:
            self.t_project += 1
            at = self.t_project
        year = self.ctx.year if year is None else year
        found = Project(f"XM{year}-{agency.code}-{key}", f"{year}年{agency.name}{name}", agency.code,
                        status, agency.dept.research, special_bond, at)
        agency.projects[key] = found
        return found

    def indicator(self, agency: Agency, project_id: str, line: tuple[str, str], at: int | None = None, *,
                  source: str = "current", fund_type: str = "general",
                  parent: Indicator | None = None, direct: str | None = None) -> Indicator:
        if at is None:
            self.t_indicator += 1
            at = self.t_indicator
        ind = Indicator(f"ZB{self.ctx.year}-{agency.treasury}-{len(self.indicators) + 1:05d}", agency,
                        project_id, line[0], line[1], fund_type, source, at, parent, direct)
        if parent is not None:
            parent.children.append(ind)
        self.indicators.append(ind)
        return ind

    def build_budget(self) -> None:
        """Every level's agencies with their basic and project budgets, issued on the first day."""
        rng = self.ctx.rng
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

    def budget_line(self, agency: Agency, line: tuple[str, str]) -> Indicator:
        """An indicator under the agency's project for the line's group (人员/公用/专项)."""
        ctx = self.ctx
        group, name = next((f"{i:02d}", g[1]) for i, g in enumerate(region.PROJECT_GROUPS)
                           if line[1].startswith(g[0]))
        bond = group == "02" and line[1] == "31005" and agency.level < 2
        prj = agency.projects.get(group)
        if prj is None:
            budgeted = group == "02" and ctx.rng.random() < 0.5
            prj = self.project(agency, group, name, status="budgeted" if budgeted else "executing",
                               special_bond=bond)
            if budgeted and ctx.rng.random() < 0.5:
                prj.later.append((ctx.pay_time(ctx.some_day(0.1, 0.5), 16 * HOUR, 17 * HOUR), "executing"))
        return self.indicator(agency, prj.project_id, line, fund_type="special_bond" if bond else "general")

    def build_carryovers(self) -> None:
        """Carry-over indicators (结转): their use may not change; science ones are research."""
        rng, k = self.ctx.rng, self.ctx.k
        science = [a for a in self.budget_agencies if a.dept.research]
        plain = [a for a in self.budget_agencies if not a.dept.research]
        chosen = science[: max(k, 3)] + rng.sample(plain, max(k + 2, len(plain) // 8))
        for i, agency in enumerate(chosen):
            prj = self.project(agency, f"JZ{i:02d}", "结转项目", year=self.ctx.year - 1)
            line = rng.choice([ln for ln in agency.dept.lines if not ln[1].startswith("301")])
            ind = self.indicator(agency, prj.project_id, line, source="carryover")
            (self.carry_research if agency.dept.research else self.carry_plain).append(ind)

    def build_dedicated(self) -> None:
        """Indicators only anomalies pay from: frozen/cancelled later (B002), unknown project (P001),
        project in reserve or terminated later (P002). One frozen indicator gets a stale version 1."""
        ctx = self.ctx
        rng = ctx.rng
        for i in range(ctx.k):
            for code in ("B002", "P001", "P002"):
                agency = rng.choice(self.budget_agencies)
                if code == "P001":
                    project_id = f"XM{ctx.year}-{agency.code}-9{i:02d}"  # never in the library
                else:
                    status = "reserve" if code == "P002" and i % 2 else "executing"
                    prj = self.project(agency, f"8{code[0]}{i:02d}", "专项业务经费", status=status)
                    project_id = prj.project_id
                    if code == "P002" and status == "executing":
                        prj.later.append((ctx.pay_time(ctx.some_day(0.2, 0.6), 15 * HOUR, 16 * HOUR),
                                          "terminated"))
                ind = self.indicator(agency, project_id, agency.dept.lines[1])
                if code == "B002":
                    frozen_at = ctx.pay_time(ctx.some_day(0.2, 0.6), 15 * HOUR, 16 * HOUR)
                    ind.versions.append((frozen_at, None, "frozen" if i % 2 == 0 else "cancelled"))
                    if i == 0:
                        ind.stale_at = frozen_at + 2 * HOUR
                        ctx.injected["stale_indicator_version"] += 1
                ind.planned = ctx.amount(ind.economic)
                self.dedicated[code].append(ind)

    def build_direct_chains(self) -> None:
        """Each direct-fund document: region -> 4-8 leagues/cities -> 1-4 of their counties (leaves)."""
        ctx = self.ctx
        rng, cal = ctx.rng, ctx.cal
        n_days = len(ctx.pay_days)
        # About 11 leaves a document; small scenarios get fewer documents so every leaf is paid from.
        documents = max(2, min(len(region.DIRECT_FUNDS), int(ctx.n * 0.22) // 35))
        for i, doc in enumerate(region.DIRECT_FUNDS[:documents]):
            code, key = f"ZD{ctx.year}-{i + 1:04d}", f"ZD{i + 1:02d}"
            dept = region.DEPARTMENT[doc.department]
            line = (doc.function_code, doc.economic_code)
            day = ctx.pay_days[int(n_days * (0.01 + 0.065 * i))]
            owner = self.agency(region.REGION.code, 0, dept)
            prj = self.project(owner, key, doc.name, day * DAY + 8 * HOUR + i)
            root = self.indicator(owner, prj.project_id, line, day * DAY + 9 * HOUR + i, direct=code)
            self.roots.append(root)
            city_day = cal.working_after(day, 1)
            for j, city in enumerate(rng.sample(region.CITIES, rng.randint(4, 8))):
                owner = self.agency(city.code, 1, dept)
                prj = self.project(owner, key, doc.name, city_day * DAY + 9 * HOUR + j)
                node = self.indicator(owner, prj.project_id, line, city_day * DAY + 10 * HOUR + 60 * j,
                                      parent=root, direct=code)
                county_day = cal.working_after(city_day, rng.randint(2, 4))
                for m, county in enumerate(rng.sample(city.counties, rng.randint(1, len(city.counties)))):
                    owner = self.agency(county.code, 2, dept)
                    prj = self.project(owner, key, doc.name, county_day * DAY + 9 * HOUR + m)
                    leaf = self.indicator(owner, prj.project_id, line, county_day * DAY + 9 * HOUR + 1800 + 60 * m,
                                          parent=node, direct=code)
                    first = min(bisect_right(ctx.pay_days, county_day), n_days - 1)
                    leaf.window = (first, min(first + 45, n_days - 1))
                    self.leaves.append(leaf)
            if i < ctx.k:
                # T001 and T003: a county that receives its allocation and never pays from it.
                county = city.counties[0]
                owner = self.agency(county.code, 2, dept)
                prj = self.project(owner, key, doc.name, county_day * DAY + 10 * HOUR)
                self.indicator(owner, prj.project_id, line, county_day * DAY + 11 * HOUR, parent=node, direct=code)
                ctx.injected["idle_direct_leaf"] += 1
                # T002: another county asks the city for more than the city's whole amount: refused
                # whatever order the siblings' allocations reach the city in (Kafka: another partition).
                over = self.indicator(owner, prj.project_id, line, county_day * DAY + 12 * HOUR, parent=node,
                                      direct=code)
                over.over = True
                ctx.injected["over_allocation"] += 1

    def size(self, plan: list[Pay]) -> None:
        """Indicator amounts from what is planned on them; chains bottom-up; B006 and adjustments."""
        ctx = self.ctx
        rng = ctx.rng
        for p in plan:
            if p.sized:
                p.ind.planned += p.amount
        for ind in self.indicators:
            if ind.direct is None:
                base = rng.uniform(20_000, 300_000) * 100 * (3 - ind.agency.level)
                ind.amount = ceil_to(ind.planned * rng.uniform(1.2, 1.6) + base, 100_000)
        for root in self.roots:
            for node in root.children:
                granted = [leaf for leaf in node.children if not leaf.over]
                for leaf in granted:
                    planned = leaf.planned * rng.uniform(1.12, 1.4) or rng.uniform(100_000, 600_000) * 100
                    leaf.amount = ceil_to(planned, 10_000)
                node.amount = ceil_to(sum(c.amount for c in granted) * rng.uniform(1.0, 1.03), 1_000_000)
                for leaf in node.children:
                    if leaf.over:
                        leaf.amount = node.amount + 1_000_000
            root.amount = ceil_to(sum(c.amount for c in root.children) * rng.uniform(1.0, 1.02), 1_000_000)
        overdrawn = set()
        for p in plan:
            if "B006" in p.codes:
                p.amount = p.ind.amount + rng.randrange(100_000, 5_000_000)
                overdrawn.add(p.ind.indicator_id)
        for ind in rng.sample([ind for ind in self.general if ind.indicator_id not in overdrawn], ctx.k):
            when = ctx.pay_time(ctx.some_day(0.3, 0.7), 16 * HOUR, 17 * HOUR)
            ind.versions.append((when, ceil_to(ind.amount * rng.uniform(1.1, 1.35), 100_000), "active"))
            ctx.injected["indicator_adjustment"] += 1

    def emit(self) -> None:
        """Projects and their later versions, indicators with theirs (and a stale copy), payee blocks."""
        ctx = self.ctx
        ts = ctx.cal.ts
        for agency in self.agencies.values():
            for prj in agency.projects.values():
                data: dict[str, Any] = {
                    "project_id": prj.project_id, "version": 1, "name": prj.name, "agency_code": prj.agency,
                    "status": prj.status, "research": prj.research, "special_bond": prj.special_bond,
                    "updated_at": ts(prj.at),
                }
                ctx.emit(prj.at, encode("project", data))
                for version, (at, status) in enumerate(prj.later, start=2):
                    ctx.emit(at, encode("project", {**data, "version": version, "status": status,
                                                    "updated_at": ts(at)}))
        for ind in self.indicators:
            data = {
                "indicator_id": ind.indicator_id, "version": 1, "fiscal_year": ctx.year,
                "treasury_code": ind.agency.treasury, "agency_code": ind.agency.code,
                "project_id": ind.project_id, "function_code": ind.function, "economic_code": ind.economic,
                "fund_type": ind.fund_type, "source": ind.source, "amount": format_fen(ind.amount),
                "status": "active", "issued_at": ts(ind.issued),
            }
            if ind.parent is not None:
                data["parent_indicator_id"] = ind.parent.indicator_id
            if ind.direct is not None:
                data["direct_fund_code"] = ind.direct
            first = encode("indicator", data)
            ctx.emit(ind.issued, first)
            amount = ind.amount
            for version, (at, new_amount, status) in enumerate(ind.versions, start=2):
                amount = amount if new_amount is None else new_amount
                ctx.emit(at, encode("indicator", {**data, "version": version, "amount": format_fen(amount),
                                                  "status": status, "issued_at": ts(at)}))
            if ind.stale_at is not None:
                ctx.emit(ind.stale_at, first)
        for at, account, reason in self.blocks:
            ctx.emit(at, encode("payee_block", {"account": account, "reason": reason, "blocked_at": ts(at)}))
