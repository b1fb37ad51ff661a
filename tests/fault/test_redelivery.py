"""Kafka redelivers, storefronts retry: the same facts again must change nothing."""

from __future__ import annotations

from pathlib import Path

from tests.fault.history import rules_exercised
from tests.fault.reference import Reference
from tests.fault.scenarios import redelivery
from tests.fault.support import assert_held


def test_the_history_exercises_every_rule(expected: Reference):
    assert rules_exercised(expected.outcome.event_counts, expected.outcome.rules) == []
    assert len(expected.history.facts) >= 3000
    assert expected.outcome.members >= 100
    assert expected.outcome.violations == []


def test_history_published_twice_then_shuffled_per_key_leaves_the_ledger_identical(
        expected: Reference, tmp_path: Path):
    result = redelivery(expected, tmp_path)
    assert result.sent == 3 * len(expected.history.records)
    assert_held(result)
