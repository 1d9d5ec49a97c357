"""Payees: unique accounts, companies, people, recurring suppliers, and their assignment to payments."""

from stream.demo import region
from stream.demo.context import Context
from stream.demo.records import Pay, Payee
from stream.demo.timeline import DAY, HOUR


class Payees:
    """Hands out payees so that no fraud rule fires by accident (no accidental F001 or F002)."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.accounts: set[str] = set()
        self.pools: dict[str, list[Payee]] = {}
        self.last_paid: dict[str, int] = {}
        self.last_amount: dict[tuple[str, str, int], int] = {}

    def org_account(self) -> str:
        while True:
            account = str(self.ctx.rng.randrange(10**17, 10**18))
            if account not in self.accounts:
                self.accounts.add(account)
                return account

    def company(self, industry: str) -> Payee:
        rng = self.ctx.rng
        place = rng.choice(region.CITIES).short if rng.random() < 0.8 else "内蒙古"
        name = f"{place}{rng.choice(region.COMPANY_WORDS)}{industry}{rng.choice(region.COMPANY_SUFFIXES)}"
        return name, self.org_account(), rng.choice(region.BANKS)[0]

    def person(self) -> Payee:
        rng = self.ctx.rng
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
        rng = self.ctx.rng
        industries = region.ECONOMIC_PROFILES[economic].industries or ("商贸",)
        industry = industries[rng.randrange(len(industries))]
        pool = self.pools.setdefault(industry, [])
        found: Payee | None = None
        if len(pool) >= 6 and rng.random() < 0.6:
            for _ in range(3):
                candidate = pool[rng.randrange(len(pool))]
                if at - self.last_paid.get(candidate[1], -10 * DAY) > DAY + HOUR:
                    found = candidate
                    break
        if found is None:
            found = self.company(industry)
            pool.append(found)
        self.last_paid[found[1]] = at
        return found

    def assign(self, plan: list[Pay]) -> None:
        """Payment ids and payees in event-time order; no account sees the same amount and economic
        code twice within 8 days (no accidental F002)."""
        window = 8 * DAY
        for n, p in enumerate(plan, start=1):
            p.pid = f"ZF{self.ctx.year}{n:08d}"
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
