"""The package names are generic: each must resolve to this repository, not a same-named stranger."""

import importlib
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("models", "agents", "alerts", "stream")


@pytest.mark.parametrize("name", PACKAGES)
def test_package_resolves_inside_the_repository(name: str) -> None:
    module = importlib.import_module(name)
    assert module.__file__ is not None
    assert Path(module.__file__).resolve().parent == ROOT / name


def test_pyproject_lists_the_packages_explicitly() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    listed = config["tool"]["setuptools"]["packages"]
    for name in PACKAGES:
        assert name in listed
    on_disk = {
        ".".join(path.parent.relative_to(ROOT).parts)
        for path in ROOT.glob("*/**/__init__.py")
        if path.parts[len(ROOT.parts)] in PACKAGES
    }
    assert on_disk == set(listed)


def test_core_imports_run_one_way() -> None:
    """models imports none of ours; agents/alerts no I/O libraries; nothing imports stream but stream."""
    banned_io = ("faust", "aiokafka", "asyncpg", "aiohttp", "prometheus_client")
    for package, forbidden in (
        ("models", ("agents", "alerts", "stream", *banned_io)),
        ("agents", ("stream", *banned_io)),
        ("alerts", ("agents", "stream", "faust", "aiokafka", "asyncpg")),
    ):
        for path in (ROOT / package).rglob("*.py"):
            for line in path.read_text(encoding="utf-8").splitlines():
                words = line.split()
                if len(words) >= 2 and words[0] in ("import", "from"):
                    top = words[1].split(".")[0]
                    assert top not in forbidden, f"{path.relative_to(ROOT)} imports {top}"


def test_the_embedded_runtime_does_not_import_faust_or_kafka() -> None:
    """Start-up stays fast: replay and demo never load the distributed runtime's libraries."""
    import subprocess
    import sys

    code = (
        "import sys, stream.cli, stream.embedded, stream.demo.generator;"
        "print(sorted(m for m in ('faust', 'aiokafka', 'asyncpg', 'prometheus_client') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert done.stdout.strip() == "[]"


def test_only_the_sink_modules_of_alerts_do_io() -> None:
    """The lifecycle and catalogue stay pure: no network, no event loop, no clock."""
    sinks = {"delivery.py", "webhook.py", "alertmanager.py"}
    for path in (ROOT / "alerts").glob("*.py"):
        if path.name in sinks:
            continue
        text = path.read_text(encoding="utf-8")
        for banned in ("import aiohttp", "import asyncio", "import time", "datetime.now", "from alerts.delivery"):
            assert banned not in text, f"{path.name} has {banned!r}"
