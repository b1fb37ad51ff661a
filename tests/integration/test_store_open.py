"""Opening a store beside a busy writer: the schema step must neither deadlock with the writer
nor lose its writes, and it must complete a schema that misses a part."""

from __future__ import annotations

import threading

from engine.service import Incoming, Ledger
from engine.store import LoyaltyStore, open_store
from engine.store.outbox import PENDING, pending
from engine.store.sql import created_name
from engine.store.tables import SIDE_TABLES
from tests.support.facts import order

OPENS = 300


def test_every_side_table_statement_names_what_it_creates():
    names = [created_name(ddl) for ddl in SIDE_TABLES]
    assert len(names) == len(set(names)) == len(SIDE_TABLES)
    assert {"member_due", "member_due_at", "source_facts_member", "event_chain"} <= set(names)


def test_stores_opened_beside_a_busy_writer_open_and_lose_nothing(store: LoyaltyStore):
    # Every order is a new member's, so every save writes the events, the chain, the source
    # rows and a due row: the tables whose index DDL used to deadlock with such a save.
    ledger = Ledger(store)
    written: list[int] = []
    stop = threading.Event()
    errors: list[BaseException] = []

    def writer() -> None:
        try:
            while not stop.is_set():
                i = len(written)
                ledger.handle([Incoming("loyalty.orders", 0, i,
                                        order(f"o-{i}", f"busy-{i}", "30.00"))])
                written.append(i)
        except BaseException as exc:  # noqa: BLE001  (reported below)
            errors.append(exc)

    thread = threading.Thread(target=writer)
    thread.start()
    failures = []
    try:
        for _ in range(OPENS):
            try:
                open_store(store.settings).close()
            except Exception as exc:  # noqa: BLE001  (counted: the assertion names them)
                failures.append(f"{type(exc).__name__}: {exc}")
    finally:
        stop.set()
        thread.join(timeout=60)
    assert not failures, failures[:3]
    assert not errors
    assert len(written) > 0
    members = store.sql.query("SELECT COUNT(DISTINCT member_id) AS n FROM source_facts")
    assert members[0]["n"] == len(written)


def test_a_missing_index_is_created_when_the_store_opens(store: LoyaltyStore):
    with store.sql.transaction() as cur:
        store.sql.execute(cur, "DROP INDEX member_due_at")
    open_store(store.settings).close()
    index = ("SELECT indexname AS name FROM pg_indexes WHERE indexname = 'member_due_at'"
             if store.sql.is_postgres else
             "SELECT name FROM sqlite_master WHERE type = 'index' AND name = 'member_due_at'")
    assert [r["name"] for r in store.sql.query(index)] == ["member_due_at"]


def test_a_session_can_be_given_a_larger_page_cache(store: LoyaltyStore):
    store.sql.page_cache(64)  # what each replay process asks for
    if store.sql.is_postgres:
        return  # the server's own setting rules there: asking must simply not fail
    with store.sql.lock:
        assert store.sql.conn.execute("PRAGMA cache_size").fetchone()[0] == -64 * 1024


def test_unsent_messages_are_read_through_their_own_index(store: LoyaltyStore):
    # After every batch the worker reads the unsent messages; a scan of the whole outbox there
    # costs more with every message ever sent.
    with store.sql.transaction() as cur:
        store.sql.execute(cur, "DELETE FROM outbox")
        for n in range(300):
            store.sql.execute(cur, "INSERT INTO outbox (id, topic, msg_key, payload, sent) "
                              "VALUES (?, 't', 'k', '{}', ?)", (f"m{n:04d}", int(n != 7)))
    if store.sql.is_postgres:
        with store.sql.transaction() as cur:  # 300 rows: a plain scan is cheaper, so ask
            store.sql.execute(cur, "SET LOCAL enable_seqscan = off")  # whether it can be used
            store.sql.execute(cur, "EXPLAIN " + PENDING, (10,))
            plan = " ".join(str(r) for r in cur.fetchall())
    else:
        plan = " ".join(r["detail"] for r in store.sql.query(
            "EXPLAIN QUERY PLAN " + PENDING, (10,)))
    assert "outbox_unsent" in plan
    assert [m.id for m in pending(store)] == ["m0007"]
