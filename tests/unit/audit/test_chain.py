"""The hash chain and the daily digest, as pure functions."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date
from uuid import UUID

from engine.audit.chain import (
    GENESIS,
    chain_rows,
    day_end,
    digest_of_heads,
    first_break,
    link_hash,
    previous_wanted,
)

MEMBER = UUID("12345678123456781234567812345678")
OID = MEMBER.hex
TOPIC = "engine.aggregates.member:Member.PointsEarned"


@dataclass(frozen=True)
class Stored:
    originator_id: UUID
    originator_version: int
    topic: str
    state: bytes


def history(count: int) -> tuple[list[tuple[int, str, bytes]], list[tuple[int, str, str]]]:
    events = [(v, TOPIC, b'{"points":%d}' % (v * 10)) for v in range(1, count + 1)]
    rows = chain_rows([Stored(MEMBER, *e) for e in events], {}, "2025-01-01T00:00:00.000000+00:00")
    return events, [(version, hash_, prev) for _, version, hash_, prev, _ in rows]


def test_link_hash_covers_previous_hash_id_version_topic_and_state_in_that_order():
    expected = hashlib.sha256(
        f"{GENESIS}\n{OID}\n1\n{TOPIC}\n".encode() + b'{"points":10}').hexdigest()
    assert link_hash(GENESIS, OID, 1, TOPIC, b'{"points":10}') == expected
    assert link_hash(GENESIS, OID, 2, TOPIC, b'{"points":10}') != expected
    assert link_hash("1" * 64, OID, 1, TOPIC, b'{"points":10}') != expected


def test_each_link_names_the_previous_one_from_genesis():
    _, links = history(3)
    assert links[0][2] == GENESIS
    assert links[1][2] == links[0][1] and links[2][2] == links[1][1]


def test_a_batch_continuing_a_history_links_to_the_stored_last_hash():
    events, links = history(4)
    tail = [Stored(MEMBER, *e) for e in events[2:]]
    assert previous_wanted(tail) == [(OID, 2)]
    rows = chain_rows(tail, {OID: links[1][1]}, "t")
    assert [(v, h, p) for _, v, h, p, _ in rows] == links[2:]


def test_an_honest_history_has_no_broken_link():
    events, links = history(5)
    assert first_break(OID, events, links) is None


def test_an_altered_event_is_located():
    events, links = history(5)
    events[2] = (3, TOPIC, b'{"points":9999}')
    broken = first_break(OID, events, links)
    assert (broken.version, broken.problem) == (3, "altered")


def test_an_event_inserted_without_a_link_is_located():
    events, links = history(5)
    events.append((6, TOPIC, b'{"points":60}'))
    broken = first_break(OID, events, links)
    assert (broken.version, broken.problem) == (6, "inserted")


def test_a_removed_event_is_located():
    events, links = history(5)
    del events[1]
    broken = first_break(OID, events, links)
    assert (broken.version, broken.problem) == (2, "removed")


def test_a_rewritten_link_that_does_not_follow_its_predecessor_is_located():
    events, links = history(5)
    version, _, prev = links[3]
    forged = link_hash(prev, OID, 4, TOPIC, b'{"points":1}')
    events[3] = (4, TOPIC, b'{"points":1}')
    links[3] = (version, forged, prev)
    # Event 4 and its link agree now, but link 5 still names the old hash of link 4.
    broken = first_break(OID, events, links)
    assert (broken.version, broken.problem) == (5, "relinked")


def test_a_hole_in_both_events_and_links_is_located():
    events, links = history(5)
    del events[2], links[2]
    broken = first_break(OID, events, links)
    assert (broken.version, broken.problem) == (3, "missing")


def test_digest_is_sorted_lines_of_last_links_and_changes_with_any_of_them():
    heads = [("b" * 32, 7, "f" * 64), ("a" * 32, 3, "e" * 64)]
    expected = hashlib.sha256(
        f"{'a' * 32} 3 {'e' * 64}\n{'b' * 32} 7 {'f' * 64}\n".encode()).hexdigest()
    assert digest_of_heads(heads) == expected
    assert digest_of_heads(reversed(heads)) == expected
    assert digest_of_heads([heads[0], ("a" * 32, 4, "e" * 64)]) != expected
    assert digest_of_heads([]) == hashlib.sha256(b"").hexdigest()


def test_a_day_ends_at_midnight_utc_of_the_next_day():
    assert day_end(date(2025, 3, 1)) == "2025-03-02T00:00:00.000000+00:00"
