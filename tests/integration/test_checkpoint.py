"""The worker's WAL checkpoints in a thread of their own (engine/store/checkpoint.py): its
commits stop copying the log back, the thread does it, and nothing committed is lost."""

from __future__ import annotations

import os
import time
from pathlib import Path

from engine.config import Settings
from engine.projections.registry import catch_up_all
from engine.service import Incoming, Ledger
from engine.store import LoyaltyStore, open_store
from tests.support.facts import order

ORDERS = 400


def _sqlite_store(tmp_path: Path) -> LoyaltyStore:
    return open_store(Settings(store_url=str(tmp_path / "loyalty.sqlite"), data_dir=tmp_path))


def _autocheckpoint(store: LoyaltyStore) -> tuple[int, int]:
    """(the side session's setting, the event recorder's connection's setting)."""
    side = store.sql.conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0]  # type: ignore[attr-defined]
    with store.app.recorder.datastore.transaction(commit=False) as cur:  # type: ignore[attr-defined]
        cur.execute("PRAGMA wal_autocheckpoint")
        events = cur.fetchone()[0]
    return side, events


def _feed(store: LoyaltyStore, ledger: Ledger, start: int, count: int) -> None:
    for i in range(start, start + count, 50):
        ledger.handle([Incoming("loyalty.orders", 0, j, order(f"o-{j}", f"c-{j % 97}", "40.00"))
                       for j in range(i, i + 50)])
        catch_up_all(store)


def test_a_worker_store_leaves_the_log_to_the_checkpoint_thread_and_loses_nothing(
        tmp_path: Path) -> None:
    store = _sqlite_store(tmp_path)
    assert _autocheckpoint(store) == (1000, 1000)  # SQLite's default, for every other process
    store.checkpoint_in_background()
    checkpointer = store.checkpointer
    assert checkpointer is not None
    ledger = Ledger(store)
    _feed(store, ledger, 0, ORDERS)
    # Both of the store's writers commit without checkpointing now.
    assert _autocheckpoint(store) == (0, 0)
    deadline = time.monotonic() + 10
    while checkpointer.pages == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert checkpointer.runs > 0 and checkpointer.pages > 0
    events = store.max_notification_id()
    balances = store.sql.query("SELECT COUNT(*) AS n FROM balances")[0]["n"]
    store.close()
    assert not checkpointer._thread.is_alive()
    # The last checkpoint at close copied the whole log back: the main file alone has it all.
    wal = tmp_path / "loyalty.sqlite-wal"
    if wal.exists():
        os.remove(wal)
    again = _sqlite_store(tmp_path)
    try:
        assert again.max_notification_id() == events > ORDERS
        assert again.sql.query("SELECT COUNT(*) AS n FROM balances")[0]["n"] == balances == 97
    finally:
        again.close()


def test_checkpoints_stay_with_the_commits_on_postgres_and_on_stores_not_asked(
        store: LoyaltyStore) -> None:
    if store.sql.is_postgres:
        store.checkpoint_in_background()
        assert store.checkpointer is None
    else:
        assert store.checkpointer is None and _autocheckpoint(store) == (1000, 1000)
