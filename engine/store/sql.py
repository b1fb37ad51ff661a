"""A thin SQL session over SQLite or PostgreSQL for the engine's own tables.

Statements are written once with ``?`` placeholders; the PostgreSQL session rewrites them.
"""

from __future__ import annotations

import re
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any, Protocol

from engine.store.checkpoint import AUTOCHECKPOINT_OFF
from engine.store.tables import SIDE_TABLES


class Cursor(Protocol):
    def execute(self, sql: str, params: Sequence[Any] = ...) -> Any: ...
    def fetchall(self) -> list[Any]: ...
    def fetchone(self) -> Any: ...


SCHEMA_LOCK_KEY = 0x4C4F59414C5459  # "LOYALTY"
FOLD_LOCK_KEY = 0x4C4F59464F4C44  # "LOYFOLD"
SEND_LOCK_KEY = 0x4C4F5953454E44  # "LOYSEND"
CREATED = re.compile(r"\s*CREATE (?:UNIQUE )?(?:TABLE|INDEX) IF NOT EXISTS (\w+)", re.IGNORECASE)


def pg_sql(sql: str) -> str:
    return sql.replace("?", "%s")


def created_name(ddl: str) -> str:
    """The table or index a ``CREATE ... IF NOT EXISTS name`` statement creates."""
    found = CREATED.match(ddl)
    if found is None:
        raise ValueError(f"not a CREATE ... IF NOT EXISTS statement: {ddl[:60]!r}")
    return found.group(1)


class SqlSession:
    """One connection; ``transaction()`` commits on success and rolls back on error.

    Calls are serialised by a re-entrant lock: the worker's batch thread and its health loop
    may both use the session, and one connection must not carry two transactions at once.
    """

    is_postgres = False
    lock: threading.RLock

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        raise NotImplementedError

    @contextmanager
    def transaction(self) -> Iterator[Any]:
        raise NotImplementedError
        yield

    def execute(self, cursor: Any, sql: str, params: Sequence[Any] = ()) -> Any:
        raise NotImplementedError

    def execute_many(self, cursor: Any, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        """One statement (``?`` placeholders) over many rows, through ``cursor``."""
        if rows:
            cursor.executemany(sql, rows)

    @contextmanager
    def reader(self) -> Iterator[Any]:
        """A cursor for reads outside any transaction (each statement sees the latest
        commit), the session held meanwhile; rows as ``transaction()``'s cursor gives them."""
        with self.lock:
            cursor = self.conn.cursor()  # type: ignore[attr-defined]
            try:
                yield cursor
            finally:
                cursor.close()

    @contextmanager
    def schema_lock(self) -> Iterator[None]:
        """Held while creating tables (SQLite serialises DDL by itself)."""
        yield

    @contextmanager
    def fold_lock(self, *, wait: bool) -> Iterator[bool]:
        """Held by a projector process while it folds: yields whether this session holds it
        (with ``wait`` off, False when another session does). SQLite serves one worker, so
        there is nobody to take turns with."""
        yield True

    def take_send_turn(self) -> bool:
        """May this session send the outbox now? (``engine/streams/worker.py``,
        ``flush_outbox``): False while another session's worker sends it. SQLite serves one
        worker: always."""
        return True

    def end_send_turn(self) -> None:
        """Let another session send the outbox."""

    def create_tables(self) -> None:
        with self.transaction() as cur:
            for ddl in SIDE_TABLES:
                self.execute(cur, ddl)

    def autocheckpoint_off(self) -> None:
        """SQLite: this connection's commits stop copying a long write-ahead log back into
        the database themselves (``engine/store/checkpoint.py``)."""

    def page_cache(self, mib: int) -> None:
        """Let this connection cache up to ``mib`` MiB of database pages (SQLite's default is
        2 MiB); the server's own setting rules on PostgreSQL."""

    def close(self) -> None:
        raise NotImplementedError


class SqliteSession(SqlSession):
    def __init__(self, path: Path, timeout: float = 30.0) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.lock = threading.RLock()
        self.conn = sqlite3.connect(
            str(path), isolation_level=None, check_same_thread=False, timeout=timeout
        )
        self.conn.row_factory = sqlite3.Row
        self.conn.execute("PRAGMA journal_mode=WAL")

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        with self.lock:
            return [dict(row) for row in self.conn.execute(sql, params).fetchall()]

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Cursor]:
        with self.lock:
            cur = self.conn.cursor()
            cur.execute("BEGIN IMMEDIATE")
            try:
                yield cur
            except BaseException:
                cur.execute("ROLLBACK")
                raise
            cur.execute("COMMIT")

    def execute(self, cursor: Any, sql: str, params: Sequence[Any] = ()) -> Any:
        return cursor.execute(sql, params)

    def autocheckpoint_off(self) -> None:
        with self.lock:
            self.conn.execute(AUTOCHECKPOINT_OFF)

    def page_cache(self, mib: int) -> None:
        with self.lock:
            self.conn.execute(f"PRAGMA cache_size = -{int(mib) * 1024}")

    def close(self) -> None:
        self.conn.close()


class PostgresSession(SqlSession):
    is_postgres = True

    def __init__(self, url: str) -> None:
        self.url = url
        self.lock = threading.RLock()
        self._conn: Any = None
        self._connect()

    def _connect(self) -> Any:
        import psycopg
        from psycopg.rows import dict_row

        self._conn = psycopg.connect(self.url, autocommit=True, row_factory=dict_row,
                                     connect_timeout=5)
        return self._conn

    @property
    def conn(self) -> Any:
        """The connection, opened again if the server dropped it (e.g. after a restart)."""
        if self._conn is None or self._conn.closed or self._conn.broken:
            return self._connect()
        return self._conn

    @contextmanager
    def schema_lock(self) -> Iterator[None]:
        """A session advisory lock, so concurrent first starts create the schema one by one."""
        self.conn.execute("SELECT pg_advisory_lock(%s)", (SCHEMA_LOCK_KEY,))
        try:
            yield
        finally:
            self.conn.execute("SELECT pg_advisory_unlock(%s)", (SCHEMA_LOCK_KEY,))

    @contextmanager
    def fold_lock(self, *, wait: bool) -> Iterator[bool]:
        """A session advisory lock, so that the projectors of several workers over one
        database take turns: each would otherwise fold the same pages, and all but the first
        to write a page throw their fold away (``engine/projections/runner.py``). Released by
        the server if the session ends while folding."""
        held = self._advisory_lock(FOLD_LOCK_KEY, wait=wait)
        try:
            yield held
        finally:
            if held:
                self._advisory_unlock(FOLD_LOCK_KEY)

    def take_send_turn(self) -> bool:
        """A session advisory lock, taken without waiting: several workers over one database
        would otherwise each read the same unsent messages, send them all and mark them sent
        twice. Released by the server if the session ends while sending."""
        with self.lock:
            return self._advisory_lock(SEND_LOCK_KEY, wait=False)

    def end_send_turn(self) -> None:
        with self.lock:
            self._advisory_unlock(SEND_LOCK_KEY)

    def _advisory_lock(self, key: int, *, wait: bool) -> bool:
        conn = self.conn
        if wait:
            conn.execute("SELECT pg_advisory_lock(%s)", (key,))
            return True
        row = conn.execute("SELECT pg_try_advisory_lock(%s) AS held", (key,)).fetchone()
        return bool(row["held"])

    def _advisory_unlock(self, key: int) -> None:
        import psycopg

        with suppress(psycopg.Error):  # a broken session has let go already
            self.conn.execute("SELECT pg_advisory_unlock(%s)", (key,))

    def create_tables(self) -> None:
        """Only what is missing, one statement per transaction. ``CREATE INDEX IF NOT EXISTS``
        takes a SHARE lock on its table even when the index exists, and held across the whole
        list those locks deadlock with a running worker, which writes the same tables in
        another order (a store opened beside a busy worker failed that way)."""
        existing = {r["relname"] for r in self.query(
            "SELECT relname FROM pg_class WHERE relnamespace = current_schema()::regnamespace")}
        for ddl in SIDE_TABLES:
            if created_name(ddl) not in existing:
                with self.transaction() as cur:
                    self.execute(cur, ddl)

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        with self.lock, self.conn.cursor() as cur:
            cur.execute(pg_sql(sql), params)
            return list(cur.fetchall())

    @contextmanager
    def transaction(self) -> Iterator[Any]:
        with self.lock, self.conn.transaction(), self.conn.cursor() as cur:
            yield cur

    def execute(self, cursor: Any, sql: str, params: Sequence[Any] = ()) -> Any:
        return cursor.execute(pg_sql(sql), params)

    def execute_many(self, cursor: Any, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        """As one ``INSERT ... SELECT FROM unnest(...)`` where the statement allows
        (``engine/store/pg_rows.py``)."""
        from engine.store.pg_rows import execute_rows

        execute_rows(cursor, sql, rows)

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
