"""The ledger is a function of the facts, not of the order Kafka hands them over in.

A member's facts travel on several topics (orders, reviews, shares, customers, referrals), and
Kafka orders records only within one partition of one topic. After a restart, a rebalance or a
backlog, a worker reads those topics at different speeds, so a member's review from November
can arrive before its order from February. These tests pin that down without any fault: the
control run through the real broker, and a deterministic replay that reads the topics round-robin
as a consumer with a backlog does."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from tests.fault.kafka import Record
from tests.fault.ledger import final_outcome, mismatches
from tests.fault.reference import Reference, replay_in_order, replay_sequenced
from tests.fault.scenarios import clean_run
from tests.fault.support import assert_held


def round_robin_by_topic(records: tuple[Record, ...], chunk: int) -> list[Record]:
    """Each topic in its own order, ``chunk`` records of each topic in turn."""
    queues: dict[str, list[Record]] = defaultdict(list)
    for record in records:
        queues[record.topic].append(record)
    out: list[Record] = []
    cursor = 0
    while len(out) < len(records):
        for queue in queues.values():
            out.extend(queue[cursor:cursor + chunk])
        cursor += chunk
    return out


def test_arrival_order_alone_would_change_the_ledger(expected: Reference, tmp_path: Path):
    """Why the worker sequences: the same facts applied in the order of a round-robin read of
    the topics give another ledger than in the order they happened."""
    reordered = round_robin_by_topic(expected.history.records, chunk=500)
    settings = replay_in_order(reordered, tmp_path / "round-robin.sqlite")
    outcome = final_outcome(settings, expected.history.end)
    assert outcome.members == expected.outcome.members
    assert mismatches(expected.outcome.ledger, outcome.ledger)


def test_partitions_read_at_different_speeds_give_the_ledger_of_the_facts_in_order(
        expected: Reference, tmp_path: Path):
    """The worker's sequencer over partitions fetched 50 records at a time each (a topic with
    few records is read to its end long before a busy one) gives the reference ledger."""
    settings = replay_sequenced(expected.history.records, tmp_path / "sequenced.sqlite", 50)
    outcome = final_outcome(settings, expected.history.end)
    assert outcome.members == expected.outcome.members
    differ = mismatches(expected.outcome.ledger, outcome.ledger)
    assert not differ, f"{len(differ)} members differ, e.g.\n" + "\n".join(differ[:5])


def test_control_run_through_the_broker_without_faults_gives_the_reference_ledger(
        expected: Reference, tmp_path: Path):
    assert_held(clean_run(expected, tmp_path))
