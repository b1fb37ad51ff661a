"""The composition of the event store: an eventsourcing Application over SQLite or PostgreSQL,
with the engine's recorders, plus a SQL session on the same database for the side tables and
read models."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any
from urllib.parse import unquote, urlparse
from uuid import UUID

from eventsourcing.application import Application, project_aggregate
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import Notification
from eventsourcing.utils import get_topic

from engine.aggregates.member import Member, member_id
from engine.config import Settings
from engine.errors import StoreUnavailable
from engine.program.model import ProgramBook
from engine.store.checkpoint import Checkpointer
from engine.store.recorders import (
    LoyaltyPostgresRecorder,
    LoyaltySQLiteRecorder,
    SideWrites,
)
from engine.store.transcoder import FastJSONTranscoder
from engine.store.sql import PostgresSession, SqliteSession, SqlSession


class LoyaltyApplication(Application):  # type: ignore[type-arg]
    name = "loyalty"

    def construct_transcoder(self) -> FastJSONTranscoder:
        transcoder = FastJSONTranscoder()
        self.register_transcodings(transcoder)
        return transcoder


def store_env(settings: Settings) -> dict[str, str]:
    """eventsourcing's configuration for the store the settings name."""
    if settings.is_postgres:
        url = urlparse(settings.store_url)
        return {
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "APPLICATION_RECORDER_TOPIC": get_topic(LoyaltyPostgresRecorder),
            "POSTGRES_DBNAME": (url.path or "/").lstrip("/") or "postgres",
            "POSTGRES_HOST": url.hostname or "127.0.0.1",
            "POSTGRES_PORT": str(url.port or 5432),
            "POSTGRES_USER": unquote(url.username or "postgres"),
            "POSTGRES_PASSWORD": unquote(url.password or ""),
            "POSTGRES_POOL_SIZE": "4",
            # after a database restart, replace dead pooled connections instead of failing
            "POSTGRES_PRE_PING": "y",
            "POSTGRES_CONNECT_TIMEOUT": "5",
            "CREATE_TABLE": "y",
        }
    path = settings.sqlite_path
    path.parent.mkdir(parents=True, exist_ok=True)
    return {
        "PERSISTENCE_MODULE": "eventsourcing.sqlite",
        "APPLICATION_RECORDER_TOPIC": get_topic(LoyaltySQLiteRecorder),
        "SQLITE_DBNAME": str(path),
        "SQLITE_LOCK_TIMEOUT": "30",
        "CREATE_TABLE": "y",
    }


class LoyaltyStore:
    """Members and program versions in the event store; side tables through ``sql``."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        # The program book at a catalog version (see ``programs.program_book``).
        self.book_at: tuple[int, ProgramBook] | None = None
        try:
            self.sql: SqlSession = (
                PostgresSession(settings.store_url)
                if settings.is_postgres
                else SqliteSession(settings.sqlite_path)
            )
            with self.sql.schema_lock():
                # Processes starting together (worker, API) must not race on CREATE TABLE.
                self.app = LoyaltyApplication(env=store_env(settings))
                self.sql.create_tables()
        except Exception as exc:  # the libraries raise many kinds; say which store failed
            raise StoreUnavailable(f"cannot open the store {describe(settings)}: {exc}") from exc
        self.checkpointer: Checkpointer | None = None

    def checkpoint_in_background(self) -> None:
        """SQLite: copy the write-ahead log back into the database in a thread of its own,
        not inside this store's commits (``engine/store/checkpoint.py``; the worker's choice).
        Nothing to do on PostgreSQL."""
        if self.sql.is_postgres or self.checkpointer is not None:
            return
        self.sql.autocheckpoint_off()
        self.app.recorder.autocheckpoint = False  # type: ignore[attr-defined]
        self.checkpointer = Checkpointer(self.settings.sqlite_path)

    # -- write side --------------------------------------------------------------------

    def get_member(self, customer_id: str) -> Member | None:
        from eventsourcing.application import AggregateNotFoundError

        try:
            return self.app.repository.get(member_id(customer_id))  # type: ignore[no-any-return]
        except AggregateNotFoundError:
            return None

    def get_members(self, customer_ids: Iterable[str]) -> dict[str, Member]:
        """The stored members among these customers, as ``get_member`` reads them (each
        member's events, in order, through the library's projector) but in one read for all:
        ``get_member`` costs a round trip each, and a batch meeting members new to the worker
        (its first batches, a takeover) read them one by one (BENCHMARKS.md, 2026-12-08)."""
        ids = {member_id(c): c for c in customer_ids}
        if not ids:
            return {}
        to_domain_event = self.app.mapper.to_domain_event
        events: dict[Any, list[Any]] = {}
        for stored in self.app.recorder.select_events_of(list(ids)):  # type: ignore[attr-defined]
            events.setdefault(stored.originator_id, []).append(to_domain_event(stored))
        found: dict[str, Member] = {}
        for oid, member_events in events.items():
            member = project_aggregate(None, member_events)
            if member is not None:
                found[ids[oid]] = member
        return found

    def save(self, aggregates: Iterable[Aggregate], side: SideWrites | None = None) -> None:
        """Write every pending event of the aggregates and the side writes in one transaction.

        Raises eventsourcing's IntegrityError on a version or position conflict; the caller's
        in-memory aggregates are then stale and must be reloaded.
        """
        events = [e for agg in aggregates for e in agg.collect_events()]
        # The recorder directly, not ``app.events.put``: put also builds a Recording and a
        # Notification per event for the caller, which nothing here reads.
        to_stored_event = self.app.mapper.to_stored_event
        self.app.recorder.insert_events(  # type: ignore[attr-defined]
            [to_stored_event(e) for e in events], side=side)

    # -- reads -------------------------------------------------------------------------

    def positions(self) -> dict[str, int]:
        rows = self.sql.query("SELECT key, next_offset FROM kafka_positions")
        return {row["key"]: int(row["next_offset"]) for row in rows}

    def position_epochs(self) -> dict[str, int]:
        """How many times each partition was started over (see ``Ledger.reset_positions``)."""
        rows = self.sql.query("SELECT key, COUNT(*) AS n FROM position_resets GROUP BY key")
        return {row["key"]: int(row["n"]) for row in rows}

    def position_digests(self) -> dict[str, tuple[int, str | None]]:
        """``key -> (next offset, digest of the record at next offset - 1)``."""
        rows = self.sql.query("SELECT key, next_offset, last_digest FROM kafka_positions")
        return {row["key"]: (int(row["next_offset"]), row["last_digest"]) for row in rows}

    def notifications(self, after: int, limit: int) -> Sequence[Notification]:
        return self.app.recorder.select_notifications(  # type: ignore[attr-defined]
            start=after, limit=limit, inclusive_of_start=False
        )

    def max_notification_id(self) -> int:
        return self.app.recorder.max_notification_id() or 0  # type: ignore[attr-defined]

    def aggregate_version(self, aggregate_id: UUID) -> int:
        """The version of the aggregate's latest stored event (0 when it has none): one
        look-up in the events table's primary key, without eventsourcing's pooled read
        transaction (which cost three times as much on SQLite)."""
        table = self.app.recorder.events_table_name  # type: ignore[attr-defined]
        key: UUID | str = aggregate_id if self.sql.is_postgres else aggregate_id.hex
        rows = self.sql.query(
            f"SELECT MAX(originator_version) AS version FROM {table} WHERE originator_id = ?",
            (key,))
        return int(rows[0]["version"] or 0)

    def event_counts(self) -> dict[str, int]:
        """How many stored events of each class name (e.g. "PointsExpired")."""
        table = self.app.recorder.events_table_name  # type: ignore[attr-defined]
        rows = self.sql.query(f"SELECT topic, COUNT(*) AS n FROM {table} GROUP BY topic")
        counts: dict[str, int] = {}
        for row in rows:
            name = row["topic"].rsplit(".", 1)[-1]
            counts[name] = counts.get(name, 0) + int(row["n"])
        return counts

    def decode(self, notification: Notification) -> Any:
        return self.app.mapper.to_domain_event(notification)

    def close(self) -> None:
        self.sql.close()
        self.app.close()
        if self.checkpointer is not None:
            self.checkpointer.close()


def describe(settings: Settings) -> str:
    if settings.is_postgres:
        url = urlparse(settings.store_url)
        return f"postgresql://{url.hostname}:{url.port or 5432}{url.path}"
    return str(settings.sqlite_path)


def open_store(settings: Settings) -> LoyaltyStore:
    return LoyaltyStore(settings)
