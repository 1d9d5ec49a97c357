"""The Prometheus rules and config, checked and unit-tested with promtool (never skipped: CI installs it)."""

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
PROMETHEUS = ROOT / "ops" / "prometheus"


@pytest.fixture(scope="module")
def promtool() -> str:
    found = shutil.which("promtool")
    # Fail, not skip: a missing promtool must not let unchecked rules through (.ci/run installs it).
    assert found, "promtool is not installed (Debian package: prometheus)"
    return found


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, cwd=PROMETHEUS, timeout=120, check=False)


def test_the_rules_are_valid(promtool: str) -> None:
    done = _run(promtool, "check", "rules", "alerts.yml")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS" in done.stdout


def test_the_rules_fire_on_their_conditions_and_only_then(promtool: str) -> None:
    done = _run(promtool, "test", "rules", "alerts_test.yml")
    assert done.returncode == 0, done.stdout + done.stderr


def test_every_alert_rule_has_a_unit_test() -> None:
    rules = yaml.safe_load((PROMETHEUS / "alerts.yml").read_text(encoding="utf-8"))
    alerts = {rule["alert"] for group in rules["groups"] for rule in group["rules"] if "alert" in rule}
    tests = yaml.safe_load((PROMETHEUS / "alerts_test.yml").read_text(encoding="utf-8"))
    tested = {case["alertname"] for test in tests["tests"] for case in test.get("alert_rule_test", [])}
    # faust's producer error counter needs a broker to mean anything; every engine rule is tested.
    assert alerts - tested == {"TreasuryProducerErrors"}


def test_the_scrape_config_is_valid(promtool: str, tmp_path: Path) -> None:
    """The compose config names its rule file by its container path: check a copy pointing here."""
    config = yaml.safe_load((PROMETHEUS / "prometheus.yml").read_text(encoding="utf-8"))
    config["rule_files"] = [str(PROMETHEUS / Path(name).name) for name in config["rule_files"]]
    copy = tmp_path / "prometheus.yml"
    copy.write_text(yaml.safe_dump(config), encoding="utf-8")
    done = _run(promtool, "check", "config", str(copy))
    assert done.returncode == 0, done.stdout + done.stderr
