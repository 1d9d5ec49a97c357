"""Workers as real processes on a real broker: start, kill, feed, and read back what they decided."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import orjson
from aiokafka import AIOKafkaConsumer

from models.codec import decode_line
from models.errors import InvalidInput
from models.outputs import Alert, Chain, Decision
from stream.engine import Engine
from stream.settings import Settings
from stream.store.postgres import PostgresStore

Effective = dict[str, tuple[str, tuple[str, ...], str | None]]


def effective(decisions: list[dict[str, Any]]) -> Effective:
    """payment_id -> (outcome, reason codes, available_after) of its first real decision."""
    out: Effective = {}
    for d in decisions:
        codes = tuple(r["code"] for r in d["reasons"])
        if d["duplicate_delivery"] or codes == ("V002",):
            continue
        out.setdefault(d["payment_id"], (d["outcome"], codes, d.get("available_after")))
    return out


@dataclass
class Reference:
    """What the embedded runtime makes of a file: the reference a Kafka run must equal."""

    decisions: Effective
    ledger: dict[str, tuple[int, int, int, int]]
    alerts: dict[str, tuple[str, str]]  # alert_id -> (code, final status)
    chains: dict[str, Chain]


def replay_reference(path: Path) -> Reference:
    engine = Engine(Settings().load_rules())
    decisions: list[dict[str, Any]] = []
    alerts: dict[str, tuple[str, str]] = {}
    with path.open("rb") as handle:
        for number, line in enumerate(handle, start=1):
            for out in engine.handle_line(line.rstrip(b"\n"), path.name, number):
                if isinstance(out, Decision):
                    decisions.append(orjson.loads(out.__pydantic_serializer__.to_json(out, exclude_none=True)))
                elif isinstance(out, Alert):
                    alerts[out.alert_id] = (out.code, out.status)
    ledger = {key: (a.amount, a.allocated, a.reserved, a.spent)
              for key, a in engine.validation.state.ledger.accounts.items()}
    return Reference(effective(decisions), ledger, alerts, {c.root: c for c in engine.chains()})


def replay_in_process(path: Path) -> tuple[Effective, dict[str, tuple[int, int, int, int]]]:
    """What the embedded runtime decides for a file, and its final ledger (the reference)."""
    reference = replay_reference(path)
    return reference.decisions, reference.ledger


def payment_ids(path: Path) -> set[str]:
    ids = set()
    with path.open("rb") as handle:
        for line in handle:
            try:
                event = decode_line(line.rstrip(b"\n"))
            except InvalidInput:
                continue
            if hasattr(event, "payment_id") and hasattr(event, "payee"):
                ids.add(event.payment_id)
    return ids


def fresh_database(server_url: str) -> str:
    """A new empty database on the test server (dropped with the server's data directory)."""
    name = f"k_{uuid.uuid4().hex[:12]}"
    admin = urlunsplit(urlsplit(server_url)._replace(path="/postgres"))

    async def create() -> None:
        conn = await asyncpg.connect(admin, timeout=10)
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()

    asyncio.run(create())
    return urlunsplit(urlsplit(server_url)._replace(path=f"/{name}"))


@dataclass
class Cluster:
    """One isolated deployment: its own topic prefix, consumer group and database."""

    bootstrap: str
    database_url: str
    workdir: Path
    partitions: int = 4
    name: str = field(default_factory=lambda: f"it{uuid.uuid4().hex[:8]}")
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def env(self) -> dict[str, str]:
        return {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": self.bootstrap, "DATABASE_URL": self.database_url,
                "TREASURY_TOPIC_PREFIX": f"{self.name}.", "TREASURY_KAFKA_APP_ID": self.name,
                "TREASURY_KAFKA_PARTITIONS": str(self.partitions)}

    def treasury(self, *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "stream.cli", *args], env=self.env, capture_output=True,
                              text=True, timeout=timeout, check=False)

    def produce(self, path: Path) -> None:
        done = self.treasury("produce", str(path), "--quiet")
        if done.returncode != 0:
            raise RuntimeError(f"produce failed: {done.stderr}")

    def start_worker(self, web_port: int | None = None, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        log = (self.workdir / f"worker-{len(self.workers)}.log").open("wb")
        web = ["--web-port", str(web_port)] if web_port is not None else []
        worker = subprocess.Popen([sys.executable, "-m", "stream.cli", "worker", *web], env={**self.env, **(env or {})},
                                  stdout=log, stderr=subprocess.STDOUT)
        self.workers.append(worker)
        return worker

    def stop(self) -> None:
        for worker in self.workers:
            if worker.poll() is None:
                worker.send_signal(signal.SIGTERM)
        for worker in self.workers:
            try:
                worker.wait(timeout=30)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait(timeout=30)

    def decisions(self) -> list[dict[str, Any]]:
        """Every decision on the output topic so far."""
        async def read() -> list[dict[str, Any]]:
            consumer = AIOKafkaConsumer(f"{self.name}.decision", bootstrap_servers=self.bootstrap,
                                        auto_offset_reset="earliest", enable_auto_commit=False)
            await consumer.start()
            found: list[dict[str, Any]] = []
            try:
                while batch := await consumer.getmany(timeout_ms=1500, max_records=50_000):
                    found.extend(orjson.loads(m.value) for messages in batch.values() for m in messages)
            finally:
                await consumer.stop()
            return found

        return asyncio.run(read())

    def wait_until(self, done: Callable[[], bool], timeout_s: float, what: str) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            for worker in self.workers[-2:]:
                if worker.poll() is not None and worker.returncode not in (0, -signal.SIGKILL):
                    raise RuntimeError(f"a worker exited with {worker.returncode}: see {self.workdir}")
            if done():
                return
            time.sleep(2)
        raise TimeoutError(f"{what} did not happen within {timeout_s:.0f} s (logs in {self.workdir})")

    def chains(self, roots: list[str]) -> dict[str, Chain | None]:
        """Each chain as PostgreSQL puts it together from the rows every worker wrote."""
        async def read() -> dict[str, Chain | None]:
            store = PostgresStore(self.database_url, pool_min=1, pool_max=2)
            await store.open()
            try:
                return {root: await store.chain(root) for root in roots}
            finally:
                await store.close()

        return asyncio.run(read())

    def query(self, sql: str) -> list[Any]:
        async def run() -> list[Any]:
            conn = await asyncpg.connect(self.database_url, timeout=10)
            try:
                return list(await conn.fetch(sql))
            finally:
                await conn.close()

        return asyncio.run(run())
