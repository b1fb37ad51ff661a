"""Ingest runs of scripts/bench.py: worker processes over loaded topics, timed from partition
assignment until the store shows every fact applied and every projection caught up.

"Done" is read from the store in ONE read transaction, so it is never half a batch:
- every source partition's stored Kafka position has reached the end of what was published;
- the outbox has nothing unsent, and the worker(s) consumed every command sent to
  ``loyalty.commands`` (referral rewards travel there between members);
- every registered projection's position equals the last notification id.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from engine.contract import COMMANDS_TOPIC

SCRIPTS = Path(__file__).resolve().parent
ROOT = SCRIPTS.parent
PG_SERVER = "postgresql://postgres@127.0.0.1:5432"
POLL_SECONDS = 0.1
STALL_SECONDS = 120.0


class BenchError(Exception):
    """A path could not be measured; the message says why."""


def child_env(**extra: str) -> dict[str, str]:
    """The environment of a child process: this tree's engine first on the path."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(ROOT), str(SCRIPTS), env.get("PYTHONPATH", "")) if p)
    env.update(extra)
    return env


@dataclass
class Child:
    """A child process whose stdout JSON lines are collected by a thread."""

    process: subprocess.Popen[bytes]
    lines: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def start(cls, args: list[str], env: dict[str, str], log: Path) -> Child:
        with open(log, "ab") as err:
            process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=err,
                                       stdin=subprocess.DEVNULL, env=env, cwd=ROOT)
        child = cls(process)
        threading.Thread(target=child._read, daemon=True).start()
        return child

    def _read(self) -> None:
        assert self.process.stdout is not None
        for raw in self.process.stdout:
            try:
                self.lines.append(orjson.loads(raw))
            except orjson.JSONDecodeError:
                continue

    def event(self, name: str) -> dict[str, Any] | None:
        return next((line for line in self.lines if line.get("event") == name), None)

    def stop(self, timeout: float = 60.0) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        time.sleep(0.05)  # let the reader thread take the last line


def python() -> str:
    return sys.executable


def run_consumer(kind: str, bootstrap: str, expected: int, log: Path) -> dict[str, Any]:
    """One baseline consumer process (scripts/bench_consumers.py); its JSON report."""
    child = Child.start([python(), str(SCRIPTS / "bench_consumers.py"), kind, bootstrap,
                         str(expected)], child_env(), log)
    child.process.wait()
    time.sleep(0.05)
    if child.process.returncode != 0 or not child.lines:
        raise BenchError(f"the {kind} baseline failed (exit {child.process.returncode}); "
                         f"see {log}")
    return child.lines[-1]


def run_ingest(bootstrap: str, ends: dict[str, int], store_url: str, data_dir: Path,
               log: Path, *, workers: int = 1, timeout: float = 3600.0) -> dict[str, Any]:
    """Start ``workers`` worker processes (one consumer group) on the loaded topics and time
    them until the store is done (module docstring). Returns facts, seconds, rate and what each
    worker reported (its counters and RSS)."""
    group = f"bench-{uuid.uuid4().hex[:8]}"
    env = child_env(LOYALTY_BROKER=bootstrap, LOYALTY_STORE_URL=store_url,
                    LOYALTY_DATA_DIR=str(data_dir), LOYALTY_GROUP_ID=group)
    names = projection_names()
    table = events_table(store_url, data_dir)
    children = [Child.start([python(), str(SCRIPTS / "bench_worker.py")], env, log)
                for _ in range(workers)]
    try:
        finished = _wait_done(children, store_url, table, ends, names, timeout, log)
        starts = [c.event("assigned") for c in children]
        if not any(starts):
            raise BenchError(f"no worker reported its partition assignment; see {log}")
        t0 = min(s["t"] for s in starts if s)
    finally:
        for child in children:
            child.stop()
    facts = sum(ends.values())
    seconds = finished - t0
    return {
        "facts": facts, "seconds": seconds, "rate": facts / seconds, "workers": workers,
        "reports": [{**(c.event("done") or {}), "assigned": c.event("assigned")}
                    for c in children],
    }


def _wait_done(children: list[Child], store_url: str, table: str, ends: dict[str, int],
               names: list[str], timeout: float, log: Path) -> float:
    deadline = time.monotonic() + timeout
    last_change, last_seen = time.monotonic(), None
    with _reader(store_url) as read:
        while True:
            now = time.monotonic()
            for child in children:
                if child.process.poll() is not None:
                    raise BenchError(f"a worker exited (code {child.process.returncode}) "
                                     f"before the end; see {log}")
            state = read(table, ends)
            if state is not None:
                if _done(state, ends, names):
                    return now
                if state != last_seen:
                    last_seen, last_change = state, now
            if now - last_change > STALL_SECONDS or now > deadline:
                raise BenchError(f"no progress for {STALL_SECONDS:.0f}s (store: "
                                 f"{_progress(last_seen, ends)}); see {log}")
            time.sleep(POLL_SECONDS)


def _done(state: dict[str, Any], ends: dict[str, int], names: list[str]) -> bool:
    positions = state["positions"]
    if not _sources_read(positions, ends):
        return False
    consumed = sum(v for k, v in positions.items() if k.startswith(COMMANDS_TOPIC + "#"))
    if state["unsent"] or state["commands"] is None or consumed < state["commands"]:
        return False
    last = state["last_id"]
    return last > 0 and all(state["projections"].get(name) == last for name in names)


def _progress(state: dict[str, Any] | None, ends: dict[str, int]) -> str:
    if state is None:
        return "no tables yet"
    applied = sum(min(state["positions"].get(k, 0), e) for k, e in ends.items())
    return (f"{applied}/{sum(ends.values())} facts, {state['last_id']} events, "
            f"projections at {state['projections']}")


QUERIES = (
    ("positions", "SELECT key, next_offset FROM kafka_positions"),
    ("unsent", "SELECT COUNT(*) FROM outbox WHERE sent = 0"),
    ("projections", "SELECT name, notification_id FROM projection_positions"),
    ("last_id", "SELECT COALESCE(MAX({id_column}), 0) FROM {table}"),
)
# Counted only once every source partition is read to its end: no index serves it, and read
# every 0.1 s while the workers ran, it cost PostgreSQL 0.36 s of a two-worker run's 10.6 s
# (BENCHMARKS.md, 2026-12-07 late night).
COMMANDS_SENT = f"SELECT COUNT(*) FROM outbox WHERE topic = '{COMMANDS_TOPIC}'"


@contextmanager
def _reader(store_url: str) -> Iterator[Any]:
    """A function reading the store's progress in one read transaction (None before the
    worker created the tables)."""
    if store_url.startswith("postgres"):
        import psycopg

        conn = psycopg.connect(store_url, autocommit=True)

        def read_pg(table: str, ends: dict[str, int]) -> dict[str, Any] | None:
            try:
                with conn.transaction(), conn.cursor() as cur:
                    cur.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
                    return _collect(lambda sql: cur.execute(sql).fetchall(), table,
                                    "notification_id", ends)
            except psycopg.errors.UndefinedTable:
                return None
        try:
            yield read_pg
        finally:
            conn.close()
        return
    conn3 = sqlite3.connect(store_url, isolation_level=None, timeout=30.0)

    def read_sqlite(table: str, ends: dict[str, int]) -> dict[str, Any] | None:
        try:
            conn3.execute("BEGIN")
            try:
                return _collect(lambda sql: conn3.execute(sql).fetchall(), table, "rowid",
                                ends)
            finally:
                conn3.execute("COMMIT")
        except sqlite3.OperationalError as exc:
            if "no such table" in str(exc):
                return None
            raise
    try:
        yield read_sqlite
    finally:
        conn3.close()


def _collect(fetch: Any, table: str, id_column: str, ends: dict[str, int]) -> dict[str, Any]:
    state: dict[str, Any] = {}
    for name, sql in QUERIES:
        rows = fetch(sql.format(table=table, id_column=id_column))
        if name in ("positions", "projections"):
            state[name] = {str(k): int(v) for k, v in rows}
        else:
            state[name] = int(rows[0][0])
    read_all = _sources_read(state["positions"], ends)
    state["commands"] = int(fetch(COMMANDS_SENT)[0][0]) if read_all else None
    return state


def _sources_read(positions: dict[str, int], ends: dict[str, int]) -> bool:
    """Has every source partition's stored position reached the end published?"""
    return all(positions.get(key, 0) >= end for key, end in ends.items())


def projection_names() -> list[str]:
    from engine.projections.registry import projections

    return [p.name for p in projections()]


def events_table(store_url: str, data_dir: Path) -> str:
    """The name of eventsourcing's events table (creating the store's tables if need be)."""
    from engine.config import Settings
    from engine.store import open_store

    store = open_store(Settings(store_url=store_url, data_dir=data_dir))
    try:
        return str(store.app.recorder.events_table_name)  # type: ignore[attr-defined]
    finally:
        store.close()


@contextmanager
def fresh_database(prefix: str = "loyalty_bench") -> Iterator[str]:
    """A new PostgreSQL database at 127.0.0.1:5432 (user postgres, trust), dropped afterwards."""
    import psycopg
    from psycopg import sql

    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    try:
        admin = psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        raise BenchError(f"PostgreSQL is not reachable at {PG_SERVER}: {exc}") from exc
    with admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield f"{PG_SERVER}/{name}"
    finally:
        with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
                          .format(sql.Identifier(name)))
