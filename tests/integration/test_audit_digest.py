"""The daily digest pins the ledger at the end of a day, on SQLite and PostgreSQL: later
records do not move a past day's digest; a history rewritten with a recomputed chain does."""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

import psycopg
import pytest

from engine.aggregates.member import member_id
from engine.audit.chain import link_hash
from engine.audit.digest import day_digest
from engine.audit.verify import verify
from engine.config import Settings
from engine.service import Incoming, Ledger
from engine.store import LoyaltyStore, open_store
from tests.support.facts import order
from tests.support.history import build_history

PINNED = date(2025, 3, 1)
RECORDED = "2025-03-01T12:00:00.000000+00:00"


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> LoyaltyStore:
    url = (str(tmp_path / "loyalty.sqlite") if request.param == "sqlite"
           else request.getfixturevalue("pg_url"))
    opened = open_store(Settings(store_url=url, data_dir=tmp_path))
    build_history(opened, customers=30, days=120, sweep_after_days=200, redeem_every=2)
    # As if everything so far had been written on the pinned day.
    raw(opened, "UPDATE event_chain SET recorded_at = ?", (RECORDED,))
    yield opened
    opened.close()


def raw(store: LoyaltyStore, statement: str, params: tuple[Any, ...] = ()) -> list[Any]:
    if store.settings.is_postgres:
        with psycopg.connect(store.settings.store_url, autocommit=True) as conn:
            cur = conn.execute(statement.replace("?", "%s"), params)
            return list(cur.fetchall()) if cur.description else []
    import sqlite3

    with sqlite3.connect(store.settings.sqlite_path) as conn:
        return conn.execute(statement, params).fetchall()


def test_a_day_before_any_record_has_the_digest_of_nothing(store):
    empty = day_digest(store, date(2025, 2, 28))
    assert (empty.originators, empty.events) == (0, 0)
    assert empty.digest == hashlib.sha256(b"").hexdigest()


def test_the_pinned_day_covers_every_event_and_does_not_move_when_the_ledger_grows(store):
    pinned = day_digest(store, PINNED)
    assert pinned.events == store.max_notification_id()
    assert pinned.originators == len(raw(store, "SELECT DISTINCT originator_id FROM event_chain"))

    customer = store.sql.query("SELECT MIN(customer_id) AS c FROM source_facts")[0]["c"]
    Ledger(store).handle([Incoming("loyalty.orders", 7, 0, order(
        "late-1", customer, "80.00", at="2025-09-01T10:00:00+03:00"))])
    assert day_digest(store, PINNED) == pinned
    today = day_digest(store, datetime.now(timezone.utc).date())
    assert today.digest != pinned.digest and today.events > pinned.events


def test_a_rewrite_that_recomputes_the_chain_passes_the_chain_but_not_the_pinned_digest(store):
    pinned = day_digest(store, PINNED)
    customer = store.sql.query(
        "SELECT customer_id FROM source_facts GROUP BY customer_id "
        "ORDER BY MAX(to_version) DESC, customer_id LIMIT 1")[0]["customer_id"]
    oid = member_id(customer)
    table = store.app.recorder.events_table_name
    key = oid if store.settings.is_postgres else oid.hex
    events = [(v, t, bytes(s)) for v, t, s in raw(
        store, f"SELECT originator_version, topic, state FROM {table} WHERE originator_id = ? "
        "ORDER BY originator_version", (key,))]
    target = next(e for e in events if e[1].endswith(".PointsEarned"))
    body = json.loads(target[2])
    body["points"] += 500
    forged = json.dumps(body, separators=(",", ":")).encode()
    raw(store, f"UPDATE {table} SET state = ? WHERE originator_id = ? AND originator_version = ?",
        (forged, key, target[0]))
    # The forger recomputes every link from the altered event on.
    prev = raw(store, "SELECT hash FROM event_chain WHERE originator_id = ? AND "
               "originator_version = ?", (oid.hex, target[0] - 1))[0][0]
    for version, topic, state in events:
        if version < target[0]:
            continue
        state = forged if version == target[0] else state
        digest = link_hash(prev, oid.hex, version, topic, state)
        raw(store, "UPDATE event_chain SET hash = ?, prev_hash = ? WHERE originator_id = ? AND "
            "originator_version = ?", (digest, prev, oid.hex, version))
        prev = digest

    report = verify(store, customer)
    assert report.broken_links == []  # the chain alone is fooled
    assert report.mismatches[0].version == target[0]  # the replay is not
    assert day_digest(store, PINNED).digest != pinned.digest  # nor is the published digest
