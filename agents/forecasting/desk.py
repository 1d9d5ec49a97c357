"""The cash desk: feeds the forecasting agent and releases S001 holds through the validation agent.

The runtime routes balance statements, flows and clock events here. After each, the held
payments that cash now allows are released in arrival order: a second decision, `accepted`, at
the event time of what freed the cash.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from agents.config import RulesConfig
from agents.findings import Refusal
from agents.forecasting.agent import ForecastingAgent, ForecastOut
from agents.validation.agent import Emitted, ValidationAgent
from models.inputs import Clock, TreasuryBalance, TreasuryFlow

DeskOut = Emitted | ForecastOut


@dataclass(slots=True)
class CashDesk:
    """The forecasting agent, bound to the validation agent whose S001 holds it releases."""

    rules: RulesConfig
    forecasting: ForecastingAgent = field(init=False)
    validation: ValidationAgent | None = None

    def __post_init__(self) -> None:
        self.forecasting = ForecastingAgent(self.rules)

    def routes(self, validation: ValidationAgent) -> dict[type, Callable[[Any], list[DeskOut]]]:
        """Become `validation`'s CashGuard; the input types the runtime should send here."""
        self.validation = validation
        validation.cash_guard = self.forecasting
        return {TreasuryBalance: self.on_balance, TreasuryFlow: self.on_flow, Clock: self.on_clock}

    def on_balance(self, statement: TreasuryBalance) -> list[DeskOut]:
        out: list[DeskOut] = list(self.forecasting.on_balance(statement))
        return out + self._release(statement.treasury_code, statement.as_of)

    def on_flow(self, flow: TreasuryFlow) -> list[DeskOut]:
        out: list[DeskOut] = list(self.forecasting.on_flow(flow))
        return out + self._release(flow.treasury_code, flow.recorded_at)

    def on_clock(self, clock: Clock) -> list[DeskOut]:
        # A new day moves the 三保 window: what was due may now be paid or past.
        out: list[DeskOut] = []
        for code in self.forecasting.waiting():
            out += self._release(code, clock.now)
        return out

    def _release(self, treasury_code: str, at: datetime) -> list[DeskOut]:
        if self.validation is None:
            return []
        out: list[DeskOut] = []
        for payment_id in self.forecasting.releasable(treasury_code, at):
            for item in self.validation.release(payment_id, at):
                if isinstance(item, Refusal):
                    self.forecasting.forget(treasury_code, payment_id)  # no longer held (an operator acted)
                else:
                    out.append(item)
        return out
