"""docker-compose.yml and its ops/ files, checked without Docker: every name, path, port and variable lines up.

No Docker engine runs in CI, so this is what keeps the compose file honest: services named in
depends_on exist, the engine's services use only variables the code reads (and values it accepts),
their commands parse with the real CLI, every ./ops file mounted exists, Prometheus scrapes exactly
the workers' web ports, and the alert rules and dashboard query only metrics that exist (faust's sensor,
the engine's stream/metrics.py, and the rules' own recording rules).
"""

import json
import re
import shlex
import tomllib
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from pydantic import AliasChoices

from stream.cli import _parser
from stream.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
WORKERS = ("worker-1", "worker-2")
METRIC_PREFIX = "treasury"  # stream/kafka/app.py: setup_prometheus_sensors(name_prefix="treasury")
_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?-([^}]*))?\}")


def _interpolate(value: Any) -> str:
    """Compose's substitution with every variable unset: `${X:-default}` -> default, `$$` -> `$`."""
    text = str(value)
    out = _VARIABLE.sub(lambda m: m[2] or "", text.replace("$$", "\0"))
    return out.replace("\0", "$")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found = compose["services"]
    assert isinstance(found, dict)
    return found


def _env(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {name: _interpolate(value) for name, value in env.items()}


def _engine_services(services: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Services running our image (built from the Dockerfile, entrypoint `treasury`)."""
    return {name: s for name, s in services.items() if s.get("build") in (".", "./")}


def _web_port(service: dict[str, Any]) -> int:
    command = [str(word) for word in service["command"]]
    return int(command[command.index("--web-port") + 1])


def _settings_env_names() -> set[str]:
    prefix = str(Settings.model_config.get("env_prefix", ""))
    names = set()
    for name, field in Settings.model_fields.items():
        alias = field.validation_alias
        if isinstance(alias, AliasChoices):
            names |= {choice.upper() for choice in alias.choices if isinstance(choice, str)}
        elif isinstance(alias, str):
            names.add(alias.upper())
        else:
            names.add(f"{prefix}{name}".upper())
    return names


def _faust_env_names() -> set[str]:
    from faust.types.settings.settings import Settings as FaustSettings

    return {param.env_name for param in FaustSettings.SETTINGS.values() if param.env_name}


def test_the_expected_services_exist(services: dict[str, dict[str, Any]]) -> None:
    assert {"kafka", "postgres", "migrate", *WORKERS, "prometheus", "grafana", "producer"} <= set(services)
    assert services["kafka"]["image"].startswith("apache/kafka:")
    assert _interpolate(services["kafka"]["image"]).split(":")[1].startswith("4.")
    assert services["postgres"]["image"] == "postgres:15"
    assert services["producer"]["profiles"] == ["producer"]
    assert services["migrate"]["restart"] == "no"


def test_depends_on_names_existing_services_with_valid_conditions(services: dict[str, dict[str, Any]]) -> None:
    conditions = {"service_started", "service_healthy", "service_completed_successfully"}
    for name, service in services.items():
        depends = service.get("depends_on") or {}
        entries = {dep: {"condition": "service_started"} for dep in depends} if isinstance(depends, list) else depends
        for dep, spec in entries.items():
            assert dep in services, f"{name} depends on unknown service {dep}"
            assert dep != name
            condition = spec.get("condition", "service_started")
            assert condition in conditions, f"{name} -> {dep}: {condition}"
            if condition == "service_healthy":
                assert "healthcheck" in services[dep], f"{name} waits for {dep} to be healthy, it has no healthcheck"


def test_workers_wait_for_kafka_and_migrations(services: dict[str, dict[str, Any]]) -> None:
    for name in WORKERS:
        depends = services[name]["depends_on"]
        assert depends["kafka"]["condition"] == "service_healthy"
        assert depends["migrate"]["condition"] == "service_completed_successfully"
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert "pg_isready" in " ".join(services["postgres"]["healthcheck"]["test"])
    assert "kafka-broker-api-versions.sh" in " ".join(services["kafka"]["healthcheck"]["test"])


def test_engine_services_use_only_variables_the_code_reads(services: dict[str, dict[str, Any]]) -> None:
    ours, faust = _settings_env_names(), _faust_env_names()
    engine = _engine_services(services)
    assert {"migrate", *WORKERS, "producer"} <= set(engine)
    for name, service in engine.items():
        env = _env(service)
        shell = " ".join(str(word) for word in service.get("command") or [])
        for variable in env:
            known = variable in ours or variable in faust or f"${{{variable}}}" in shell.replace("$$", "$")
            assert known, f"{name}: {variable} is read by neither stream/settings.py nor faust nor its command"
        assert {"KAFKA_BOOTSTRAP_SERVERS", "DATABASE_URL", "TREASURY_KAFKA_PARTITIONS"} <= set(env), name


def test_engine_environment_is_accepted_by_settings(
    services: dict[str, dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    ours = _settings_env_names()
    for name in ("migrate", *WORKERS):
        with monkeypatch.context() as patch:
            for variable in ours | {"TREASURY_DATA_DIR"}:
                patch.delenv(variable, raising=False)
            for variable, value in _env(services[name]).items():
                patch.setenv(variable, value)
            settings = Settings()
        assert settings.kafka_bootstrap_servers == "kafka:9092"
        assert settings.kafka_partitions == 8
        assert settings.database_url is not None


def test_addresses_point_at_the_services(services: dict[str, dict[str, Any]]) -> None:
    postgres = _env(services["postgres"])
    kafka = _env(services["kafka"])
    advertised = {urlsplit(listener).netloc for listener in kafka["KAFKA_ADVERTISED_LISTENERS"].split(",")}
    for name, service in _engine_services(services).items():
        env = _env(service)
        assert set(env["KAFKA_BOOTSTRAP_SERVERS"].split(",")) <= advertised, name
        url = urlsplit(env["DATABASE_URL"])
        assert (url.hostname, url.port or 5432) == ("postgres", 5432), name
        assert url.username == postgres["POSTGRES_USER"] and url.password == postgres["POSTGRES_PASSWORD"]
        assert url.path == "/" + postgres["POSTGRES_DB"]


def test_engine_commands_parse_with_the_cli(services: dict[str, dict[str, Any]]) -> None:
    parser = _parser()
    assert parser.parse_args([str(w) for w in services["migrate"]["command"]]).command == "migrate"
    for name in WORKERS:
        args = parser.parse_args([str(w) for w in services[name]["command"]])
        assert args.command == "worker" and args.web_port is not None
    producer = services["producer"]
    assert producer["entrypoint"][-1] == "-c"
    script = _interpolate(" ".join(producer["command"]))
    for variable, value in _env(producer).items():
        script = script.replace(f"${{{variable}}}", value)
    steps = [shlex.split(step) for step in script.split("&&")]
    assert [step[0] for step in steps] == ["treasury", "treasury"]
    parsed = [parser.parse_args(step[1:]) for step in steps]
    assert [args.command for args in parsed] == ["generate", "produce"]
    assert parsed[0].file == parsed[1].file


def test_workers_serve_health_on_their_web_port_and_publish_distinct_host_ports(
    services: dict[str, dict[str, Any]],
) -> None:
    host_ports = set()
    for name in WORKERS:
        service = services[name]
        port = _web_port(service)
        assert f"127.0.0.1:{port}/" in " ".join(service["healthcheck"]["test"]), name
        # loopback by default; TREASURY_WEB_BIND opens it to the other containers
        assert _env(service)["TREASURY_WEB_BIND"] == "0.0.0.0"
        published = [str(p).rsplit(":", 2) for p in service["ports"]]
        assert any(int(target) == port for *_, target in published), name
        host_ports |= {int(entry[-2]) for entry in published}
    assert len(host_ports) == len(WORKERS)


def _ops_mounts(services: dict[str, dict[str, Any]]) -> list[tuple[str, Path, str]]:
    mounts = []
    for name, service in services.items():
        for volume in service.get("volumes") or []:
            source, target = str(volume).split(":")[:2]
            if source.startswith("./"):
                mounts.append((name, ROOT / source, target))
    return mounts


def test_every_mounted_file_exists_and_named_volumes_are_declared(
    compose: dict[str, Any], services: dict[str, dict[str, Any]]
) -> None:
    mounts = _ops_mounts(services)
    assert {name for name, *_ in mounts} >= {"prometheus", "grafana"}
    for name, source, _ in mounts:
        assert source.resolve().is_relative_to(ROOT / "ops"), f"{name} mounts {source} from outside ops/"
        assert source.exists(), f"{name} mounts {source.relative_to(ROOT)}, which does not exist"
    declared = set(compose.get("volumes") or {})
    for name, service in services.items():
        for volume in service.get("volumes") or []:
            source = str(volume).split(":")[0]
            if not source.startswith((".", "/")):
                assert source in declared, f"{name} uses the undeclared volume {source}"


def _container_to_repo(services: dict[str, dict[str, Any]], service: str, container_path: str) -> Path:
    """The repository file a container path of `service` comes from, through its ./ bind mounts."""
    for name, source, target in _ops_mounts(services):
        if name == service and (container_path == target or container_path.startswith(target.rstrip("/") + "/")):
            return source / Path(container_path).relative_to(target) if container_path != target else source
    raise AssertionError(f"{container_path} is not mounted into {service} from the repository")


def test_prometheus_scrapes_both_workers_and_loads_the_alert_rules(services: dict[str, dict[str, Any]]) -> None:
    prometheus = services["prometheus"]
    config_path = next(a.split("=", 1)[1] for a in prometheus["command"] if a.startswith("--config.file="))
    config = yaml.safe_load(_container_to_repo(services, "prometheus", config_path).read_text(encoding="utf-8"))
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    workers = jobs["treasury-workers"]
    assert workers.get("metrics_path", "/metrics") == "/metrics"
    targets = {t for group in workers["static_configs"] for t in group["targets"]}
    assert targets == {f"{name}:{_web_port(services[name])}" for name in WORKERS}
    for rule_file in config["rule_files"]:
        rules = yaml.safe_load(_container_to_repo(services, "prometheus", rule_file).read_text(encoding="utf-8"))
        assert rules["groups"]


def _rules() -> list[dict[str, Any]]:
    loaded = yaml.safe_load((ROOT / "ops" / "prometheus" / "alerts.yml").read_text(encoding="utf-8"))
    return [rule for group in loaded["groups"] for rule in group["rules"]]


def _alert_rules() -> list[dict[str, Any]]:
    return [rule for rule in _rules() if "alert" in rule]


def test_alert_rules_cover_what_the_ops_team_watches() -> None:
    rules = {rule["alert"]: rule for rule in _alert_rules()}
    assert any("up" in rule["expr"] and "== 0" in rule["expr"] for rule in rules.values())
    assert {"TreasuryWorkerDown", "TreasuryConsumerLag", "TreasuryDecisionLatencyHigh", "TreasuryRejectionRateSpike",
            "TreasuryDeadLettersGrowing", "TreasuryCriticalAlertsOpen"} <= set(rules)
    for name, rule in rules.items():
        assert "Placeholder" not in name and "placeholder" not in rule.get("labels", {}), name
        assert set(rule) <= {"alert", "expr", "for", "labels", "annotations", "keep_firing_for"}, name
        assert rule["labels"]["severity"] in {"critical", "warning", "info"}
        assert rule["annotations"]["summary"]


_SUFFIXES = {
    "counter": ("_total", "_created"), "gauge": ("",), "histogram": ("_bucket", "_sum", "_count", "_created"),
}


def _faust_metric_names() -> set[str]:
    """Every series name faust's Prometheus sensor exports with our prefix (counters: _total, …)."""
    from faust.sensors.prometheus import FaustMetrics
    from prometheus_client import CollectorRegistry

    registry = CollectorRegistry()
    FaustMetrics.create(registry, METRIC_PREFIX)
    return {family.name + suffix for family in registry.collect() for suffix in _SUFFIXES[family.type]}


def _engine_metric_names() -> set[str]:
    """Every series name of the engine's own metrics (stream/metrics.py)."""
    from prometheus_client import CollectorRegistry

    from stream.metrics import EngineMetrics

    registry = CollectorRegistry()
    EngineMetrics(registry)
    return {family.name + suffix for family in registry.collect() for suffix in _SUFFIXES[family.type]}


def _dashboard() -> dict[str, Any]:
    loaded = json.loads((ROOT / "ops" / "grafana" / "dashboards" / "treasury.json").read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def test_rules_and_dashboard_query_only_metrics_that_exist() -> None:
    engine = _engine_metric_names()
    exported = _faust_metric_names() | engine
    assert not (_faust_metric_names() & engine), "the engine's metric names must not collide with faust's"
    recorded = {rule["record"] for rule in _rules() if "record" in rule}
    exprs = [rule["expr"] for rule in _rules()]
    exprs += [target["expr"] for panel in _dashboard()["panels"] for target in panel["targets"]]
    for expr in exprs:
        for metric in re.findall(rf"\b{METRIC_PREFIX}_[a-z0-9_]+", expr):
            assert metric in exported, f"{metric} (in {expr!r}) is exported by neither faust nor stream/metrics.py"
        for metric in re.findall(rf"\b{METRIC_PREFIX}:[a-z0-9_:]+", expr):
            assert metric in recorded, f"{metric} (in {expr!r}) is not a recording rule of alerts.yml"
        assert expr.count("(") == expr.count(")"), expr


def test_the_dashboard_shows_every_engine_metric() -> None:
    exprs = " ".join(target["expr"] for panel in _dashboard()["panels"] for target in panel["targets"])
    recorded = " ".join(rule["expr"] for rule in _rules() if "record" in rule)
    for name in _engine_metric_names():
        family = re.sub(r"_(total|created|bucket|sum|count)$", "", name)
        assert family in exprs or family in recorded, f"{family} is on no dashboard panel"


def test_grafana_provisioning_matches_the_dashboard_and_prometheus(services: dict[str, dict[str, Any]]) -> None:
    provisioning = ROOT / "ops" / "grafana" / "provisioning"
    datasources = yaml.safe_load((provisioning / "datasources" / "prometheus.yml").read_text(encoding="utf-8"))
    [source] = datasources["datasources"]
    assert source["type"] == "prometheus"
    url = urlsplit(source["url"])
    assert url.hostname == "prometheus" and url.port == 9090
    assert any(str(p).endswith(":9090") for p in services["prometheus"]["ports"])
    providers = yaml.safe_load((provisioning / "dashboards" / "treasury.yml").read_text(encoding="utf-8"))
    [provider] = providers["providers"]
    dashboards = _container_to_repo(services, "grafana", provider["options"]["path"])
    assert dashboards == ROOT / "ops" / "grafana" / "dashboards"
    assert _container_to_repo(services, "grafana", "/etc/grafana/provisioning") == provisioning

    dashboard = _dashboard()
    assert dashboard["uid"] and dashboard["title"] and dashboard["panels"]
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    titles = {panel["title"] for panel in dashboard["panels"]}
    assert {"Worker up", "Decisions per second by outcome", "Decision latency", "Consumer lag per topic",
            "Reason codes", "Alerts open by severity", "Treasury balance", "Coverage ratio"} <= titles
    for panel in dashboard["panels"]:
        assert panel["datasource"]["uid"] == source["uid"], panel["title"]
        assert panel["targets"] and all(target["expr"] for target in panel["targets"])
    home = _env(services["grafana"]).get("GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH")
    if home:
        assert _container_to_repo(services, "grafana", home).is_file()


def test_the_image_gets_every_package_it_installs() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert re.search(r"^FROM python:3\.11-slim\b", dockerfile, re.MULTILINE)
    assert 'ENTRYPOINT ["treasury"]' in dockerfile
    assert "pip install ." in dockerfile
    ignore = [line.strip() for line in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()]
    assert "*" in ignore  # an allow-list: everything else stays out of the build context
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    needed = {name.split(".")[0] for name in project["tool"]["setuptools"]["packages"]}
    needed |= {"pyproject.toml", project["project"]["readme"]}
    for name in needed:
        assert f"!{name}" in ignore, f".dockerignore keeps {name} out of the image"
