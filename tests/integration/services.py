"""Real Kafka and PostgreSQL for integration tests, as plain functions for pytest fixtures to call.

`kafka_bootstrap()` and `database_url()` return the address of a running service: the one named by
KAFKA_BOOTSTRAP_SERVERS / DATABASE_URL when set (started by someone else, e.g. CI), else one they start
on this machine with ops/kafka/broker.sh / ops/postgres/pg.sh (loopback only; the first broker start
fetches the Kafka jars with Maven). `stop_started()` stops only what these functions started, never a
service that was given by the environment or already running.

A service that cannot be had raises RuntimeError with the script's output: integration tests fail,
they are never skipped. This module is the only place the tests read those environment variables.
"""

from __future__ import annotations

import os
import socket
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class _Service:
    name: str
    env_var: str
    script: Path
    start_timeout: float  # seconds; the broker's first start includes the Maven download


KAFKA = _Service("kafka", "KAFKA_BOOTSTRAP_SERVERS", ROOT / "ops" / "kafka" / "broker.sh", 900.0)
POSTGRES = _Service("postgres", "DATABASE_URL", ROOT / "ops" / "postgres" / "pg.sh", 180.0)

_STOP_TIMEOUT = 120.0
_STATUS_NOT_RUNNING = 3

_lock = threading.Lock()
_addresses: dict[str, str] = {}  # service name -> address, once known in this process
_started: list[_Service] = []  # services this process started, in start order


def kafka_bootstrap() -> str:
    """The bootstrap address of a Kafka broker, e.g. ``127.0.0.1:19092``."""
    return _ensure(KAFKA)


def database_url() -> str:
    """The URL of the test database, e.g. ``postgresql://postgres@127.0.0.1:15432/treasury``."""
    return _ensure(POSTGRES)


def free_port() -> int:
    """A loopback TCP port nobody listens on right now (for a worker's or a server's web port)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def stop_started() -> None:
    """Stop the services this process started (newest first); leave every other one running."""
    errors: list[str] = []
    with _lock:
        while _started:
            service = _started.pop()
            _addresses.pop(service.name, None)
            try:
                _run(service, "stop", _STOP_TIMEOUT)
            except RuntimeError as exc:
                errors.append(str(exc))
    if errors:
        raise RuntimeError("\n\n".join(errors))


def _ensure(service: _Service) -> str:
    with _lock:
        if service.name in _addresses:
            return _addresses[service.name]
        given = os.environ.get(service.env_var, "").strip()
        if given:
            address = given
        else:
            status = _run(service, "status", 60.0, allowed=(0, _STATUS_NOT_RUNNING))
            if status.returncode == 0:  # already running, started by someone else: use, never stop
                address = _address(service, "status", status)
            else:
                address = _address(service, "start", _run(service, "start", service.start_timeout))
                _started.append(service)
        _addresses[service.name] = address
        return address


def _run(
    service: _Service, command: str, timeout: float, allowed: tuple[int, ...] = (0,),
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    argv = ["bash", str(service.script), command]
    try:
        proc = subprocess.run(
            argv, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL, check=False,
            env={**os.environ, **env} if env else None,
        )
    except subprocess.TimeoutExpired as exc:
        raise RuntimeError(
            f"{' '.join(argv)} did not finish within {timeout:.0f}s\n{_text(exc.stdout)}{_text(exc.stderr)}"
        ) from exc
    except OSError as exc:
        raise RuntimeError(f"cannot run {' '.join(argv)}: {exc}") from exc
    if proc.returncode not in allowed:
        raise RuntimeError(
            f"{' '.join(argv)} failed with exit code {proc.returncode}; its output:\n{proc.stdout}{proc.stderr}"
        )
    return proc


def _address(service: _Service, command: str, proc: subprocess.CompletedProcess[str]) -> str:
    lines = proc.stdout.strip().splitlines()
    if not lines or not lines[-1].strip():
        raise RuntimeError(f"{service.script} {command} printed no address; its output:\n{proc.stdout}{proc.stderr}")
    return lines[-1].strip()


def _text(output: str | bytes | None) -> str:
    if output is None:
        return ""
    return output.decode(errors="replace") if isinstance(output, bytes) else output


def stop_service(service: _Service) -> None:
    """Stop a script-managed service for a fault test (its data stays; `resume_service` brings it back)."""
    _require_managed(service)
    _run(service, "stop", _STOP_TIMEOUT)


def resume_service(service: _Service) -> str:
    """Start a stopped service again on its old data (the broker keeps its topics and offsets).

    A broker reloads every partition it holds before it serves: on a loaded machine with many
    test topics that takes minutes, so the broker gets a longer start-up budget here.
    """
    _require_managed(service)
    command = "resume" if service is KAFKA else "start"
    extra = {"KAFKA_START_TIMEOUT": "600"} if service is KAFKA else {}
    return _address(service, command, _run(service, command, service.start_timeout, env=extra))


def _require_managed(service: _Service) -> None:
    """Only a service this process started may be stopped (never one given or already running)."""
    if service not in _started:
        raise RuntimeError(f"{service.name} was not started by these tests (given by {service.env_var} or "
                           f"already running): a fault test will not stop it; unset {service.env_var} and "
                           f"stop it, or give the tests other ports (see {service.script.name})")
