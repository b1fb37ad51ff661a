"""A ledger keeps a bounded number of members in memory; the members it lets go are read
again on their next fact, and a sweep reads back those with something due (the due index,
engine/residency.py), so the history is the same as with every member in memory."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.config import Settings
from engine.projections.balances import BalanceProjection, read_balance
from engine.projections.runner import catch_up
from engine.service import Incoming, Ledger
from engine.store import open_store
from tests.support.facts import order
from tests.support.history import build_history

CUSTOMERS = ("ann", "ben", "cat", "dan", "eve")


def orders(offset: int = 0) -> list[Incoming]:
    return [Incoming("loyalty.orders", 0, offset + i,
                     order(f"o-{c}", c, "200.00", at="2025-03-01T10:00:00+00:00"))
            for i, c in enumerate(CUSTOMERS)]


def later_order(offset: int, customer: str = "zed", at: str = "2025-03-20T10:00:00+00:00"
                ) -> list[Incoming]:
    return [Incoming("loyalty.orders", 0, offset, order(f"o-{customer}", customer, "10.00",
                                                        at=at))]


def test_ledger_keeps_no_more_members_than_its_bound_and_lets_go_the_least_recent(store):
    ledger = Ledger(store, members_in_memory=3)
    for i, customer in enumerate(CUSTOMERS):
        ledger.handle([Incoming("loyalty.orders", 0, i, order(f"o-{customer}", customer,
                                                               "200.00"))])
        assert len(ledger.members) <= 3
    assert "eve" in ledger.members and "ann" not in ledger.members
    assert ledger.residency.let_go >= 2
    # A member let go is read again on its next fact, with everything it had.
    ledger.handle([Incoming("loyalty.orders", 0, 5, order("o-ann-2", "ann", "50.00"))])
    assert ledger.members["ann"].pending == 250


def test_members_let_go_are_read_back_when_their_points_fall_due(store):
    ledger = Ledger(store, members_in_memory=2)
    ledger.handle(orders())
    assert len(ledger.members) <= 2
    # Another member's fact three weeks later moves engine time past the 14-day window: the
    # sweep finds the members not in memory through the due index and activates their points.
    ledger.handle(later_order(len(CUSTOMERS)))
    catch_up(store, BalanceProjection())
    for customer in CUSTOMERS:
        balance = read_balance(store, customer)
        assert (balance["pending"], balance["available"]) == (0, 200), customer
    assert len(ledger.members) <= 2


def test_a_new_ledger_finds_members_due_that_an_earlier_process_left(store):
    Ledger(store).handle(orders())  # every member in memory, then the process ends
    fresh = Ledger(store)  # as after a restart: nothing in memory
    fresh.handle(later_order(len(CUSTOMERS)))
    catch_up(store, BalanceProjection())
    assert {read_balance(store, c)["available"] for c in CUSTOMERS} == {200}


def test_due_index_holds_each_saved_members_next_due(store):
    ledger = Ledger(store, members_in_memory=2)
    ledger.handle(orders())
    rows = {r["customer_id"]: (r["kafka_partition"], r["due_at"]) for r in store.sql.query(
        "SELECT customer_id, kafka_partition, due_at FROM member_due")}
    assert set(rows) == set(CUSTOMERS)
    assert {due for _, due in rows.values()} == {"2025-03-15T10:00:00.000000+00:00"}
    assert {partition for partition, _ in rows.values()} == {0}


def _events(path: Path) -> dict[str, list[tuple[int, str, bytes]]]:
    store = open_store(Settings(store_url=str(path), data_dir=path.parent))
    try:
        table = store.app.recorder.events_table_name  # type: ignore[attr-defined]
        found: dict[str, list[tuple[int, str, bytes]]] = {}
        for row in store.sql.query(f"SELECT originator_id, originator_version, topic, state "
                                   f"FROM {table} ORDER BY originator_id, originator_version"):
            found.setdefault(str(row["originator_id"]), []).append(
                (int(row["originator_version"]), str(row["topic"]), bytes(row["state"])))
        return found
    finally:
        store.close()


@pytest.mark.parametrize("bound", [3, 25])
def test_bounded_ledger_writes_the_same_history_as_one_that_keeps_every_member(tmp_path, bound):
    histories = {}
    for name, limit in (("all", 10_000), ("bounded", bound)):
        path = tmp_path / name / "loyalty.sqlite"
        store = open_store(Settings(store_url=str(path), data_dir=path.parent))
        try:
            histories[name] = build_history(store, customers=80, days=200, batch=150,
                                            members_in_memory=limit)
        finally:
            store.close()
    assert histories["all"].messages == histories["bounded"].messages
    everything, bounded = _events(tmp_path / "all" / "loyalty.sqlite"), _events(
        tmp_path / "bounded" / "loyalty.sqlite")
    assert len(everything) >= 80
    assert sum(len(v) for v in everything.values()) > 1000
    different = [member for member in everything if everything[member] != bounded.get(member)]
    assert not different and set(bounded) == set(everything)
