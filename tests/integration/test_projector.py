"""The worker's projector process (engine/streams/projector.py): it folds what is stored when
woken, folds everything at stop, is started again when killed, ignores Ctrl-C (the worker
stops it), and leaves when its worker dies."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from engine.config import Settings
from engine.errors import ConfigurationError
from engine.projections.registry import catch_up_all, names
from engine.projections.runner import position_of
from engine.service import Incoming, Ledger
from engine.store import LoyaltyStore, open_store
from engine.streams.projector import POLL, STOP, Projector
from tests.fault.procs import wait_until
from tests.support.facts import order


def _settings(tmp_path: Path) -> Settings:
    return Settings(store_url=str(tmp_path / "loyalty.sqlite"), data_dir=tmp_path)


def _orders(store: LoyaltyStore, ledger: Ledger, start: int, count: int) -> None:
    ledger.handle([Incoming("loyalty.orders", 0, j, order(f"o-{j}", f"c-{j % 13}", "40.00"))
                   for j in range(start, start + count)])


def _folded(store: LoyaltyStore) -> bool:
    last = store.max_notification_id()
    return all(position_of(store, name) == last for name in names())


def _rows(store: LoyaltyStore) -> list[tuple[object, ...]]:
    return [(r["customer_id"], r["available"], r["pending"], r["lifetime_earned"], r["tier"])
            for r in store.sql.query("SELECT * FROM balances ORDER BY customer_id")]


def _pid(projector: Projector) -> int:
    return int(projector._process.pid)


def test_it_folds_each_stored_batch_when_woken_and_everything_at_stop(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    store = open_store(settings)
    ledger = Ledger(store)
    _orders(store, ledger, 0, 60)
    projector = Projector(settings)
    try:
        projector.start()
        wait_until(lambda: _folded(store), 30, "the first catch-up to fold what was stored",
                   interval=0.05)
        assert store.sql.query("SELECT COUNT(*) AS n FROM balances")[0]["n"] == 13
        _orders(store, ledger, 60, 40)
        projector.wake()
        wait_until(lambda: _folded(store), 30, "a woken projector to fold the new batch",
                   interval=0.05)
        # Stored just before the stop, with no wake-up: the last catch-up takes it.
        _orders(store, ledger, 100, 40)
        before = store.max_notification_id()
        assert projector.stop() == 0
        assert not projector.alive
        assert all(position_of(store, name) == before for name in names())
        # The same rows as the worker's inline catch-up folds from the same facts.
        inline = open_store(_settings(tmp_path / "inline"))
        try:
            _orders(inline, Ledger(inline), 0, 140)
            assert catch_up_all(inline) > 0
            assert _rows(store) == _rows(inline) and len(_rows(store)) == 13
        finally:
            inline.close()
    finally:
        projector.stop(grace=5)
        store.close()


def test_a_killed_projector_is_started_again_and_ctrl_c_does_not_stop_it(
        tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    store = open_store(settings)
    ledger = Ledger(store)
    projector = Projector(settings)
    try:
        projector.start()
        first = _pid(projector)
        assert projector.keep_alive() is False  # alive: nothing to do
        os.kill(first, signal.SIGINT)  # a terminal's Ctrl-C reaches the whole group
        time.sleep(POLL + 0.5)
        assert projector.alive and _pid(projector) == first
        os.kill(first, signal.SIGKILL)
        wait_until(lambda: not projector.alive, 10, "the killed child to end", interval=0.05)
        projector.wake()  # the worker's next batch: the dead child's pipe must not block it
        assert projector.keep_alive() is True
        assert projector.alive and _pid(projector) != first and projector.restarts == 1
        _orders(store, ledger, 0, 30)
        projector.wake()
        wait_until(lambda: _folded(store), 30, "the restarted projector to fold",
                   interval=0.05)
    finally:
        assert projector.stop(grace=30) == 0
        store.close()


def test_projectors_over_one_postgresql_database_take_turns(pg_url: str,
                                                              tmp_path: Path) -> None:
    settings = Settings(store_url=pg_url, data_dir=tmp_path)
    store, other = open_store(settings), open_store(settings)
    projector = Projector(settings)
    try:
        _orders(store, Ledger(store), 0, 40)
        with other.sql.fold_lock(wait=False) as held:
            assert held
            with store.sql.fold_lock(wait=False) as second:
                assert not second  # another session folds
            projector.start()  # finds the other worker's projector folding: leaves it be
            time.sleep(2 * POLL + 0.5)
            assert not _folded(store) and position_of(store, "balances") == 0
        # Released: the child's next look (within POLL) folds everything.
        wait_until(lambda: _folded(store), 30, "the projector to fold once its turn came",
                   interval=0.05)
        # The last catch-up at stop waits its turn instead of skipping it.
        _orders(store, Ledger(store), 40, 20)
        before = store.max_notification_id()
        with other.sql.fold_lock(wait=True):
            projector._send(STOP)
            time.sleep(POLL)
            assert projector.alive and position_of(store, "balances") < before
        assert projector.stop(grace=30) == 0
        assert all(position_of(store, name) == before for name in names())
    finally:
        projector.stop(grace=5)
        other.close()
        store.close()


PARENT = """
import sys, time
from engine.config import Settings
from engine.streams.projector import Projector
projector = Projector(Settings(store_url=sys.argv[1], data_dir=sys.argv[2]))
projector.start()
print(projector._process.pid, flush=True)
time.sleep(600)
"""


def test_the_projector_leaves_when_its_worker_dies_without_a_word(tmp_path: Path) -> None:
    # The process's death closes its end of the pipe: the child reads the end and exits.
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT, str(tmp_path / "loyalty.sqlite"), str(tmp_path)],
        stdout=subprocess.PIPE, text=True, cwd=Path(__file__).resolve().parents[2])
    try:
        assert parent.stdout is not None
        child = int(parent.stdout.readline())
        assert _alive(child)
        parent.kill()
        parent.wait()
        wait_until(lambda: not _alive(child), POLL + 5, "the orphan to leave", interval=0.05)
    finally:
        parent.kill()


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            return stat.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_the_projector_setting() -> None:
    assert Settings.from_env({}).projector == "auto"
    assert Settings.from_env({"LOYALTY_PROJECTOR": "Inline"}).projector_process is False
    assert Settings.from_env({"LOYALTY_PROJECTOR": "process"}).projector_process is True
    assert Settings(projector="auto").projector_process is ((os.cpu_count() or 1) >= 2)
    with pytest.raises(ConfigurationError, match="LOYALTY_PROJECTOR must be one of"):
        Settings.from_env({"LOYALTY_PROJECTOR": "thread"})
