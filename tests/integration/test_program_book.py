"""The program book a store hands out: built once per catalog version, never stale."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from engine.config import Settings
from engine.program.model import default_text
from engine.store import LoyaltyStore, open_store
from engine.store.programs import catalog_version, load_catalog, program_book, publish_program

JULY = datetime(2025, 7, 1, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "postgres":
        return str(request.getfixturevalue("pg_url"))
    return str(tmp_path / "l.sqlite")


def store_at(url: str, path: Path) -> LoyaltyStore:
    return open_store(Settings(store_url=url, data_dir=path, api_key="k"))


def perfume_times(factor: int) -> str:
    return re.sub(r"^# e\.g\. perfume = .*$", f'perfume = "{factor}"', default_text(),
                  count=1, flags=re.MULTILINE)


def test_the_book_is_built_once_while_the_catalog_is_unchanged(store_url, tmp_path):
    store = store_at(store_url, tmp_path)
    publish_program(store, perfume_times(2), effective_from=JULY, published_at=JULY)
    first = program_book(store)
    assert program_book(store) is first
    assert [p.version for p in first.versions] == [1, 2]


def test_a_version_another_process_publishes_is_in_the_next_book(store_url, tmp_path):
    reader, publisher = store_at(store_url, tmp_path), store_at(store_url, tmp_path)
    assert program_book(reader).current.version == 1  # nothing published: the default
    assert catalog_version(reader) == 0
    publish_program(publisher, perfume_times(2), effective_from=JULY, published_at=JULY)
    assert [p.version for p in program_book(reader).versions] == [1, 2]
    publish_program(publisher, perfume_times(3), effective_from=JULY, published_at=JULY)
    book = program_book(reader)
    assert [p.version for p in book.versions] == [1, 2, 3]
    assert catalog_version(reader) == load_catalog(publisher).version  # type: ignore[union-attr]
    assert book.current.category_multipliers["perfume"] == Decimal(3)
