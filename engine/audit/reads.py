"""A consistent, read-only snapshot of the store for one audit run, read in pages of members.

The snapshot has its own connection and one read transaction (SQLite WAL snapshot or PostgreSQL
REPEATABLE READ), so a worker writing meanwhile never shows the audit half a batch: events,
chain links and source rows are read as of the same commit. Rows come back as tuples, decoded
once; nothing here writes.
"""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import groupby
from operator import itemgetter
from typing import Any, NamedTuple, Self
from uuid import UUID

from eventsourcing.persistence import StoredEvent

from engine.aggregates.program import CATALOG_ID, ProgramCatalog
from engine.audit.chain import hex_id
from engine.config import Settings
from engine.program.model import ProgramBook
from engine.store.app import LoyaltyStore

Event = tuple[int, str, bytes]  # version, topic, state
Link = tuple[int, str, str]  # version, hash, prev_hash

SQLITE_MMAP = 1 << 34  # bytes; SQLite caps it at its build's limit (2 GiB by default)

SOURCE_COLUMNS = ("key, kind, topic, kafka_partition, kafka_offset, event_id, customer_id, "
                  "member_id, from_version, to_version, payload")


class SourceRow(NamedTuple):
    """One stored source (a ``source_facts`` row): what the engine applied to a member, with
    the span of member versions it produced (None, None when it produced nothing).

    A named tuple, not a frozen dataclass: an audit builds one per stored source straight
    from the cursor's row, and a frozen dataclass's ``__init__`` (one ``object.__setattr__``
    per field) cost about four times as much, measured."""

    key: str
    kind: str
    topic: str
    partition: int
    offset: int
    source_id: str
    customer_id: str
    member_id: str
    from_version: int | None
    to_version: int | None
    payload: str

    def to_json(self) -> dict[str, Any]:
        return {"key": self.key, "kind": self.kind, "topic": self.topic,
                "partition": self.partition, "offset": self.offset, "id": self.source_id,
                "from_version": self.from_version, "to_version": self.to_version}


@dataclass
class Page:
    """The events, links and sources of a page of originators (hex ids)."""

    events: dict[str, list[Event]]
    links: dict[str, list[Link]]
    sources: dict[str, list[SourceRow]]


@dataclass(frozen=True)
class Bounds:
    """What one snapshot holds, for snapshots opened later (an audit's forked workers) to
    read exactly that. On PostgreSQL the snapshot itself, exported (``pg_snapshot``). On
    SQLite the last row id of the events, chain and source tables: the engine only ever
    appends to them, so a row with a higher id was written after the snapshot."""

    events: int = 0
    links: int = 0
    sources: int = 0
    pg_snapshot: str | None = None


class Snapshot:
    """Read-only view of one store as of the first read. Use as a context manager."""

    def __init__(self, store: LoyaltyStore | None, *, settings: Settings | None = None,
                 table: str | None = None, bounds: Bounds | None = None) -> None:
        """A snapshot of ``store``; or, without a store (a worker process), of the database
        ``settings`` name, whose events table is ``table``, as of the earlier snapshot whose
        ``bounds()`` are given."""
        self.store = store
        if store is not None:
            settings = store.settings
            table = store.app.recorder.events_table_name  # type: ignore[attr-defined]
        assert settings is not None and table is not None
        self.table = table
        self.is_postgres = settings.is_postgres
        # SQLite: the row ids this snapshot reads up to (None: all it sees)
        self.limits = bounds if bounds is not None and not self.is_postgres else None
        self.conn: Any
        if self.is_postgres:
            import psycopg
            from psycopg import sql

            self.conn = psycopg.connect(settings.store_url, autocommit=False)
            self.conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
            self.conn.read_only = True
            if bounds is not None and bounds.pg_snapshot is not None:
                # The first statement of the transaction: it then sees what the exporting
                # transaction sees, however much was committed since.
                self.conn.execute(sql.SQL("SET TRANSACTION SNAPSHOT {}").format(
                    sql.Literal(bounds.pg_snapshot)))
        else:
            self.conn = sqlite3.connect(str(settings.sqlite_path), isolation_level=None,
                                        check_same_thread=False, timeout=30.0)
            # Pages gather each member's rows from all over the tables: read through a memory
            # map, not a read() call per page (measured: most of the reads' system time).
            self.conn.execute(f"PRAGMA mmap_size = {SQLITE_MMAP}")
            self.conn.execute("BEGIN")  # the snapshot starts at the first read below

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        try:
            self.conn.rollback() if self.is_postgres else self.conn.execute("ROLLBACK")
        finally:
            self.conn.close()

    # -- plumbing ---------------------------------------------------------------------------

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        if self.is_postgres:
            with self.conn.cursor() as cur:
                cur.execute(sql.replace("?", "%s"), params)
                return list(cur.fetchall())
        return self.conn.execute(sql, params).fetchall()  # type: ignore[no-any-return]

    def _in(self, column: str, ids: Sequence[str], uuid_column: bool = False,
            upto: int | None = None) -> tuple[str, list[Any]]:
        """A WHERE clause selecting ``column`` among ``ids`` (hex), and its parameters; with
        ``upto`` (SQLite), only rows whose id is at most that. "+rowid" makes it a filter
        only, never the plan's way into the table."""
        if self.is_postgres:
            cast = "::uuid[]" if uuid_column else "::text[]"
            return f"{column} = ANY(?{cast})", [list(ids)]
        where = f"{column} IN ({', '.join('?' for _ in ids)})"
        if upto is None:
            return where, list(ids)
        return f"{where} AND +rowid <= ?", [*ids, upto]

    # -- reads ------------------------------------------------------------------------------

    def originators(self) -> list[str]:
        """Every originator (hex id) with an event, a link or a source row, sorted."""
        found: set[str] = set()
        for (oid,) in self._rows(f"SELECT DISTINCT originator_id FROM {self.table}"):
            found.add(hex_id(oid))
        for (oid,) in self._rows("SELECT DISTINCT originator_id FROM event_chain"):
            found.add(oid)
        for (oid,) in self._rows("SELECT DISTINCT member_id FROM source_facts"):
            found.add(oid)
        return sorted(found)

    def bounds(self) -> Bounds:
        """What this snapshot holds, for snapshots opened later to read exactly that (see
        ``Bounds``). On PostgreSQL the snapshot stays valid while this one is open."""
        if self.is_postgres:
            return Bounds(pg_snapshot=str(self._rows("SELECT pg_export_snapshot()")[0][0]))
        ids = [int(self._rows(f"SELECT COALESCE(MAX(rowid), 0) FROM {name}")[0][0])
               for name in (self.table, "event_chain", "source_facts")]
        return Bounds(*ids)

    def count_events(self) -> int:
        return int(self._rows(f"SELECT COUNT(*) FROM {self.table}")[0][0])

    def page(self, ids: Sequence[str]) -> Page:
        """Events and links sorted by version; sources in the order they were applied (by
        their first version; those that produced nothing last, by key)."""
        # Rows come sorted by originator: grouped as they come, each row sliced once (the
        # page's rows are most of an audit's Python objects).
        limits = self.limits
        where, params = self._in("originator_id", ids, uuid_column=True,
                                 upto=limits.events if limits else None)
        rows = self._rows(f"SELECT originator_id, originator_version, topic, state FROM "
                          f"{self.table} WHERE {where} ORDER BY originator_id, "
                          "originator_version", params)
        if self.is_postgres:  # a UUID column
            rows = [(oid.hex if isinstance(oid, UUID) else oid, *rest) for oid, *rest in rows]
        events: dict[str, list[Event]] = {
            oid: [row[1:] if type(row[3]) is bytes else (row[1], row[2], bytes(row[3]))
                  for row in group]
            for oid, group in groupby(rows, _first)}
        where, params = self._in("originator_id", ids, upto=limits.links if limits else None)
        links: dict[str, list[Link]] = {
            oid: [row[1:] for row in group] for oid, group in groupby(self._rows(
                "SELECT originator_id, originator_version, hash, prev_hash FROM event_chain "
                f"WHERE {where} ORDER BY originator_id, originator_version", params), _first)}
        sources: dict[str, list[SourceRow]] = defaultdict(list)
        where, params = self._in("member_id", ids, upto=limits.sources if limits else None)
        for row in self._rows(f"SELECT {SOURCE_COLUMNS} FROM source_facts WHERE {where}", params):
            sources[row[7]].append(SourceRow._make(row))
        for applied in sources.values():
            applied.sort(key=_applied_order)
        return Page(events, links, sources)

    def pages(self, ids: Sequence[str], size: int) -> Iterable[tuple[list[str], Page]]:
        for start in range(0, len(ids), size):
            chunk = list(ids[start:start + size])
            yield chunk, self.page(chunk)

    def programs(self) -> ProgramBook:
        """The program catalog as of the snapshot (the shipped default when none was
        published). Needs the store (its mapper)."""
        assert self.store is not None
        rows = self.page([CATALOG_ID.hex]).events.get(CATALOG_ID.hex, [])
        if not rows:
            return ProgramBook()
        mapper = self.store.app.mapper
        catalog: ProgramCatalog | None = None
        for version, topic, state in rows:
            event = mapper.to_domain_event(StoredEvent(CATALOG_ID, version, topic, state))
            catalog = event.mutate(catalog)  # type: ignore[attr-defined]
        return catalog.book() if catalog is not None else ProgramBook()

    def heads_before(self, cutoff: str) -> list[tuple[str, int, str]]:
        """(originator, version, hash) of each originator's last link recorded before
        ``cutoff`` (a ``recorded_at`` text)."""
        return [(oid, int(version), hash_) for oid, version, hash_ in self._rows(
            "SELECT c.originator_id, c.originator_version, c.hash FROM event_chain c JOIN ("
            "SELECT originator_id, MAX(originator_version) AS version FROM event_chain "
            "WHERE recorded_at < ? GROUP BY originator_id) m "
            "ON c.originator_id = m.originator_id AND c.originator_version = m.version",
            (cutoff,))]

    def outbox_command_ids(self) -> set[str]:
        """Ids of every command the live engine produced (sent or not)."""
        return {oid for (oid,) in self._rows("SELECT id FROM outbox WHERE id NOT LIKE ?",
                                             ("dlq:%",))}


_first = itemgetter(0)


def _applied_order(row: SourceRow) -> tuple[int, int, str]:
    if row.from_version is None:
        return (1, 0, row.key)
    return (0, row.from_version, row.key)


