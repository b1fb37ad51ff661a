"""Fixtures for the real parts, loaded from tests/conftest.py as a pytest plugin.

- ``broker``: one embedded Tansu broker for the whole session (its bootstrap string). Tests
  share it, so they use their own topic names and consumer groups.
- ``fresh_broker``: a broker of the test's own (the EmbeddedBroker), for tests that stop,
  kill or restart it.
- ``pg_url``: a fresh PostgreSQL database per test, dropped afterwards.
- ``data_dir`` / ``settings``: a data directory and the Settings of an embedded deployment.

Tests that use these fixtures get the ``broker`` or ``postgres`` marker automatically, so
``-m "not postgres"`` selects the rest.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from engine.broker import EmbeddedBroker
from engine.config import Settings
from engine.store import LoyaltyStore, open_store

PG_SERVER = "postgresql://postgres@127.0.0.1:5432"
MAINTENANCE_DATABASES = ("postgres", "test")
SKIP_POSTGRES_VAR = "LOYALTY_SKIP_POSTGRES"


@pytest.fixture(scope="session")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with EmbeddedBroker(log_dir=tmp_path_factory.mktemp("broker")) as running:
        yield running.bootstrap


@pytest.fixture
def fresh_broker(tmp_path: Path) -> Iterator[EmbeddedBroker]:
    with EmbeddedBroker(log_dir=tmp_path / "broker-log") as running:
        yield running


@pytest.fixture
def pg_url() -> Iterator[str]:
    if os.environ.get(SKIP_POSTGRES_VAR) == "1":
        pytest.skip(f"PostgreSQL tests skipped because {SKIP_POSTGRES_VAR}=1")
    name = f"loyalty_test_{uuid.uuid4().hex[:12]}"
    with _maintenance_connection() as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield f"{PG_SERVER}/{name}"
    finally:
        with _maintenance_connection() as conn:
            # FORCE ends sessions a test left open (pools, crashed workers) before dropping.
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    path = tmp_path / "data"
    path.mkdir()
    return path


@pytest.fixture
def settings(data_dir: Path, broker: str) -> Settings:
    return Settings.from_env({"LOYALTY_DATA_DIR": str(data_dir), "LOYALTY_BROKER": broker})


def _maintenance_connection() -> psycopg.Connection:
    errors = []
    for database in MAINTENANCE_DATABASES:
        try:
            return psycopg.connect(f"{PG_SERVER}/{database}", autocommit=True, connect_timeout=5)
        except psycopg.OperationalError as exc:
            errors.append(f"{database}: {str(exc).strip()}")
    pytest.fail(
        f"PostgreSQL is not reachable at {PG_SERVER} (user postgres, trust auth), tried "
        f"maintenance databases {', '.join(errors)}. Start it (scripts/test tries "
        f"pg_ctlcluster), or set {SKIP_POSTGRES_VAR}=1 to skip the PostgreSQL tests.",
        pytrace=False,
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        if fixtures & {"broker", "fresh_broker", "settings"}:
            item.add_marker(pytest.mark.broker)
        if "pg_url" in fixtures:
            item.add_marker(pytest.mark.postgres)


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[LoyaltyStore]:
    """An empty store of each kind: a SQLite file, and a fresh PostgreSQL database."""
    url = (str(tmp_path / "loyalty.sqlite") if request.param == "sqlite"
           else request.getfixturevalue("pg_url"))
    opened = open_store(Settings(store_url=url, data_dir=tmp_path))
    yield opened
    opened.close()
