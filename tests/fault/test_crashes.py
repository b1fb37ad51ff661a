"""Workers die: SIGKILL at random moments, and one of two workers in a consumer group."""

from __future__ import annotations

from pathlib import Path

from tests.fault.reference import Reference
from tests.fault.scenarios import scale_out, worker_kills
from tests.fault.support import KILLS, assert_held


def test_worker_sigkilled_at_random_moments_and_restarted_leaves_the_ledger_identical(
        expected: Reference, tmp_path: Path):
    result = worker_kills(expected, tmp_path, kills=KILLS)
    assert result.injected == KILLS
    assert_held(result)


def test_survivor_takes_over_the_partitions_of_a_killed_worker_on_postgresql(
        expected: Reference, tmp_path: Path, pg_url: str):
    result = scale_out(expected, tmp_path, pg_url)
    assert_held(result)
