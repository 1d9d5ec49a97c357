"""Fixtures shared by the integration tests on a real broker and PostgreSQL."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration import services
from tests.integration.kafka_harness import Cluster, fresh_database


@pytest.fixture(scope="module")
def servers() -> Iterator[tuple[str, str]]:
    """A broker and a PostgreSQL server (started here when not given); those started are stopped
    after the module."""
    yield services.kafka_bootstrap(), services.database_url()
    services.stop_started()


@pytest.fixture
def cluster(servers: tuple[str, str], tmp_path: Path) -> Iterator[Cluster]:
    """Workers on their own topics and database; stopped after the test."""
    bootstrap, server_url = servers
    running = Cluster(bootstrap, fresh_database(server_url), tmp_path)
    yield running
    running.stop()
