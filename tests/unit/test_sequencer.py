"""The event-time merge of the worker's partitions (engine/streams/sequencer.py)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from engine.service import Incoming, read_value
from engine.streams.sequencer import Sequencer
from tests.support.facts import message


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


RANK = {"loyalty.orders": 0, "loyalty.reviews": 1}.get


def sequencer(clock: Clock | None = None, max_idle: float = 2.0) -> Sequencer:
    return Sequencer(lambda t: RANK(t, 9), max_idle=max_idle, clock=clock or Clock())


def record(topic: str, offset: int, day: int, customer: str = "c1") -> Incoming:
    value = message(f"e-{topic}-{offset}", "survey.answered", customer,
                    f"2025-01-{day:02d}T10:00:00+00:00", {"score": 5})
    return Incoming(topic, 0, offset, value, decoded=read_value(topic, value))


def released_days(out: list[Incoming]) -> list[int]:
    return [m.decoded.occurred_at.day for m in out]


def test_records_wait_for_a_partition_that_may_still_hold_earlier_ones() -> None:
    clock = Clock()
    seq = sequencer(clock)
    seq.track(["loyalty.orders#0", "loyalty.reviews#0"])
    seq.add([record("loyalty.reviews", 0, 20)], polled=100)
    # The orders partition is empty and not known to be read to its end: wait.
    assert seq.release(lambda key, since: False, 100) == []
    # Orders arrive, one earlier and one later than the review.
    seq.add([record("loyalty.orders", 0, 5), record("loyalty.orders", 1, 25)], polled=200)
    out = seq.release(lambda key, since: False, 100)
    # Day 5, then day 20; day 25 waits because reviews is empty and not known to be at its end.
    assert released_days(out) == [5, 20]
    out = seq.release(lambda key, since: key == "loyalty.reviews#0" and since < 300, 100)
    assert released_days(out) == [25]


def test_a_caught_up_partition_only_counts_for_records_fetched_before_that_poll() -> None:
    seq = sequencer()
    seq.track(["loyalty.orders#0", "loyalty.reviews#0"])
    seq.add([record("loyalty.reviews", 0, 20)], polled=500)
    polls = {"loyalty.orders#0": 400}  # orders last polled before the review came
    assert seq.release(lambda key, since: polls[key] > since, 100) == []
    polls["loyalty.orders#0"] = 600
    assert released_days(seq.release(lambda key, since: polls[key] > since, 100)) == [20]


def test_a_silent_partition_holds_the_others_back_only_for_max_idle() -> None:
    clock = Clock()
    seq = sequencer(clock)
    seq.track(["loyalty.orders#0", "loyalty.reviews#0"])
    seq.add([record("loyalty.reviews", 0, 20)], polled=1)
    assert seq.release(lambda key, since: False, 100) == []
    clock.now = 2.5
    assert released_days(seq.release(lambda key, since: False, 100)) == [20]


def test_unreadable_records_go_first_and_offsets_stay_in_order_within_a_partition() -> None:
    seq = sequencer()
    seq.track(["loyalty.orders#0"])
    bad = Incoming("loyalty.orders", 0, 1, b"not json")
    seq.add([record("loyalty.orders", 0, 9), bad, record("loyalty.orders", 2, 3)], polled=1)
    out = seq.release(lambda key, since: True, 100)
    assert [m.offset for m in out] == [0, 1, 2]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["loyalty.orders", "loyalty.reviews"]),
                          st.integers(1, 28)), min_size=1, max_size=40),
       st.integers(1, 7))
def test_with_everything_fetched_a_member_sees_its_facts_in_time_order(
        spec: list[tuple[str, int]], chunk: int) -> None:
    """Each topic time-ordered, fetched in chunks at different speeds: the merge gives time
    order, and every record exactly once."""
    logs: dict[str, list[Incoming]] = {"loyalty.orders": [], "loyalty.reviews": []}
    for topic, day in spec:
        logs[topic].append(day)  # type: ignore[arg-type]
    for topic in logs:
        days = sorted(logs[topic])  # type: ignore[type-var]
        logs[topic] = [record(topic, i, d) for i, d in enumerate(days)]  # type: ignore[arg-type]
    seq = sequencer(max_idle=60.0)
    seq.track(f"{t}#0" for t in logs)
    fetched = {t: 0 for t in logs}
    out: list[Incoming] = []
    poll = 0
    speeds = {"loyalty.orders": chunk, "loyalty.reviews": 1}
    while len(out) < len(spec):
        poll += 1
        for topic, log in logs.items():
            got = log[fetched[topic]:fetched[topic] + speeds[topic]]
            fetched[topic] += len(got)
            seq.add(got, polled=poll)
        out += seq.release(lambda key, since: fetched[key[:-2]] == len(logs[key[:-2]])
                           and poll > since, 1000)
        assert poll < 1000
    days = released_days(out)
    assert days == sorted(days)
    assert sorted((m.topic, m.offset) for m in out) == sorted(
        (m.topic, m.offset) for log in logs.values() for m in log)


def test_a_member_waits_for_its_earlier_record_behind_another_members_later_one() -> None:
    """After a re-send a partition mixes customers out of time order: B's day-5 record sits
    behind A's day-9 one; B's day-6 record on another topic waits for it."""
    seq = sequencer()
    seq.add([record("loyalty.orders", 0, 9, "A"), record("loyalty.orders", 1, 5, "B")], 1)
    seq.add([record("loyalty.reviews", 0, 6, "B")], 1)
    out = seq.release(lambda key, since: True, 100)
    assert [(m.decoded.customer_id, m.decoded.occurred_at.day) for m in out] == [
        ("A", 9), ("B", 5), ("B", 6)]
    assert seq.members == {}


def test_when_every_head_waits_on_another_the_earliest_goes() -> None:
    seq = sequencer()
    seq.add([record("loyalty.orders", 0, 9, "A"), record("loyalty.orders", 1, 5, "B")], 1)
    seq.add([record("loyalty.reviews", 0, 6, "B"), record("loyalty.reviews", 1, 7, "A")], 1)
    out = seq.release(lambda key, since: True, 100)
    got = [(m.decoded.customer_id, m.decoded.occurred_at.day) for m in out]
    # A cycle: one of the two necessarily sees a fact late, but nothing stalls or is lost.
    assert sorted(got) == [("A", 7), ("A", 9), ("B", 5), ("B", 6)]
    in_order = [who for who in "AB"
                if [d for c, d in got if c == who] == sorted(d for c, d in got if c == who)]
    assert len(in_order) == 1
    assert len(seq) == 0 and seq.held_back() == {}


def test_a_record_older_than_one_before_it_in_its_partition_holds_nobody_back() -> None:
    """A message of X dated day 1 sits behind X's day-5 order (a malformed message derived from
    an old fact, say): X's day-3 review does not wait for it, the day-5 order waits for the
    review, and the day-1 message comes when its partition gets there."""
    seq = sequencer()
    seq.add([record("loyalty.orders", 0, 5, "X"), record("loyalty.orders", 1, 1, "X")], 1)
    seq.add([record("loyalty.reviews", 0, 3, "X")], 1)
    out = seq.release(lambda key, since: True, 100)
    assert [m.decoded.occurred_at.day for m in out] == [3, 5, 1]


def test_a_head_dated_after_the_record_behind_it_does_not_hold_its_partition_back() -> None:
    seq = sequencer()
    seq.add([record("loyalty.orders", 0, 20, "Z"), record("loyalty.orders", 1, 4, "X")], 1)
    seq.add([record("loyalty.reviews", 0, 6, "X")], 1)
    out = seq.release(lambda key, since: True, 100)
    assert [(m.decoded.customer_id, m.decoded.occurred_at.day) for m in out] == [
        ("Z", 20), ("X", 4), ("X", 6)]


def test_a_partition_never_polled_since_assignment_holds_the_others_back_however_long() -> None:
    """Right after a rebalance nothing is known of a newly assigned partition: waiting for its
    first poll is not idling, so max_idle does not let the others pass it."""
    clock = Clock()
    seq = sequencer(clock)
    seq.track(["loyalty.orders#0", "loyalty.reviews#0"])
    seq.add([record("loyalty.orders", 0, 9)], polled=1)
    clock.now = 60.0
    assert seq.release(lambda key, since: None, 100) == []
    assert released_days(seq.release(lambda key, since: False, 100)) == [9]


def test_what_is_held_back_is_told_per_member() -> None:
    seq = sequencer()
    seq.add([record("loyalty.orders", 0, 7, "X"), record("loyalty.orders", 1, 3, "X"),
             record("loyalty.orders", 2, 5, "Y")], 1)
    seq.add([Incoming("loyalty.reviews", 0, 0, b"not json")], 1)
    view = seq.held_back()
    held = {who: sorted((at.day, source) for at, source in view[who]) for who in view}
    assert held == {"X": [(3, "e-loyalty.orders-1"), (7, "e-loyalty.orders-0")],
                    "Y": [(5, "e-loyalty.orders-2")]}


def brute_earliest(seq: Sequencer):  # type: ignore[no-untyped-def]
    """The earliest held time by walking every held record (what ``earliest`` must match)."""
    view = seq.held_back()
    return min((at for who in view for at, _ in view[who]), default=None)


def brute_not_past(seq: Sequencer, who: str, goal, seen):  # type: ignore[no-untyped-def]
    at = goal
    for when, source in seq.held_back().get(who, ()):
        if when < at and source not in seen:
            at = when
    return at


@settings(max_examples=80, deadline=None)
@given(st.lists(st.one_of(
    st.tuples(st.just("add"), st.sampled_from(["loyalty.orders", "loyalty.reviews"]),
              st.integers(1, 28), st.sampled_from(["A", "B", "C"])),
    st.tuples(st.just("release"), st.integers(1, 4)),
    st.tuples(st.just("forget"), st.sampled_from(["loyalty.orders", "loyalty.reviews"])),
), max_size=60), st.integers(1, 28), st.sets(st.integers(0, 30), max_size=8))
def test_the_earliest_held_time_and_a_members_limit_match_a_walk_of_every_record(
        steps: list[tuple], goal_day: int, seen_offsets: set[int]) -> None:
    """The heap behind ``earliest`` and the seconds behind ``not_past`` give what walking
    every held record gives, through adds, releases and forgotten partitions."""
    from datetime import UTC, datetime

    seq = sequencer()
    offsets = {"loyalty.orders": 0, "loyalty.reviews": 0}
    for step in steps:
        if step[0] == "add":
            _, topic, day, who = step
            seq.add([record(topic, offsets[topic], day, who)], polled=1)
            offsets[topic] += 1
        elif step[0] == "release":
            seq.release(lambda key, since: True, step[1])
        else:
            seq.forget([f"{step[1]}#0"])
        view = seq.held_back()
        assert view.earliest() == brute_earliest(seq)
        goal = datetime(2025, 1, goal_day, 12, 0, tzinfo=UTC)
        for who in "ABC":
            seen = {f"e-{t}-{o}" for t in offsets for o in seen_offsets}
            assert view.not_past(who, goal, seen) == brute_not_past(seq, who, goal, seen)


def test_the_time_heap_stays_within_twice_the_records_held() -> None:
    """Records released while nobody asks for the earliest time leave their entries in the
    heap; it is compacted before it holds more than twice the records still held (plus a
    slack), and the earliest time is still right after."""
    from engine.streams.sequencer import COMPACT_SLACK

    seq = sequencer()
    seq.add([record("loyalty.reviews", 0, 28, "S")], polled=1)  # held throughout
    for offset in range(5 * COMPACT_SLACK):
        seq.add([record("loyalty.orders", offset, 1 + offset % 27, f"c{offset % 50}")], 1)
        assert len(seq.times) <= 2 * seq.noted + COMPACT_SLACK + 1
        seq.release(lambda key, since: key == "loyalty.orders#0", 1)
    assert seq.noted == len(seq) == 1
    assert seq.held_back().earliest() == brute_earliest(seq)
