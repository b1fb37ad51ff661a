"""eventsourcing recorders that also write the engine's side tables in the SAME transaction as
the domain events: Kafka positions (exactly-once effect), dead letters, the outbox and the links
of the events' hash chain (``engine.audit.chain``).

``app.events.put(events, side=SideWrites(...))`` reaches ``_insert_events`` with the kwargs;
both the SQLite and the PostgreSQL recorder call it inside their insert transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from eventsourcing.persistence import (
    IntegrityError,
    InterfaceError,
    OperationalError,
    StoredEvent,
)
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.sqlite import SQLiteApplicationRecorder
from eventsourcing.utils import retry
from psycopg.sql import SQL, Identifier

from engine.audit.chain import first_versions, write_links
from engine.store.checkpoint import AUTOCHECKPOINT_OFF
from engine.store.pg_rows import execute_rows, unnest_form
from engine.store.sql import pg_sql
from engine.store.tables import SIDE_TABLES

UPSERT_POSITION = (  # returns the key of a position it moved, nothing for one it did not
    "INSERT INTO kafka_positions (key, next_offset, last_digest) VALUES (?, ?, ?) "
    "ON CONFLICT (key) DO UPDATE SET next_offset = excluded.next_offset, "
    "last_digest = excluded.last_digest "
    "WHERE kafka_positions.next_offset < excluded.next_offset "
    "RETURNING key"
)
INSERT_DEAD_LETTER = (
    "INSERT INTO dead_letters "
    "(key, topic, kafka_partition, kafka_offset, reason, payload, event_id, customer_id) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (key) DO NOTHING"
)
INSERT_SOURCE_FACT = (
    "INSERT INTO source_facts (key, kind, topic, kafka_partition, kafka_offset, event_id, "
    "customer_id, member_id, from_version, to_version, payload) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (key) DO NOTHING"
)
UPSERT_MARK = (
    "INSERT INTO sweep_marks (kafka_partition, swept_to) VALUES (?, ?) "
    "ON CONFLICT (kafka_partition) DO UPDATE SET swept_to = excluded.swept_to "
    "WHERE sweep_marks.swept_to < excluded.swept_to"
)
INSERT_CLAIM = (
    "INSERT INTO referral_claims (command_id, customer_id, kafka_partition) VALUES (?, ?, ?) "
    "ON CONFLICT (command_id) DO NOTHING"
)
DELETE_CLAIM = "DELETE FROM referral_claims WHERE command_id = ?"
UPSERT_DUE = (
    "INSERT INTO member_due (customer_id, kafka_partition, due_at) VALUES (?, ?, ?) "
    "ON CONFLICT (customer_id) DO UPDATE SET kafka_partition = excluded.kafka_partition, "
    "due_at = excluded.due_at"
)
IDS_PER_READ = 500  # originators per read of their events (SQLite: bound parameters)
INSERT_OUTBOX = (
    "INSERT INTO outbox (id, topic, msg_key, payload, sent) VALUES (?, ?, ?, ?, 0) "
    "ON CONFLICT (id) DO NOTHING"
)


@dataclass
class SideWrites:
    """What travels with one batch of domain events."""

    positions: dict[str, int] = field(default_factory=dict)
    digests: dict[str, str] = field(default_factory=dict)  # of the record at position - 1
    dead_letters: list[tuple[Any, ...]] = field(default_factory=list)
    outbox: list[tuple[str, str, str, str]] = field(default_factory=list)
    source_facts: list[tuple[Any, ...]] = field(default_factory=list)
    marks: dict[int, str] = field(default_factory=dict)  # partition -> swept to (UTC text)
    claims: list[tuple[str, str, int]] = field(default_factory=list)  # received, undecided
    decided: list[str] = field(default_factory=list)  # claims decided (command ids)
    # (customer id, partition, next due) of the members saved or let go (engine/residency.py)
    dues: list[tuple[str, int, str | None]] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.positions or self.dead_letters or self.outbox or self.source_facts
                    or self.marks or self.claims or self.decided or self.dues)


class PositionConflict(IntegrityError):
    """A Kafka position did not move forward: the batch was already applied elsewhere."""


_POSITIONS_FORM = unnest_form(UPSERT_POSITION)
assert _POSITIONS_FORM is not None, "UPSERT_POSITION has no one-statement form"
POSITIONS_AS_ONE = _POSITIONS_FORM[0]  # PostgreSQL: a batch's positions in one statement


def write_side(execute: Any, fetchone: Any, side: SideWrites | None,
               insert_many: Any, fetchall: Any = None) -> None:
    """``execute``/``fetchone`` run the position upserts, whose rows are read (with
    ``fetchall`` given, PostgreSQL's: all of them in one statement); ``insert_many(sql,
    rows)`` the plain inserts, a statement per table."""
    if not side:
        return
    positions = [(key, offset, side.digests.get(key)) for key, offset in side.positions.items()]
    if fetchall is not None and positions:  # one statement, one round trip
        execute(POSITIONS_AS_ONE, [list(column) for column in zip(*positions)])
        moved = {r["key"] if isinstance(r, dict) else r[0] for r in fetchall()}
        for key, offset, _ in positions:
            if key not in moved:
                raise PositionConflict(f"position {key} is already at or past {offset}")
        positions = []
    for key, next_offset, digest in positions:
        execute(UPSERT_POSITION, (key, next_offset, digest))
        if fetchone() is None:
            raise PositionConflict(f"position {key} is already at or past {next_offset}")
    for sql, rows in ((INSERT_DEAD_LETTER, side.dead_letters), (INSERT_OUTBOX, side.outbox),
                      (INSERT_SOURCE_FACT, side.source_facts),
                      (UPSERT_MARK, sorted(side.marks.items())),
                      (INSERT_CLAIM, side.claims),
                      (DELETE_CLAIM, [(cid,) for cid in side.decided]),
                      (UPSERT_DUE, side.dues)):
        if rows:
            insert_many(sql, rows)


class LoyaltySQLiteRecorder(SQLiteApplicationRecorder):
    def _create_table(self, c: Any) -> None:
        super()._create_table(c)
        for ddl in SIDE_TABLES:
            c.execute(ddl)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.heads = ChainHeads()
        # False once a Checkpointer copies the log back (engine/store/checkpoint.py). The
        # library's pool opens connections of its own, so each transaction sets it on its
        # connection: one statement per batch.
        self.autocheckpoint = True

    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        staged: dict[str, tuple[int, str]] = {}
        notification_ids = super().insert_events(stored_events, staged=staged, **kwargs)
        self.heads.committed(staged)  # only once the transaction is in
        return notification_ids

    def select_events_of(self, originator_ids: Sequence[UUID]) -> list[StoredEvent]:
        """Every stored event of these originators, by originator and version, a read per
        ``IDS_PER_READ`` of them (the library reads one originator at a time)."""
        found: list[StoredEvent] = []
        convert = self.convert_originator_id
        with self.datastore.transaction(commit=False) as c:
            for start in range(0, len(originator_ids), IDS_PER_READ):
                chunk = [oid.hex for oid in originator_ids[start:start + IDS_PER_READ]]
                marks = ", ".join("?" for _ in chunk)
                c.execute(f"SELECT originator_id, originator_version, topic, state "
                          f"FROM {self.events_table_name} WHERE originator_id IN ({marks}) "
                          "ORDER BY originator_id, originator_version", chunk)
                found.extend(StoredEvent(convert(r["originator_id"]), r["originator_version"],
                                         r["topic"], r["state"]) for r in c.fetchall())
        return found

    def _insert_events(
        self, c: Any, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        if not self.autocheckpoint:
            c.execute(AUTOCHECKPOINT_OFF)
        write_side(c.execute, c.fetchone, kwargs.get("side"), c.executemany)
        notification_ids = _insert_rows(c, self.insert_events_statement,
                                        self.select_max_notification_id_statement,
                                        stored_events)
        write_links(c.execute, c.fetchall, c.executemany, stored_events,
                    known=self.heads.get, staged=kwargs.get("staged"))
        return notification_ids


class LoyaltyPostgresRecorder(PostgresApplicationRecorder):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The library's statement takes one array of its composite type, which psycopg dumps
        # in Python, field by field, as quoted text; one binary array per column is the same
        # insert at a fraction of the client's cost (engine/store/pg_rows.py).
        self.insert_events_statement = SQL(
            "INSERT INTO {schema}.{table} (originator_id, originator_version, topic, state) "
            "SELECT * FROM unnest(%b::{id_type}[], %b::bigint[], %b::text[], %b::bytea[]) "
            "RETURNING notification_id"
        ).format(schema=Identifier(self.datastore.schema),
                 table=Identifier(self.events_table_name),
                 id_type=Identifier(self.datastore.originator_id_type))
        self.select_events_of_statement = SQL(
            "SELECT originator_id, originator_version, topic, state FROM {schema}.{table} "
            "WHERE originator_id = ANY(%s) ORDER BY originator_id, originator_version"
        ).format(schema=Identifier(self.datastore.schema),
                 table=Identifier(self.events_table_name))

    def _create_table(self, curs: Any) -> None:
        super()._create_table(curs)
        for ddl in SIDE_TABLES:
            curs.execute(ddl, prepare=False)

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def select_events_of(self, originator_ids: Sequence[UUID]) -> list[StoredEvent]:
        """Every stored event of these originators, by originator and version, in one read
        through the events' unique index (the library reads one originator at a time)."""
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(self.select_events_of_statement, [list(originator_ids)])
            return [StoredEvent(r["originator_id"], r["originator_version"], r["topic"],
                                bytes(r["state"])) for r in curs.fetchall()]

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        """As the library's recorder does, but outside psycopg's pipeline mode. In that mode
        psycopg (3.3.9) stops sending once its queue of statements is empty, even when the
        socket took only part of the output; it then waits for results that the server, still
        reading the rest of the statement, never sends. The output outgrows the socket when
        the server is not reading: its session waits for the events-table lock another
        worker holds, and a batch's events are megabytes. Two workers over one database
        stopped so, each for good (BENCHMARKS.md, 2026-12-08). A batch is a dozen statements:
        their round trips cost nothing beside its rows."""
        if self.datastore.enable_db_functions:
            return super().insert_events(stored_events, **kwargs)
        with self.datastore.get_connection() as conn, conn.transaction():
            with conn.cursor() as curs:
                self._insert_events(curs, stored_events, **kwargs)
            if not stored_events:
                return None
            with conn.cursor() as curs:
                self._insert_stored_events(curs, stored_events, **kwargs)
                return self._fetch_ids_after_insert_events(curs, stored_events, **kwargs)

    def _insert_events(self, curs: Any, stored_events: Sequence[StoredEvent], **kwargs: Any) -> None:
        # Statements whose rows are read get a cursor each (``_Reader``). That was needed
        # inside psycopg's pipeline, where a cursor that queued several statements could hand
        # back another's rows; ``insert_events`` no longer pipelines, so it is only a habit.
        # Take the library's events-table lock before any side write, so concurrent writers
        # (a worker and the API) queue at one lock instead of deadlocking on side-table rows.
        self._lock_table(curs)
        reader = _Reader(curs.connection)
        latest = latest_links(reader.execute, reader.fetchall, stored_events)
        write_side(reader.execute, reader.fetchone, kwargs.get("side"),
                   lambda sql, rows: execute_rows(curs, sql, rows), reader.fetchall)
        write_links(reader.execute, reader.fetchall,
                    lambda sql, rows: execute_rows(curs, sql, rows), stored_events,
                    known=lambda oid, version: _link_at(latest, oid, version))
        super()._insert_events(curs, stored_events, **kwargs)

    def _insert_stored_events(self, curs: Any, stored_events: Sequence[StoredEvent],
                              **kwargs: Any) -> None:
        # As the library's application recorder does, with the statement of __init__.
        self._lock_table(curs)
        self._notify_channel(curs)
        curs.execute(self.insert_events_statement, (
            [e.originator_id for e in stored_events],
            [e.originator_version for e in stored_events],
            [e.topic for e in stored_events],
            [e.state for e in stored_events]))


LATEST_LINKS = (
    "SELECT w.originator_id, l.originator_version, l.hash "
    "FROM unnest(%b::text[]) AS w(originator_id) CROSS JOIN LATERAL ("
    "SELECT c.originator_version, c.hash FROM event_chain c "
    "WHERE c.originator_id = w.originator_id "
    "ORDER BY c.originator_version DESC LIMIT 1) AS l"
)


def latest_links(execute: Any, fetchall: Any,
                 stored_events: Sequence[StoredEvent]) -> dict[str, tuple[int, str]]:
    """Each originator's last stored link ``(version, hash)``, for the originators of this
    batch, in one statement. PostgreSQL only, under the events-table lock.

    Raises IntegrityError when another writer has stored an event at or past a version this
    batch writes, before any of the batch's writes (the library's pipelined recorder learned
    of such a conflict from the unique index, and the pipeline's own exit then sometimes
    raised ``PipelineAborted``, an OperationalError retried as an outage). The hash chain has one link per stored
    event, keyed by originator and version.

    One index probe per originator (the last entry of the primary key), whatever the table's
    statistics say: an ``IN`` list over ``originator_id`` alone was planned as a sequential
    scan of the whole chain while the table had not been analysed yet, as after a first
    start with a backlog, and each batch read every link stored before it."""
    first = first_versions(stored_events)
    if not first:
        return {}
    execute(LATEST_LINKS, [sorted(first)])
    latest: dict[str, tuple[int, str]] = {}
    for row in fetchall():
        oid, version, hash_ = tuple(row.values()) if isinstance(row, dict) else tuple(row)
        if version >= first[oid]:
            raise IntegrityError(f"originator {oid} is already at version {version}; "
                                 f"this write starts at {first[oid]}")
        latest[oid] = (version, hash_)
    return latest


def _insert_rows(c: Any, insert: str, select_max: str,
                 stored_events: Sequence[StoredEvent]) -> list[int]:
    """The events in one ``executemany``, in order; their notification ids are the rowids
    SQLite gives them: each insert takes one more than the table's largest rowid, and the
    transaction holds the write lock, so they follow the largest one before the batch. (The
    library's SQLite recorder runs one INSERT per event to read each ``lastrowid``.)"""
    if not stored_events:
        return []
    c.execute(select_max)
    last = c.fetchone()[0] or 0
    c.executemany(insert, [
        (s.originator_id.hex if isinstance(s.originator_id, UUID) else s.originator_id,
         s.originator_version, s.topic, s.state) for s in stored_events])
    return list(range(last + 1, last + 1 + len(stored_events)))


def _link_at(links: dict[str, tuple[int, str]], oid: str, version: int) -> str | None:
    """The hash of ``oid``'s link at ``version``, when that is the one ``links`` holds."""
    found = links.get(oid)
    return found[1] if found is not None and found[0] == version else None


class ChainHeads:
    """The last committed link of each originator this process wrote, so that the next batch's
    links need not read it back. A link, once committed, never changes, and an entry is only
    used for the version it was written at (another writer's later event makes it a miss,
    read from the table as before). Bounded: past ``limit`` originators it starts afresh."""

    def __init__(self, limit: int = 250_000) -> None:
        self.limit = limit
        self.links: dict[str, tuple[int, str]] = {}

    def get(self, originator_id: str, version: int) -> str | None:
        return _link_at(self.links, originator_id, version)

    def committed(self, heads: dict[str, tuple[int, str]]) -> None:
        if len(self.links) + len(heads) > self.limit:
            self.links.clear()
        self.links.update(heads)


class _Reader:
    """Runs one statement on a fresh cursor and keeps its rows."""

    def __init__(self, connection: Any) -> None:
        self.connection = connection
        self.rows: list[Any] = []

    def execute(self, sql: str, params: Sequence[Any]) -> None:
        with self.connection.cursor() as cursor:
            cursor.execute(pg_sql(sql), params)
            self.rows = cursor.fetchall()  # every statement run here returns rows

    def fetchone(self) -> Any:
        return self.rows[0] if self.rows else None

    def fetchall(self) -> list[Any]:
        return self.rows
