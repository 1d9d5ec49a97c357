"""The rule thresholds: one TOML file, parsed into a frozen, strictly checked model."""

import tomllib
from datetime import timedelta, timezone
from importlib import resources
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from models.errors import ConfigError
from models.inputs import PayeeKind, ProjectStatus
from models.money import PositiveFen

Days = Annotated[int, Field(ge=1, le=3660)]
Percent = Annotated[int, Field(ge=0, le=1000)]
Prefixes = Annotated[tuple[Annotated[str, Field(pattern=r"^\d{1,7}$")], ...], Field(min_length=1)]


class _Section(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)


class ValidationRules(_Section):
    review_threshold: PositiveFen
    split_window_hours: Annotated[int, Field(ge=1, le=24 * 31)]
    split_min_payments: Annotated[int, Field(ge=2, le=1000)]
    duplicate_window_days: Days
    individual_economic_prefixes: Prefixes
    direct_fund_forbidden_payees: tuple[PayeeKind, ...]
    executable_project_statuses: tuple[ProjectStatus, ...]
    fiscal_utc_offset_hours: Annotated[int, Field(ge=-12, le=14)]

    @property
    def fiscal_timezone(self) -> timezone:
        return timezone(timedelta(hours=self.fiscal_utc_offset_hours))


class SanbaoRules(_Section):
    economic_prefixes: Prefixes


class TracingRules(_Section):
    unallocated_days: Days
    stagnant_days: Days
    stagnant_spent_percent: Percent
    unsettled_days: Days


class CashRules(_Section):
    floor_percent_of_monthly_outflow: Percent
    horizon_days: Annotated[int, Field(ge=1, le=366)]
    coverage_low_percent: Percent
    coverage_high_percent: Percent
    spike_sigmas: Annotated[int, Field(ge=1, le=100)]
    spike_window_days: Days


class ForecastRules(_Section):
    history_days: Days
    min_history_days: Days
    refit_days: Days
    level_days: Days
    calibration_origins: Annotated[int, Field(ge=10, le=3660)]
    min_calibration: Annotated[int, Field(ge=5, le=3660)]
    spike_min_days: Days


class RulesConfig(_Section):
    """Every threshold of DESIGN §4; the TOML file is the only source of the defaults."""

    validation: ValidationRules
    sanbao: SanbaoRules
    tracing: TracingRules
    cash: CashRules
    forecast: ForecastRules

    def is_sanbao(self, economic_code: str) -> bool:
        """三保 (wages, livelihood, basic operations) by economic-code prefix."""
        return economic_code.startswith(self.sanbao.economic_prefixes)


def parse_rules(text: str) -> RulesConfig:
    """Parse the TOML text of a rules file; raise ConfigError naming what is wrong."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"rules file is not valid TOML: {error}") from None
    # TOML arrays arrive as lists; the model keeps them as tuples (immutable).
    for section in raw.values():
        if isinstance(section, dict):
            for key, value in section.items():
                if isinstance(value, list):
                    section[key] = tuple(value)
    try:
        return RulesConfig.model_validate(raw)
    except ValidationError as error:
        raise ConfigError(f"rules file is invalid: {error}") from None


def default_rules_text() -> str:
    """The packaged defaults (agents/rules.toml)."""
    return resources.files("agents").joinpath("rules.toml").read_text(encoding="utf-8")
