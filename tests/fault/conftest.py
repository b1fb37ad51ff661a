"""The fault-injection suite (issue 8): every test here is marked ``fault`` (deselect with
``-m "not fault"``). Sizes are small so the suite takes minutes; scripts/chaos.py runs the same
scenarios at full size.

Sizes can be raised for a longer local run with LOYALTY_FAULT_CUSTOMERS, LOYALTY_FAULT_KILLS
and LOYALTY_FAULT_MALFORMED.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from tests.fault.history import History, make_history
from tests.fault.pgserver import PostgresUnavailable, PrivatePostgres
from tests.fault.reference import Reference, reference
from tests.fault.support import CUSTOMERS, DAYS

HERE = Path(__file__).resolve().parent


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "fault: fault-injection suite (kills, outages, poison, races); minutes")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.fault)


@pytest.fixture(scope="session")
def history() -> History:
    return make_history(CUSTOMERS, days=DAYS)


@pytest.fixture(scope="session")
def expected(history: History, tmp_path_factory: pytest.TempPathFactory) -> Reference:
    """The reference ledger of ``history`` (a clean, in-order run of the real service layer)."""
    return reference(history, tmp_path_factory.mktemp("reference"))


@pytest.fixture(scope="session")
def recent_history() -> History:
    """A history that ends about now, for redemptions made now through the API."""
    days = 120
    day = (datetime.now(timezone.utc) - timedelta(days=days)).date()
    start = datetime(day.year, day.month, day.day, tzinfo=timezone(timedelta(hours=3)))
    return make_history(max(CUSTOMERS // 2, 40), days=days, seed=29, start=start)


@pytest.fixture
def private_pg(tmp_path: Path) -> Iterator[PrivatePostgres]:
    """A PostgreSQL server of this test's own, which the test may stop and start."""
    if os.environ.get("LOYALTY_SKIP_POSTGRES") == "1":
        pytest.skip("PostgreSQL tests skipped because LOYALTY_SKIP_POSTGRES=1")
    try:
        server = PrivatePostgres()
        server.start()
    except PostgresUnavailable as exc:
        pytest.fail(f"cannot run a private PostgreSQL server: {exc}", pytrace=False)
    try:
        yield server
    finally:
        server.close()
