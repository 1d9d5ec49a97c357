"""MemoryStore semantics: one effective decision per payment, idempotent replays, alert ordering.

The builders and `BATCHES` here are shared with tests/integration/test_store.py, which runs the
same contract against PostgreSQL.
"""

import asyncio
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import orjson
import pytest

from models.base import WireModel
from models.outputs import Alert, Chain, DeadLetter, Decision, Forecast
from stream.sinks import MemorySink
from stream.store import MemoryStore, Store, StoreError
from stream.store.errors import describe_dsn, translate
from stream.store.merge import group
from stream.store.tee import TeeSink

CST = timezone(timedelta(hours=8))
T0 = datetime(2022, 3, 1, 9, 30, tzinfo=CST)


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def decision(
    payment_id: str, outcome: str = "accepted", codes: Sequence[str] = (), minutes: int = 0,
    duplicate: bool = False, available: str | None = "100.00",
) -> Decision:
    data: dict[str, Any] = {
        "payment_id": payment_id, "outcome": outcome, "indicator_id": "IND-1",
        "reasons": [{"code": c, "message": f"原因 {c}", "message_en": f"reason {c}", "clause": "§4"} for c in codes],
        "decided_at": at(minutes), "duplicate_delivery": duplicate,
    }
    if available is not None:
        data["available_after"] = available
    return Decision.model_validate_json(orjson.dumps(data))


def alert(alert_id: str, status: str = "open", minutes: int = 0, count: int = 1, opened: int = 0) -> Alert:
    return Alert.model_validate_json(orjson.dumps({
        "alert_id": alert_id, "code": "F001", "severity": "warning",
        "subject": {"kind": "payment", "id": f"P-{alert_id}"},
        "message": {"zh": f"拆分支付 {count}", "en": f"split payments {count}"},
        "evidence": {"count": count, "amount": "49999.00"},
        "opened_at": at(opened), "updated_at": at(minutes), "status": status,
    }))


def dead(offset: int, raw: str = "{not json", source: str = "s.jsonl") -> DeadLetter:
    import hashlib

    return DeadLetter.model_validate_json(orjson.dumps({
        "source": source, "offset": offset, "error_code": "json_invalid", "error": "invalid JSON",
        "raw": raw, "raw_bytes": len(raw.encode()), "raw_truncated": False,
        "raw_sha256": hashlib.sha256(raw.encode()).hexdigest(),
    }))


def forecast(treasury: str, day: int, p50: str) -> Forecast:
    return Forecast.model_validate_json(orjson.dumps({
        "treasury_code": treasury, "as_of": f"2022-03-{day:02d}", "coverage_ratio": 1.5,
        "points": [{"date": f"2022-03-{day + 1:02d}", "p10": "-1.00", "p50": p50, "p90": "9.00"}],
    }))


def chain(root: str, spent: str, status: str) -> Chain:
    """Region IND-1 -> city IND-C -> county IND-L, paid from the county; another root beside it."""
    def node(indicator: str, parent: str | None, amount: str, allocated: str, node_spent: str) -> dict[str, Any]:
        return {"indicator_id": indicator, "parent_indicator_id": parent, "treasury_code": "150100",
                "agency_code": "A1", "amount": amount, "allocated": allocated, "reserved": "0.00",
                "spent": node_spent, "issued_at": at(0)}
    return Chain.model_validate_json(orjson.dumps({
        "root": root,
        "nodes": [node("IND-1", None, "100.00", "60.00", "0.00"), node("IND-C", "IND-1", "60.00", "30.00", "0.00"),
                  node("IND-L", "IND-C", "30.00", "0.00", spent)],
        "payments": [{"payment_id": "P1", "indicator_id": "IND-L", "payee_name": "某合作社",
                      "payee_account": "6222000000001234", "payee_kind": "organization", "amount": "10.00",
                      "status": status}],
    }))


OTHER_CHAIN = Chain.model_validate_json(orjson.dumps({
    "root": "IND-9",
    "nodes": [{"indicator_id": "IND-9", "treasury_code": "150200", "agency_code": "A9", "amount": "5.00",
               "allocated": "0.00", "reserved": "0.00", "spent": "0.00", "issued_at": at(0)}],
    "payments": [],
}))


# Three batches as a runtime would write them: held then released, redeliveries, a conflicting
# resend (V002), a malformed message (V001) later corrected, alert states, dead letters.
BATCHES: list[list[WireModel]] = [
    [
        decision("P1", minutes=0),
        decision("P2", "held", ["F001"], minutes=1),
        decision("P3", "rejected", ["V001"], minutes=2, available=None),
        dead(3),
        decision("P4", "rejected", ["B006"], minutes=3, available="0.00"),
        alert("F001-a", "open", minutes=1, count=1),
        forecast("150100", 1, "5.00"),
    ],
    [
        decision("P1", minutes=0, duplicate=True),
        decision("P1", "rejected", ["V002"], minutes=5),
        decision("P3", minutes=1, available="50.00"),  # the corrected instruction, earlier requested_at
        decision("P3", "rejected", ["V001"], minutes=6, available=None),  # a malformed copy again
        alert("F001-a", "open", minutes=4, count=2),
        alert("F001-b", "open", minutes=4),
        dead(3),  # the same offset again (a redelivery)
        dead(9, "x\x00y"),
        chain("DF-1", "0.00", "accepted"),
        OTHER_CHAIN,
    ],
    [
        decision("P2", "accepted", ["F001"], minutes=30),  # released by an operator
        decision("P2", "accepted", ["F001"], minutes=30, duplicate=True),
        decision("P5", "rejected", ["V002"], minutes=31),  # a V002 for an id never stored
        decision("P6", "held", ["F002"], minutes=32, duplicate=True),  # a copy whose original was lost
        alert("F001-a", "acknowledged", minutes=20, count=2),
        alert("F001-b", "resolved", minutes=40),
        forecast("150100", 1, "6.00"),
        forecast("150100", 2, "7.00"),
        chain("DF-1", "10.00", "settled"),
    ],
]

def _node_row(version: int, spent_fen: int) -> dict[str, Any]:
    return {"indicator_id": "IND-L", "root": "DF-1", "parent_indicator_id": "IND-C", "treasury_code": "150100",
            "agency_code": "A1", "amount_fen": 3_000, "allocated_fen": 0, "reserved_fen": 0, "spent_fen": spent_fen,
            "issued_at": at(0), "version": version}


def _payment_row(payment_id: str, status: str, stage: int) -> dict[str, Any]:
    return {"payment_id": payment_id, "indicator_id": "IND-L", "root": "DF-1", "payee_name": "某合作社",
            "payee_account": "6222000000001234", "payee_kind": "organization", "amount_fen": 1_000,
            "status": status, "stage": stage}


# As workers write them: one node at account version 7, a payment returned after settling.
WORKER_CHAIN_ROWS = ([_node_row(7, 2_000)], [_payment_row("P1", "settled", 2), _payment_row("P7", "returned", 3)])
STALE_CHAIN_ROWS = ([_node_row(6, 1_000), _node_row(7, 2_000)], [_payment_row("P7", "accepted", 1)])
LEDGER = [("IND-1", 10_000, 0, 2_000, 3_000, at(5), 4), ("IND-2", 500, 100, 0, 0, at(5), 2)]


async def snapshot(store: Store) -> dict[str, Any]:
    """Everything the queries return about BATCHES, for comparing stores and replays."""
    payments = ("P1", "P2", "P3", "P4", "P5", "P6")
    return {
        "decisions": {p: await store.decision(p) for p in payments},
        "history": {p: await store.decision_history(p) for p in payments},
        "count": await store.decision_count(),
        "alerts": await store.alerts(),
        "open": await store.alerts("open"),
        "alert_history": {a: await store.alert_history(a) for a in ("F001-a", "F001-b")},
        "deadletters": await store.deadletter_count(),
        "forecast": await store.forecast("150100", date(2022, 3, 1)),
        "latest_forecast": await store.forecast("150100"),
        "no_forecast": await store.forecast("150200"),
        "chain": await store.chain("DF-1"),
        "no_chain": await store.chain("DF-404"),
        "path": await store.payment_path("P1"),
        "no_path": await store.payment_path("P404"),
        "ledger": {i: await store.ledger(i) for i in ("IND-1", "IND-2")},
    }


def check_contract(store: Store) -> None:
    """Write BATCHES, replay them whole and as a suffix (a replayed offset); the results never change."""

    async def run() -> None:
        await store.open()
        try:
            for batch in BATCHES:
                await store.write(batch)
            await store.write_ledger(LEDGER)
            await store.write_chain_rows(*WORKER_CHAIN_ROWS)
            first = await snapshot(store)
            assert_expected(first)
            for batch in BATCHES:
                await store.write(batch)
            for batch in BATCHES[1:]:
                await store.write(batch)
            await store.write([model for batch in BATCHES for model in batch])  # all at once
            await store.write_ledger([(*LEDGER[0][:3], 0, 0, at(1), 4)])  # an older copy of the same version
            await store.write_ledger([(*LEDGER[0][:3], 0, 0, at(9), 3)])  # a newer copy of an older version
            await store.write_chain_rows(*STALE_CHAIN_ROWS)  # late copies from a worker that lost them
            await store.write(BATCHES[2])  # and the replay's version-0 chain again
            assert await snapshot(store) == first
        finally:
            await store.close()

    asyncio.run(run())


def assert_expected(snap: dict[str, Any]) -> None:
    decisions = snap["decisions"]
    assert snap["count"] == 5  # P1 P2 P3 P4 P6: never the V002-only P5
    assert decisions["P1"]["outcome"] == "accepted" and decisions["P1"]["reasons"] == []
    assert decisions["P1"]["available_after_fen"] == 10_000
    assert decisions["P1"]["decided_at"] == at(0) and decisions["P1"]["decided_at"].utcoffset() == timedelta(0)
    assert decisions["P2"]["outcome"] == "accepted" and decisions["P2"]["decided_at"] == at(30)
    assert [h["outcome"] for h in snap["history"]["P2"]] == ["held", "accepted"]
    assert decisions["P3"]["outcome"] == "accepted" and not decisions["P3"]["provisional"]
    assert decisions["P3"]["available_after_fen"] == 5_000
    assert [h["outcome"] for h in snap["history"]["P3"]] == ["accepted", "rejected", "rejected"]
    assert decisions["P4"]["reasons"][0]["code"] == "B006" and decisions["P4"]["available_after_fen"] == 0
    assert decisions["P5"] is None and snap["history"]["P5"] == []
    assert decisions["P6"]["outcome"] == "held" and snap["history"]["P6"] == []
    assert [(a["alert_id"], a["status"]) for a in snap["alerts"]] == [("F001-a", "acknowledged"),
                                                                      ("F001-b", "resolved")]
    assert snap["alerts"][0]["evidence"] == {"count": 2, "amount": "49999.00"}
    assert snap["alerts"][0]["message"] == {"zh": "拆分支付 2", "en": "split payments 2"}
    assert snap["open"] == []
    assert [h["status"] for h in snap["alert_history"]["F001-a"]] == ["open", "open", "acknowledged"]
    assert snap["deadletters"] == 2
    assert snap["forecast"]["payload"]["points"][0]["p50"] == "6.00"
    assert snap["latest_forecast"]["payload"]["points"][0]["p50"] == "7.00" and snap["no_forecast"] is None
    walked = snap["chain"]
    assert walked.nodes[2].spent == 2_000  # the worker's version 7 beat the replay's version 0
    assert [(p.payment_id, p.status) for p in walked.payments] == [("P1", "settled"), ("P7", "returned")]
    assert walked.model_copy(update={"nodes": walked.nodes[:2], "payments": walked.payments[:1]}) == chain(
        "DF-1", "10.00", "settled").model_copy(update={"nodes": walked.nodes[:2]})
    assert snap["no_chain"] is None and snap["no_path"] is None
    root, payment, path = snap["path"]
    assert root == "DF-1"
    assert (payment.payment_id, payment.status) == ("P1", "settled")
    assert [n.indicator_id for n in path] == ["IND-L", "IND-C", "IND-1"]  # walked up to the top
    assert snap["ledger"]["IND-1"]["reserved_fen"] == 2_000 and snap["ledger"]["IND-1"]["updated_at"] == at(5)
    assert snap["ledger"]["IND-1"]["version"] == 4


def test_memory_store_honours_the_contract() -> None:
    check_contract(MemoryStore())


def _write(store: MemoryStore, *batches: list[WireModel]) -> MemoryStore:
    async def run() -> None:
        for batch in batches:
            await store.write(batch)

    asyncio.run(run())
    return store


def test_one_batch_or_one_model_per_batch_gives_the_same_rows() -> None:
    models = [model for batch in BATCHES for model in batch]
    whole = _write(MemoryStore(), models)
    single = _write(MemoryStore(), *[[model] for model in models])
    assert whole.tables == single.tables


def test_a_redelivered_copy_never_overwrites_and_a_v002_is_never_stored() -> None:
    store = _write(MemoryStore(), [decision("P1", "held", ["F001"], minutes=0)],
                   [decision("P1", "accepted", minutes=9, duplicate=True), decision("P1", "rejected", ["V002"], 9)])
    row = store.tables["decisions"]["P1"]
    assert row["outcome"] == "held" and row["decided_at"] == at(0)
    assert len(store.tables["decision_history"]) == 1


def test_v001_never_replaces_a_real_decision_and_a_real_one_replaces_it() -> None:
    store = _write(MemoryStore(), [decision("P1", minutes=5)], [decision("P1", "rejected", ["V001"], minutes=9)])
    assert store.tables["decisions"]["P1"]["outcome"] == "accepted"
    store = _write(MemoryStore(), [decision("P1", "rejected", ["V001"], minutes=9)], [decision("P1", minutes=5)])
    assert store.tables["decisions"]["P1"]["outcome"] == "accepted"
    assert store.tables["decisions"]["P1"]["provisional"] is False


def test_a_release_at_the_same_instant_as_the_hold_still_wins() -> None:
    store = _write(MemoryStore(), [decision("P1", "held", ["F001"], minutes=0), decision("P1", minutes=0)])
    assert store.tables["decisions"]["P1"]["outcome"] == "accepted"
    store = _write(store, [decision("P1", "held", ["F001"], minutes=0)])  # the hold replayed
    assert store.tables["decisions"]["P1"]["outcome"] == "accepted"


def test_an_older_alert_state_never_overwrites_a_newer_one() -> None:
    store = _write(MemoryStore(), [alert("A", "resolved", minutes=10)], [alert("A", "open", minutes=5)])
    assert store.tables["alerts"]["A"]["status"] == "resolved"
    store = _write(store, [alert("A", "open", minutes=10, count=3)])  # same time: the later write wins
    assert store.tables["alerts"]["A"]["status"] == "open"
    assert len(store.tables["alert_history"]) == 3


def test_dead_letters_are_keyed_by_source_offset_and_digest() -> None:
    store = _write(MemoryStore(), [dead(1), dead(1), dead(2)], [dead(1), dead(1, "other"), dead(1, source="t")])
    assert len(store.tables["deadletters"]) == 4


def test_nul_characters_become_replacement_characters() -> None:
    store = _write(MemoryStore(), [dead(1, "a\x00b")])
    (row,) = store.tables["deadletters"].values()
    assert row["raw"] == "a\ufffdb" and row["raw_bytes"] == 3


def check_ledger_versions(store: Store) -> None:
    """The balance with the higher version wins whatever its wall-clock stamp; one version: the later stamp."""

    async def run() -> None:
        await store.open()
        try:
            await store.write_ledger([("I", 100, 0, 10, 0, at(5), 7)])
            await store.write_ledger([("I", 100, 0, 90, 0, at(9), 6)])  # stale copy sent late: ignored
            row = await store.ledger("I")
            assert row is not None and (row["reserved_fen"], row["version"]) == (10, 7)
            await store.write_ledger([("I", 100, 0, 20, 0, at(1), 8)])  # newer version, older stamp: wins
            await store.write_ledger([("I", 100, 0, 20, 0, at(1), 8)])  # redelivered: no change
            row = await store.ledger("I")
            assert row is not None and (row["reserved_fen"], row["version"]) == (20, 8)
            assert row["updated_at"] == at(1).astimezone(UTC)
            # In one batch too, in any order: one row per indicator, the highest version.
            await store.write_ledger([("J", 5, 0, 3, 0, at(2), 3), ("J", 5, 0, 1, 0, at(3), 2),
                                      ("J", 5, 0, 4, 0, at(1), 4), ("J", 5, 0, 0, 0, at(9), 1)])
            row = await store.ledger("J")
            assert row is not None and (row["reserved_fen"], row["version"]) == (4, 4)
            await store.write_ledger([("K", 5, 0, 1, 0, at(1), 0)])  # a row from before versions
            await store.write_ledger([("K", 5, 0, 2, 0, at(2), 0)])  # same version: the later stamp
            row = await store.ledger("K")
            assert row is not None and row["reserved_fen"] == 2
            with pytest.raises(TypeError):
                await store.write_ledger([("I", 100, 0, 0, 0, at(9), -1)])
            with pytest.raises(TypeError):
                await store.write_ledger([("I", 100.0, 0, 0, 0, at(9), 9)])  # type: ignore[list-item]
            row = await store.ledger("I")
            assert row is not None and (row["reserved_fen"], row["version"]) == (20, 8)
        finally:
            await store.close()

    asyncio.run(run())


def test_the_ledger_keeps_the_highest_version_and_only_integer_fen() -> None:
    check_ledger_versions(MemoryStore())


def test_group_refuses_models_the_store_does_not_keep() -> None:
    from models.outputs import Reason

    with pytest.raises(TypeError):
        group([Reason(code="X", message="m", message_en="m", clause="c")])


def test_tee_writes_every_sink_and_closes_them() -> None:
    memory, store = MemorySink(), MemoryStore()

    async def run() -> None:
        tee = TeeSink(memory, store)
        await tee.open()
        await tee.write(BATCHES[0])
        await tee.close()

    asyncio.run(run())
    assert len(memory.lines["decision"]) == 4 and memory.closed
    assert len(store.tables["decisions"]) == 4


def test_store_errors_name_the_server_but_never_the_password() -> None:
    dsn = "postgresql://treasury:s3cret@db.example:6543/prod"
    assert describe_dsn(dsn) == "db.example:6543/prod"
    assert describe_dsn("host=x password=y") == "the configured database"
    for error in (ConnectionRefusedError(111, "refused"), TimeoutError(), OSError(113, "No route to host")):
        translated = translate(error, "connecting", dsn)
        assert isinstance(translated, StoreError)
        assert "db.example:6543/prod" in str(translated) and "s3cret" not in str(translated)

    class Missing(Exception):
        sqlstate = "42P01"

    assert "treasury migrate" in str(translate(Missing(), "writing", dsn))


# --- the API's queries: alert and held-payment pages, the audit log (same contract on PostgreSQL) ---


def _alert_about(alert_id: str, code: str, severity: str, kind: str, subject: str, opened: int,
                 status: str = "open") -> Alert:
    base = alert(alert_id, status, minutes=opened + 1, opened=opened)
    return base.model_copy(update={"code": code, "severity": severity, "action": "updated",
                                   "subject": base.subject.model_copy(update={"kind": kind, "id": subject})})


QUERY_BATCH: list[WireModel] = [
    chain("DF-1", "0.00", "accepted"), OTHER_CHAIN,  # IND-1, IND-C, IND-L in 150100; IND-9 in 150200
    decision("H1", "held", ["F001"], minutes=1),
    decision("H2", "held", ["F004"], minutes=2).model_copy(update={"indicator_id": "IND-9"}),
    decision("H3", "held", ["F002"], minutes=2),
    decision("H4", "held", ["F002"], minutes=0),
    decision("H4", "accepted", ["F002"], minutes=9),  # released: no longer in the queue
    _alert_about("R001-x", "R001", "critical", "treasury", "150100", opened=5),
    _alert_about("T001-x", "T001", "warning", "indicator", "IND-9", opened=3),
    _alert_about("F001-x", "F001", "warning", "payment", "H1", opened=3),
    _alert_about("T003-x", "T003", "warning", "indicator", "IND-L", opened=1, status="resolved"),
    _alert_about("F004-x", "F004", "warning", "payment", "H404", opened=0),  # a payment the store never saw
]


def check_queries(store: Store) -> None:
    from stream.store.queries import AlertFilter, AuditEntry, HeldFilter

    async def ids(wanted: AlertFilter) -> list[str]:
        return [row["alert_id"] for row in await store.alert_page(wanted)]

    async def held(wanted: HeldFilter) -> list[tuple[str, str | None]]:
        return [(row["payment_id"], row["treasury_code"]) for row in await store.held_page(wanted)]

    async def run() -> None:
        await store.open()
        try:
            await store.write(QUERY_BATCH)
            await store.ping()
            everything = ["R001-x", "F001-x", "T001-x", "T003-x", "F004-x"]  # newest first, ties by id
            assert await ids(AlertFilter(limit=500)) == everything
            page = await store.alert_page(AlertFilter(limit=2))
            assert [r["alert_id"] for r in page] == everything[:2]
            after = (page[-1]["opened_at"], page[-1]["alert_id"])
            assert await ids(AlertFilter(limit=2, after=after)) == everything[2:4]
            assert await ids(AlertFilter(limit=2, after=(at(1), "T003-x"))) == ["F004-x"]
            assert await ids(AlertFilter(treasury="150100")) == ["R001-x", "F001-x", "T003-x"]
            assert await ids(AlertFilter(treasury="150200")) == ["T001-x"]
            assert await ids(AlertFilter(treasury="150300")) == []
            assert await ids(AlertFilter(status="resolved")) == ["T003-x"]
            assert await ids(AlertFilter(code="F001", severity="warning")) == ["F001-x"]
            assert await ids(AlertFilter(severity="critical", status="open", treasury="150100")) == ["R001-x"]
            one = await store.alert("R001-x")
            assert one is not None and (one["action"], one["actor"], one["subject_id"]) == ("updated", "engine",
                                                                                             "150100")
            assert await store.alert("nope") is None

            assert await held(HeldFilter()) == [("H1", "150100"), ("H2", "150200"), ("H3", "150100")]
            assert await held(HeldFilter(treasury="150100")) == [("H1", "150100"), ("H3", "150100")]
            assert await held(HeldFilter(limit=1, after=(at(2), "H2"))) == [("H3", "150100")]
            assert await held(HeldFilter(treasury="150300")) == []

            first = await store.write_audit(AuditEntry(at(100), "li", "operator", "acknowledge", "R001-x", "done",
                                                       200, "acknowledged"))
            second = await store.write_audit(AuditEntry(at(101), "li", "operator", "release", "H9", "refused",
                                                        409, "payment H9 is not held"))
            assert second > first
            log = await store.audit_log()
            assert [(r["target"], r["outcome"], r["status"]) for r in log] == [("H9", "refused", 409),
                                                                              ("R001-x", "done", 200)]
            assert (log[0]["at"], log[0]["role"], log[0]["detail"]) == (at(101), "operator", "payment H9 is not held")
            assert [r["audit_id"] for r in await store.audit_log("R001-x")] == [first]
        finally:
            await store.close()

    asyncio.run(run())


def test_memory_store_answers_the_api_queries() -> None:
    check_queries(MemoryStore())


def test_a_page_is_bounded() -> None:
    from stream.store.queries import AlertFilter

    with pytest.raises(ValueError, match="1 to 500"):
        asyncio.run(MemoryStore().alert_page(AlertFilter(limit=501)))
