"""The read side's view of the notification log: light records decoded straight from the stored
JSON, without building the library's domain event objects.

Projections need an event's class, member, version, time and attributes, nothing of its
behaviour. A ``Record`` carries exactly those, and its time once more as fixed-width UTC text
(``at``), which the folds compare and store. Its ``fields`` are what the library's mapper
would put in the event's ``__dict__`` without the originator's id and version: the same keys
and values (``timestamp`` a ``datetime``). A state the fast path does not recognise (a typed
value other than the event time, a class version to upcast, a cipher or compressor) goes
through the mapper, so both paths always agree.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

import orjson
from eventsourcing.persistence import Mapper, Notification
from eventsourcing.utils import resolve_topic

from engine.aggregates.member import Member
from engine.projections.support import ts, utc_time_text
from engine.store.app import LoyaltyStore

TYPE_MARK = b'"_type_"'
META = ("originator_id", "originator_version")
MEMBER_PREFIX = Member.__qualname__ + "."
loads = orjson.loads


class Record:
    """One stored event: notification ``id``, originator ``key`` (32 hex digits), ``version``,
    class ``name`` and ``qualname``, whether it is a Member's (``member``), ``timestamp``, the
    same time as ``ts`` gives it (``at``) and ``fields`` (the event's attributes, originator id
    and version left out)."""

    __slots__ = ("id", "key", "version", "name", "qualname", "member", "timestamp", "at",
                 "fields")

    def __init__(self, id: int, key: str, version: int, kind: tuple[str, str, bool, bool],
                 fields: dict[str, Any], at: str | None = None) -> None:
        self.id, self.key, self.version = id, key, version
        self.name, self.qualname, self.member = kind[0], kind[1], kind[2]
        self.timestamp: datetime = fields["timestamp"]
        self.at: str = at or ts(self.timestamp) or ""
        self.fields = fields


class Decoder:
    """Turns stored events into ``Record``s; one per store (it caches topic lookups)."""

    def __init__(self, mapper: Mapper[Any]) -> None:
        self.mapper = mapper
        self.plain = mapper.cipher is None and mapper.compressor is None
        self.kinds: dict[str, tuple[str, str, bool, bool]] = {}
        # The events of one fact share its time and lie side by side in the log: the last
        # time text decoded, its datetime and fixed-width text.
        self.last: tuple[str, datetime, str] = ("", datetime.min, "")

    def kind(self, topic: str) -> tuple[str, str, bool, bool]:
        """(class name, qualified name, a Member's event, fast path allowed) of a topic."""
        found = self.kinds.get(topic)
        if found is None:
            cls = resolve_topic(topic)
            found = self.kinds[topic] = (
                cls.__name__, cls.__qualname__, cls.__qualname__.startswith(MEMBER_PREFIX),
                self.plain and getattr(cls, "class_version", 1) == 1)
        return found

    def record(self, id: int, key: str, version: int, topic: str, state: bytes) -> Record:
        kind = self.kinds.get(topic) or self.kind(topic)
        if kind[3] and state.count(TYPE_MARK) == 1:
            fields = loads(state)
            stamp = fields.get("timestamp")
            if type(stamp) is dict and stamp.get("_type_") == "datetime_iso":
                text, value, fixed = self.last
                if stamp["_data_"] != text:
                    text = stamp["_data_"]
                    value, fixed = utc_time_text(text)
                    self.last = (text, value, fixed)
                fields["timestamp"] = value
                return Record(id, key, version, kind, fields, fixed)
        return self._slow(id, key, version, topic, state)

    def _slow(self, id: int, key: str, version: int, topic: str, state: bytes) -> Record:
        event = self.mapper.to_domain_event(Notification(
            id=id, originator_id=UUID(key), originator_version=version, topic=topic,
            state=state))
        fields = {k: v for k, v in event.__dict__.items() if k not in META}
        return Record(id, key, version, self.kind(topic), fields)


def read(store: LoyaltyStore, decoder: Decoder, after: int, limit: int) -> list[Record]:
    """The records of the notifications after ``after``, at most ``limit``, in log order."""
    return [decoder.record(*row) for row in raw_page(store, after, limit)]


def raw_page(store: LoyaltyStore, after: int,
             limit: int) -> Sequence[tuple[int, str, int, str, bytes]]:
    """(id, originator hex, version, topic, state) of the notifications after ``after``,
    straight from the events table: the library's own select, without its objects (on
    PostgreSQL also without its rows as dicts, in psycopg's binary format, so the states come
    as bytes rather than hex text to decode)."""
    table = store.app.recorder.events_table_name  # type: ignore[attr-defined]
    if store.sql.is_postgres:
        from psycopg.rows import tuple_row

        with store.sql.lock, store.sql.conn.cursor(  # type: ignore[attr-defined]
                row_factory=tuple_row, binary=True) as cursor:
            cursor.execute(
                "SELECT notification_id, replace(originator_id::text, '-', ''), "
                f"originator_version, topic, state FROM {table} WHERE notification_id > %s "
                "ORDER BY notification_id LIMIT %s", (after, limit))
            return cursor.fetchall()
    with store.sql.lock:
        cursor = store.sql.conn.cursor()  # type: ignore[attr-defined]
        cursor.row_factory = None
        cursor.execute(
            "SELECT rowid, replace(originator_id, '-', ''), originator_version, topic, state "
            f"FROM {table} WHERE rowid > ? ORDER BY rowid LIMIT ?", (after, limit))
        return cursor.fetchall()  # type: ignore[no-any-return]
