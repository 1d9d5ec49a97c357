"""Property tests: over random streams the ledger never goes below zero and equals a reference model."""

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agents.config import default_rules_text, parse_rules
from agents.validation.agent import ValidationAgent
from models.inputs import Indicator, Payment, Project, Settlement
from models.outputs import Decision

TZ = timezone(timedelta(hours=8))
START = datetime(2022, 3, 1, 9, tzinfo=TZ)
INDICATORS = {"I1": 100_000, "I2": 250_000, "I3": 1_000}  # amounts in fen
RULES = parse_rules(default_rules_text())


def _fen(amount_fen: int) -> str:
    return f"{amount_fen // 100}.{amount_fen % 100:02d}"


def _indicator(indicator_id: str, amount_fen: int) -> Indicator:
    return Indicator.model_validate_json(
        f'{{"indicator_id":"{indicator_id}","version":1,"fiscal_year":2022,"treasury_code":"150100",'
        f'"agency_code":"A1","project_id":"PRJ1","function_code":"2050201","economic_code":"30201",'
        f'"fund_type":"general","source":"current","amount":"{_fen(amount_fen)}","status":"active",'
        f'"issued_at":"2022-01-01T09:00:00+08:00"}}'
    )


def _payment(payment_id: str, indicator_id: str, amount_fen: int, individual: bool, step: int) -> Payment:
    # Unique payee accounts keep F001/F002 out of it; an individual payee under 30201 is held (F004).
    kind = "individual" if individual else "organization"
    at = (START + timedelta(minutes=step)).isoformat()
    return Payment.model_validate_json(
        f'{{"payment_id":"{payment_id}","indicator_id":"{indicator_id}","agency_code":"A1","project_id":"PRJ1",'
        f'"function_code":"2050201","economic_code":"30201","amount":"{_fen(amount_fen)}",'
        f'"payee":{{"name":"n","account":"acct-{payment_id}","bank_code":"102","kind":"{kind}"}},'
        f'"method":"direct","purpose":"p","advance":false,"requested_at":"{at}"}}'
    )


def _settlement(payment_id: str, indicator_id: str, status: str, amount_fen: int, step: int) -> Settlement:
    at = (START + timedelta(minutes=step)).isoformat()
    return Settlement.model_validate_json(
        f'{{"payment_id":"{payment_id}","indicator_id":"{indicator_id}","status":"{status}",'
        f'"amount":"{_fen(amount_fen)}","bank_ref":"b","settled_at":"{at}"}}'
    )


@dataclass
class Reference:
    """The simplest model of the ledger: per payment a status, balances recomputed from scratch."""

    payments: dict[str, tuple[str, int, str]] = field(default_factory=dict)

    def available(self, indicator_id: str) -> int:
        used = sum(
            a for i, a, s in self.payments.values() if i == indicator_id and s in ("accepted", "held", "settled")
        )
        return INDICATORS[indicator_id] - used

    def pay(self, payment_id: str, indicator_id: str, amount_fen: int, individual: bool) -> str:
        if indicator_id not in INDICATORS or amount_fen > self.available(indicator_id):
            status = "rejected"
        else:
            status = "held" if individual else "accepted"
        self.payments[payment_id] = (indicator_id, amount_fen, status)
        return status

    def move(self, payment_id: str, allowed: dict[str, str]) -> None:
        if payment_id in self.payments:
            indicator_id, amount_fen, status = self.payments[payment_id]
            if status in allowed:
                self.payments[payment_id] = (indicator_id, amount_fen, allowed[status])


_ids = st.sampled_from([f"P{n}" for n in range(5)])
_ops = st.one_of(
    st.tuples(st.just("pay"), _ids, st.sampled_from([*INDICATORS, "NOPE"]), st.integers(1, 60_000), st.booleans()),
    st.tuples(st.just("settle"), _ids, st.integers(1, 120_000)),
    st.tuples(st.just("return"), _ids),
    st.tuples(st.just("release"), _ids),
    st.tuples(st.just("reject"), _ids),
)


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_ops, max_size=60))
def test_ledger_never_below_zero_and_equals_reference(ops: list[tuple]) -> None:
    agent = ValidationAgent(RULES)
    agent.on_project(Project.model_validate_json(
        '{"project_id":"PRJ1","version":1,"name":"n","agency_code":"A1","status":"executing",'
        '"research":false,"special_bond":false,"updated_at":"2022-01-01T09:00:00+08:00"}'
    ))
    for indicator_id, amount_fen in INDICATORS.items():
        assert [type(i).__name__ for i in agent.on_indicator(_indicator(indicator_id, amount_fen))] == ["Opened"]
    ref = Reference()
    sent: dict[str, Payment] = {}
    effective: dict[str, str] = {}
    for step, op in enumerate(ops):
        at = START + timedelta(minutes=step)
        if op[0] == "pay":
            _, pid, ind, amount_fen, individual = op
            payment = _payment(pid, ind, amount_fen, individual, step)
            out = agent.on_payment(payment)
            decision = out[0]
            assert isinstance(decision, Decision)
            if pid in sent:
                # Redelivery: identical content re-sends the original; other content is V002.
                if payment == sent[pid]:
                    assert decision.duplicate_delivery and decision.outcome == effective[pid]
                else:
                    assert decision.outcome == "rejected" and [r.code for r in decision.reasons] == ["V002"]
            else:
                sent[pid] = payment
                effective[pid] = ref.pay(pid, ind, amount_fen, individual)
                assert decision.outcome == effective[pid]
        elif op[0] == "settle" and op[1] in ref.payments:
            indicator_id = ref.payments[op[1]][0]
            agent.on_settlement(_settlement(op[1], indicator_id, "settled", op[2], step))
            ref.move(op[1], {"accepted": "settled"})
        elif op[0] == "return" and op[1] in ref.payments:
            indicator_id, amount_fen, _ = ref.payments[op[1]]
            agent.on_settlement(_settlement(op[1], indicator_id, "returned", amount_fen, step))
            ref.move(op[1], {"accepted": "returned", "settled": "returned"})
        elif op[0] == "release":
            released = agent.release(op[1], at)
            if isinstance(released[0], Decision):
                effective[op[1]] = "accepted"
            ref.move(op[1], {"held": "accepted"})
        elif op[0] == "reject":
            rejected = agent.reject_held(op[1], at)
            if isinstance(rejected[0], Decision):
                effective[op[1]] = "rejected"
            ref.move(op[1], {"held": "rejected"})
        _assert_same(agent, ref)


def _assert_same(agent: ValidationAgent, ref: Reference) -> None:
    for indicator_id, amount_fen in INDICATORS.items():
        account = agent.state.ledger.accounts[indicator_id]
        assert account.available >= 0
        assert account.amount == amount_fen
        reserved = sum(a for i, a, s in ref.payments.values() if i == indicator_id and s in ("accepted", "held"))
        spent = sum(a for i, a, s in ref.payments.values() if i == indicator_id and s == "settled")
        assert (account.reserved, account.spent) == (reserved, spent)
        assert account.available == ref.available(indicator_id)
    for pid, (_, _, status) in ref.payments.items():
        assert agent.payments[pid].status == status
