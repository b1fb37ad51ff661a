"""``audit verify`` against real stores (SQLite file and PostgreSQL): an honest long history
passes with every rule exercised; rows altered, inserted or removed behind the engine's back
are found and located."""

from __future__ import annotations

import json
import os
import shutil
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql

from engine.aggregates.member import member_id
from engine.audit.verify import verify
from engine.config import Settings
from engine.program.model import default_text
from engine.store import LoyaltyStore, open_store
from tests.support.fixtures import PG_SERVER, SKIP_POSTGRES_VAR, _maintenance_connection
from tests.support.history import build_history

RULES = {"spend", "welcome", "newsletter", "review", "share", "referral_friend",
         "referral_referrer", "tier_entry"}
LEDGER_EVENTS = {"PointsActivated", "PointsReversed", "PointsRedeemed", "PointsExpired",
                 "TierChanged", "TierReviewed", "QualifyingPointsLapsed", "ReferralRewarded"}
SIZES = {"sqlite": 300, "postgres": 80}


def second_version() -> str:
    """From July on, reviews pay 60 and perfume earns double: awards name their version."""
    return (default_text()
            .replace("[reviews]\npoints = 50", "[reviews]\npoints = 60")
            .replace("[spend.category_multipliers]\n",
                     '[spend.category_multipliers]\nperfume = "2"\n'))


def build(url: str, data_dir: Path, customers: int) -> None:
    store = open_store(Settings(store_url=url, data_dir=data_dir))
    try:
        build_history(store, customers=customers, days=420, sweep_after_days=820, programs=[
            (second_version(), datetime(2025, 7, 1, tzinfo=UTC))])
    finally:
        store.close()


@pytest.fixture(scope="module")
def sqlite_history(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("audit-sqlite")
    path = folder / "built.sqlite"
    build(str(path), folder, SIZES["sqlite"])
    return path


@pytest.fixture(scope="module")
def postgres_history() -> Iterator[str]:
    if os.environ.get(SKIP_POSTGRES_VAR) == "1":
        pytest.skip(f"PostgreSQL tests skipped because {SKIP_POSTGRES_VAR}=1")
    name = f"loyalty_audit_{uuid.uuid4().hex[:12]}"
    with _maintenance_connection() as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        build(f"{PG_SERVER}/{name}", Path("/tmp"), SIZES["postgres"])
        yield name
    finally:
        _drop(name)


class Backend:
    """A private copy of the built history, and raw SQL on its events table."""

    def __init__(self, kind: str, url: str, tmp: Path) -> None:
        self.kind, self.url = kind, url
        self.store: LoyaltyStore = open_store(Settings(store_url=url, data_dir=tmp))
        self.table = self.store.app.recorder.events_table_name

    def execute(self, statement: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        if self.kind == "postgres":
            with psycopg.connect(self.url, autocommit=True) as conn:
                cur = conn.execute(statement.replace("?", "%s"), params)
                return list(cur.fetchall()) if cur.description else []
        import sqlite3

        with sqlite3.connect(self.url) as conn:
            return conn.execute(statement, params).fetchall()

    def oid(self, customer_id: str) -> Any:
        found = member_id(customer_id)
        return found if self.kind == "postgres" else found.hex

    def events(self, customer_id: str) -> list[tuple[int, str, bytes]]:
        return [(v, t, bytes(s)) for v, t, s in self.execute(
            f"SELECT originator_version, topic, state FROM {self.table} WHERE originator_id = ? "
            "ORDER BY originator_version", (self.oid(customer_id),))]


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    if request.param == "sqlite":
        built: Path = request.getfixturevalue("sqlite_history")
        copy = tmp_path / "copy.sqlite"
        shutil.copy(built, copy)  # the builder closed its store: the WAL is checkpointed
        opened = Backend("sqlite", str(copy), tmp_path)
        yield opened
        opened.store.close()
        return
    request.applymarker(pytest.mark.postgres)
    template = request.getfixturevalue("postgres_history")
    name = f"loyalty_audit_{uuid.uuid4().hex[:12]}"
    with _maintenance_connection() as conn:
        conn.execute(sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
            sql.Identifier(name), sql.Identifier(template)))
    opened = Backend("postgres", f"{PG_SERVER}/{name}", tmp_path)
    try:
        yield opened
    finally:
        opened.store.close()
        _drop(name)


def _drop(name: str) -> None:
    with _maintenance_connection() as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
            sql.Identifier(name)))


def busy_member(backend: Backend) -> str:
    rows = backend.store.sql.query(
        "SELECT customer_id, MAX(to_version) AS last FROM source_facts GROUP BY customer_id "
        "ORDER BY MAX(to_version) DESC, customer_id LIMIT 1")
    return str(rows[0]["customer_id"])


def earned_in_the_middle(backend: Backend, customer_id: str) -> tuple[int, str, bytes]:
    events = backend.events(customer_id)
    earned = [e for e in events if e[1].endswith(".PointsEarned")]
    return earned[len(earned) // 2]


# -- an honest history ---------------------------------------------------------------------------


def test_honest_long_history_with_every_rule_verifies_clean(backend: Backend):
    report = verify(backend.store)
    assert report.ok, report.to_json()["mismatches"][:3]
    assert report.mismatch_count == 0 and report.broken_links == []
    assert report.events_checked == report.events_replayed + 3  # the catalog: opened + 2 versions
    assert report.members >= SIZES[backend.kind] * 0.9
    # The history is worth verifying: every rule, both program versions, every source kind.
    rules: Counter[tuple[str, int]] = Counter()
    kinds: Counter[str] = Counter()
    for _, topic, state in backend.execute(f"SELECT originator_id, topic, state FROM {backend.table}"):
        name = topic.rpartition(".")[2]
        kinds[name] += 1
        if name == "PointsEarned":
            body = json.loads(bytes(state))
            rules[(body["rule"], body["program_version"])] += 1
    assert {rule for rule, _ in rules} == RULES
    assert {version for _, version in rules} == {1, 2}
    assert LEDGER_EVENTS <= set(kinds)
    sources = {r["kind"] for r in backend.store.sql.query("SELECT DISTINCT kind FROM source_facts")}
    assert sources == {"fact", "command", "redemption", "sweep", "settle"}


def test_verify_of_one_customer_checks_only_that_member_and_the_catalog(backend: Backend):
    customer = busy_member(backend)
    report = verify(backend.store, customer)
    assert report.ok
    assert report.originators == 2 and report.members == 1
    assert report.events_checked == len(backend.events(customer)) + 3


# -- tampering -------------------------------------------------------------------------------------


def test_an_altered_award_is_located_by_its_broken_link_and_its_recomputed_value(backend):
    customer = busy_member(backend)
    version, _, state = earned_in_the_middle(backend, customer)
    body = json.loads(state)
    body["points"] += 1000
    forged = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
    backend.execute(f"UPDATE {backend.table} SET state = ? WHERE originator_id = ? AND "
                    "originator_version = ?", (forged, backend.oid(customer), version))

    report = verify(backend.store)
    assert not report.ok
    [broken] = report.broken_links
    assert (broken.originator_id, broken.version, broken.problem) == (
        member_id(customer).hex, version, "altered")
    first = report.mismatches[0]
    assert (first.customer_id, first.version, first.event, first.rule) == (
        customer, version, "PointsEarned", body["rule"])
    assert first.found["points"] == first.expected["points"] + 1000


def test_an_event_inserted_behind_the_engines_back_is_located(backend):
    customer = busy_member(backend)
    events = backend.events(customer)
    last = events[-1][0]
    _, topic, state = earned_in_the_middle(backend, customer)
    body = json.loads(state)
    body["lot_id"] = "gift:forged"
    backend.execute(f"INSERT INTO {backend.table} (originator_id, originator_version, topic, "
                    "state) VALUES (?, ?, ?, ?)",
                    (backend.oid(customer), last + 1, topic, json.dumps(body).encode()))

    report = verify(backend.store)
    [broken] = report.broken_links
    assert (broken.version, broken.problem) == (last + 1, "inserted")
    [mismatch] = report.mismatches
    assert (mismatch.customer_id, mismatch.version, mismatch.found["lot_id"]) == (
        customer, last + 1, "gift:forged")
    assert mismatch.expected is None and "no stored source" in mismatch.reason


def test_a_removed_event_is_located(backend):
    customer = busy_member(backend)
    version, _, _ = earned_in_the_middle(backend, customer)
    backend.execute(f"DELETE FROM {backend.table} WHERE originator_id = ? AND "
                    "originator_version = ?", (backend.oid(customer), version))

    report = verify(backend.store)
    [broken] = report.broken_links
    assert (broken.originator_id, broken.version, broken.problem) == (
        member_id(customer).hex, version, "removed")
    first = report.mismatches[0]
    assert (first.customer_id, first.version, first.event) == (customer, version, "PointsEarned")
    assert first.found is None and first.expected is not None


def test_a_removed_last_event_with_its_link_is_still_caught_by_its_source(backend):
    customer = busy_member(backend)
    last = backend.events(customer)[-1][0]
    backend.execute(f"DELETE FROM {backend.table} WHERE originator_id = ? AND "
                    "originator_version = ?", (backend.oid(customer), last))
    backend.execute("DELETE FROM event_chain WHERE originator_id = ? AND originator_version = ?",
                    (member_id(customer).hex, last))

    report = verify(backend.store)
    assert report.broken_links == []  # the chain alone cannot see a truncated tail
    [mismatch] = report.mismatches
    assert (mismatch.customer_id, mismatch.version, mismatch.found) == (customer, last, None)


def test_a_tampered_source_fact_makes_its_award_disagree(backend):
    customer = busy_member(backend)
    row = backend.store.sql.query(
        "SELECT key, payload, from_version FROM source_facts WHERE customer_id = ? AND "
        "kind = 'fact' AND payload LIKE ? AND from_version IS NOT NULL "
        "ORDER BY from_version LIMIT 1", (customer, '%"order.placed"%'))[0]
    fact = json.loads(row["payload"])
    fact["data"]["total"] = str(int(float(fact["data"]["total"])) + 5000) + ".00"
    backend.execute("UPDATE source_facts SET payload = ? WHERE key = ?",
                    (json.dumps(fact), row["key"]))

    report = verify(backend.store)
    assert report.broken_links == []  # the events are untouched
    spend = [m for m in report.mismatches if m.event == "PointsEarned" and m.rule == "spend"]
    assert spend and spend[0].customer_id == customer and spend[0].source == row["key"]
    assert spend[0].expected["points"] > spend[0].found["points"]


def test_workers_report_exactly_what_one_process_reports(backend):
    customer = busy_member(backend)
    version, _, _ = earned_in_the_middle(backend, customer)
    backend.execute(f"DELETE FROM {backend.table} WHERE originator_id = ? AND "
                    "originator_version = ?", (backend.oid(customer), version))
    alone, forked = verify(backend.store, jobs=1), verify(backend.store, jobs=2, page_members=7)
    timing = ("seconds", "events_per_second")
    assert {k: v for k, v in forked.to_json().items() if k not in timing} == \
        {k: v for k, v in alone.to_json().items() if k not in timing}
    assert forked.mismatch_count > 0 and forked.broken_links[0].version == version


def test_workers_report_a_source_span_moved_past_the_history_as_one_process_does(backend):
    """A tampered span that starts beyond every stored version: the workers once took such
    a row for one written after the snapshot and left it out."""
    customer = busy_member(backend)
    row = backend.store.sql.query(
        "SELECT key FROM source_facts WHERE customer_id = ? AND from_version IS NOT NULL "
        "ORDER BY from_version LIMIT 1", (customer,))[0]
    backend.execute("UPDATE source_facts SET from_version = from_version + 1000 WHERE key = ?",
                    (row["key"],))
    alone, forked = verify(backend.store, jobs=1), verify(backend.store, jobs=2, page_members=7)
    timing = ("seconds", "events_per_second")
    assert {k: v for k, v in forked.to_json().items() if k not in timing} == \
        {k: v for k, v in alone.to_json().items() if k not in timing}
    assert any(m.source == row["key"] for m in forked.mismatches)


def test_a_worker_reading_later_sees_exactly_the_parents_snapshot(backend):
    from engine.audit.reads import Snapshot
    from engine.service import Incoming, Ledger
    from tests.support.facts import order

    customer = busy_member(backend)
    oid = member_id(customer).hex
    with Snapshot(backend.store) as parent:
        before = parent.page([oid])
        bounds = parent.bounds()
        # The worker keeps writing while the audit runs: a new order, and the same order
        # re-sent (a source that produces nothing).
        fresh = order("after-snapshot", customer, "50.00", at="2026-03-01T10:00:00+03:00")
        Ledger(backend.store).handle([Incoming("loyalty.orders", 9, 0, fresh),
                                      Incoming("loyalty.orders", 9, 1, fresh)])
        with Snapshot(backend.store) as later:
            grown = later.page([oid])
        with Snapshot(None, settings=backend.store.settings, table=parent.table,
                      bounds=bounds) as bounded:
            cut = bounded.page([oid])
    assert len(grown.events[oid]) > len(before.events[oid])
    assert len(grown.sources[oid]) == len(before.sources[oid]) + 2
    assert cut.events[oid] == before.events[oid] and cut.links[oid] == before.links[oid]
    assert cut.sources[oid] == before.sources[oid]
