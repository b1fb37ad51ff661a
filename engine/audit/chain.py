"""The hash chain over each originator's stored events (tamper evidence), and the daily digest.

Link ``v`` of an originator is ``sha256(prev + "\\n" + originator_id + "\\n" + v + "\\n" + topic
+ "\\n" + state)`` in hex, where ``prev`` is link ``v-1``'s hash (``GENESIS`` for version 1),
``originator_id`` the 32-digit lowercase hex of the aggregate id, ``v`` the version in decimal,
``topic`` the stored event's topic and ``state`` its stored bytes, exactly as written. Only the
state is free text and it comes last, so the encoding is unambiguous.

The recorders write one ``event_chain`` row per stored event in the transaction of the events
(``write_links``), reading the previous link of each originator from the table. A row changed,
added or removed in the events table without the engine then breaks a link (``first_break``);
someone who also rewrites the chain is caught by a digest published earlier (``day_digest``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from uuid import UUID

GENESIS = "0" * 64
LOOKUP_CHUNK = 200

INSERT_LINK = (
    "INSERT INTO event_chain (originator_id, originator_version, hash, prev_hash, recorded_at) "
    "VALUES (?, ?, ?, ?, ?)"
)


def link_hash(prev_hash: str, originator_id: str, version: int, topic: str, state: bytes) -> str:
    """The hash of one link (see the module docstring for the exact encoding)."""
    digest = hashlib.sha256(f"{prev_hash}\n{originator_id}\n{version}\n{topic}\n".encode())
    digest.update(state)
    return digest.hexdigest()


def hex_id(originator_id: UUID | str) -> str:
    return originator_id.hex if isinstance(originator_id, UUID) else UUID(str(originator_id)).hex


def chain_rows(
    stored_events: Iterable[Any], previous: dict[str, str], recorded_at: str
) -> list[tuple[str, int, str, str, str]]:
    """The ``event_chain`` rows of a batch of stored events. ``previous`` maps an originator to
    the hash of the link just before its first event in the batch (absent for version 1 or an
    originator whose earlier links are missing, which then starts again from ``GENESIS``)."""
    heads = dict(previous)
    rows = []
    for event in stored_events:
        oid = hex_id(event.originator_id)
        version = event.originator_version
        prev = heads.get(oid, GENESIS) if version > 1 else GENESIS
        digest = link_hash(prev, oid, version, event.topic, event.state)
        heads[oid] = digest
        rows.append((oid, version, digest, prev, recorded_at))
    return rows


def first_versions(stored_events: Iterable[Any]) -> dict[str, int]:
    """Each originator's first version in the batch (originators as 32-digit hex)."""
    first: dict[str, int] = {}
    for event in stored_events:
        oid = hex_id(event.originator_id)
        if oid not in first or event.originator_version < first[oid]:
            first[oid] = event.originator_version
    return first


def previous_wanted(stored_events: Iterable[Any]) -> list[tuple[str, int]]:
    """(originator, version) of the link before each originator's first event of the batch."""
    return [(oid, version - 1) for oid, version in first_versions(stored_events).items()
            if version > 1]


def write_links(
    execute: Callable[[str, Sequence[Any]], Any],
    fetchall: Callable[[], list[Any]],
    executemany: Callable[[str, list[tuple[Any, ...]]], Any],
    stored_events: Sequence[Any],
    known: Callable[[str, int], str | None] | None = None,
    staged: dict[str, tuple[int, str]] | None = None,
) -> None:
    """Write the batch's links through the recorder's cursor, inside its transaction (the
    callables are the cursor's; statements use ``?`` placeholders). ``known(originator,
    version)``, when given, answers the hash of a link already committed (or None: read from
    the table); ``staged``, when given, receives each originator's last link of the batch as
    ``(version, hash)``, for the caller to keep once the transaction is committed."""
    if not stored_events:
        return
    previous: dict[str, str] = {}
    wanted = previous_wanted(stored_events)
    if known is not None:
        missing = []
        for oid, version in wanted:
            hash_ = known(oid, version)
            if hash_ is None:
                missing.append((oid, version))
            else:
                previous[oid] = hash_
        wanted = missing
    for start in range(0, len(wanted), LOOKUP_CHUNK):
        chunk = wanted[start:start + LOOKUP_CHUNK]
        where = " OR ".join("(originator_id = ? AND originator_version = ?)" for _ in chunk)
        execute(f"SELECT originator_id, hash FROM event_chain WHERE {where}",
                [value for pair in chunk for value in pair])
        for row in fetchall():
            oid, hash_ = tuple(row.values()) if isinstance(row, dict) else tuple(row)
            previous[oid] = hash_
    # A clock read here is bookkeeping of the side table, never part of an event body.
    now = datetime.now(UTC).isoformat(timespec="microseconds")
    rows = chain_rows(stored_events, previous, now)
    executemany(INSERT_LINK, rows)
    if staged is not None:
        for oid, version, hash_, _, _ in rows:
            staged[oid] = (version, hash_)


# -- checking ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BrokenLink:
    """The first place where an originator's stored events and its chain disagree."""

    originator_id: str
    version: int
    problem: str  # "altered", "inserted", "removed", "relinked", "missing"
    detail: str


def first_break(
    originator_id: str,
    events: Sequence[tuple[int, str, bytes]],
    links: Sequence[tuple[int, str, str]],
) -> BrokenLink | None:
    """Walk one originator's events ``(version, topic, state)`` and links ``(version, hash,
    prev_hash)``, both sorted by version; return the first broken link, or None."""
    by_version = {link[0]: link for link in links}
    last = max(events[-1][0] if events else 0, links[-1][0] if links else 0)
    prev = GENESIS
    stored = {event[0]: event for event in events}
    for version in range(1, last + 1):
        event, link = stored.get(version), by_version.get(version)
        if event is None and link is None:
            return BrokenLink(originator_id, version, "missing",
                              f"version {version} has neither an event nor a link: the history "
                              "has a hole")
        if event is None:
            return BrokenLink(originator_id, version, "removed",
                              f"event {version} is gone but its link remains: a stored event "
                              "was removed")
        if link is None:
            return BrokenLink(originator_id, version, "inserted",
                              f"event {version} has no link: it was written behind the "
                              "engine's back")
        if link[2] != prev:
            return BrokenLink(originator_id, version, "relinked",
                              f"link {version} does not follow link {version - 1}")
        if link_hash(prev, originator_id, version, event[1], event[2]) != link[1]:
            return BrokenLink(originator_id, version, "altered",
                              f"event {version} does not match its link: its stored content "
                              "was changed")
        prev = link[1]
    return None


# -- the daily digest -------------------------------------------------------------------------


def day_end(day: date) -> str:
    """The cut-off of a day (UTC) as the ``recorded_at`` text it is compared with."""
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=UTC)
    return end.isoformat(timespec="microseconds")


def digest_of_heads(heads: Iterable[tuple[str, int, str]]) -> str:
    """sha256 over the lines ``"<originator> <version> <hash>\\n"`` of every originator's last
    link, sorted by originator id (bytewise)."""
    digest = hashlib.sha256()
    for oid, version, hash_ in sorted(heads):
        digest.update(f"{oid} {version} {hash_}\n".encode())
    return digest.hexdigest()
