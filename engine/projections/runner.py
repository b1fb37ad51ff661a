"""Batched catch-up of a projection over the store's notification log.

eventsourcing's SQLite recorder has no subscription and its ProjectionRunner commits once per
event, so projections here read the log in pages and write each page's rows and the new position
in ONE transaction of the same database: a crash mid-update never double-counts.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from engine.projections.page_writes import PageWrites
from engine.projections.records import Decoder, Record, read
from engine.store.app import LoyaltyStore

PAGE = 2000

META_FIELDS = ("originator_id", "originator_version", "originator_topic", "timestamp")
MOVE_POSITION = (
    "INSERT INTO projection_positions (name, notification_id) VALUES (?, ?) "
    "ON CONFLICT (name) DO UPDATE SET notification_id = excluded.notification_id "
    "WHERE projection_positions.notification_id = ? RETURNING notification_id"
)


class Projection(Protocol):
    name: str

    def apply_page(self, store: LoyaltyStore, cursor: Any, events: list[Record]) -> None:
        """Fold the records of one page of the log into rows, through ``cursor``."""

    def reset(self, store: LoyaltyStore, cursor: Any) -> None:
        """Drop every row of the read model."""


class _Moved(Exception):
    """Another runner advanced the projection first."""


def event_fields(event: Any) -> dict[str, Any]:
    return {k: v for k, v in event.__dict__.items() if k not in META_FIELDS}


def position_of(store: LoyaltyStore, name: str) -> int:
    rows = store.sql.query(
        "SELECT notification_id FROM projection_positions WHERE name = ?", (name,)
    )
    return int(rows[0]["notification_id"]) if rows else 0


def catch_up(
    store: LoyaltyStore,
    projection: Projection,
    *,
    page: int = PAGE,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Fold everything after the projection's position; returns how many events it read."""
    return catch_up_many(store, [projection], page=page, progress=progress)


def catch_up_many(
    store: LoyaltyStore,
    projections: Sequence[Projection],
    *,
    page: int = PAGE,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Like ``catch_up`` for several projections at once: each page of the log is read and
    decoded once, and every projection behind it folds its part of the page; then all rows
    and positions are written in ONE transaction (see ``page_writes``). Returns how many
    events it read."""
    done = 0
    decoder = Decoder(store.app.mapper)
    positions = {p.name: position_of(store, p.name) for p in projections}
    while positions:
        start = min(positions.values())
        events = read(store, decoder, start, page)
        if not events:
            return done
        ids = [e.id for e in events]
        last = ids[-1]
        behind = [p for p in projections if positions[p.name] < last]
        try:
            # Fold outside the write transaction, holding the session (one connection: no
            # other thread may write between these reads and the position check).
            with store.sql.reader() as reader:
                writes = PageWrites(reader)
                for projection in behind:
                    position = positions[projection.name]
                    projection.apply_page(store, writes, events[bisect_right(ids, position):])
                with store.sql.transaction() as cur:
                    for projection in behind:
                        store.sql.execute(cur, MOVE_POSITION,
                                          (projection.name, last, positions[projection.name]))
                        if cur.fetchone() is None:
                            raise _Moved
                    writes.apply(cur)
        except _Moved:
            positions = {p.name: position_of(store, p.name) for p in projections}
            continue
        positions = {name: max(position, last) for name, position in positions.items()}
        done += len(events)
        if progress is not None:
            progress(len(events))
    return done


def rebuild(
    store: LoyaltyStore, projection: Projection, progress: Callable[[int], None] | None = None
) -> int:
    """Drop the read model and fold the whole history again."""
    with store.sql.transaction() as cur:
        projection.reset(store, cur)
        store.sql.execute(
            cur, "DELETE FROM projection_positions WHERE name = ?", (projection.name,)
        )
    return catch_up(store, projection, progress=progress)
