"""The mutable records a scenario is planned with: agencies, projects, indicators and payments."""

from dataclasses import dataclass, field

from stream.demo import region

Payee = tuple[str, str, str]  # name, account, bank code


@dataclass(slots=True, eq=False)
class Project:
    project_id: str
    name: str
    agency: str
    status: str
    research: bool
    special_bond: bool
    at: int
    later: list[tuple[int, str]] = field(default_factory=list)  # (time, status) of versions 2, 3...


@dataclass(slots=True, eq=False)
class Agency:
    code: str
    name: str
    treasury: str
    place: str
    dept: region.Department
    level: int  # 0 region, 1 league/city, 2 banner/county/district
    projects: dict[str, Project] = field(default_factory=dict)


@dataclass(slots=True, eq=False)
class Indicator:
    indicator_id: str
    agency: Agency
    project_id: str
    function: str
    economic: str
    fund_type: str
    source: str
    issued: int
    parent: "Indicator | None" = None
    direct: str | None = None  # the chain's direct_fund_code
    children: list["Indicator"] = field(default_factory=list)
    window: tuple[int, int] = (0, 0)  # payment-day indices a direct-fund leaf is paid in
    planned: int = 0
    amount: int = 0
    versions: list[tuple[int, int | None, str]] = field(default_factory=list)  # (time, amount, status)
    stale_at: int | None = None
    over: bool = False  # an allocation asking for more than its parent has left (T002, refused)


@dataclass(slots=True, eq=False)
class Pay:
    at: int
    ind: Indicator
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
