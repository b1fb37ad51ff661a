"""Workers die: SIGKILL at random moments, and one of two workers in a consumer group."""

from __future__ import annotations

import time
from pathlib import Path

from tests.fault.deploy import Deployment, Expectation, deployment
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


def test_a_plain_restart_never_moves_a_stored_position_back(expected: Reference, tmp_path: Path):
    """The log is intact (same broker, multi-record batches as any producer sends), so a
    restarted worker must resume where the store says, not start partitions over."""
    records = expected.history.records[:1500]
    with deployment(tmp_path) as deployed:
        deployed.procs.worker("first", health=False)
        deployed.publish(records)
        deployed.wait_caught_up(Expectation(frozenset(f.event_id for f in
                                                      expected.history.facts[:1500])))
        deployed.procs.close()
        before = positions(deployed)
        deployed.procs.worker("second", health=False)
        lowest = dict(before)
        until = time.monotonic() + 15  # assignment and the log check come in the first seconds
        while time.monotonic() < until:
            for key, position in positions(deployed).items():
                lowest[key] = min(lowest.get(key, position), position)
            time.sleep(0.1)
    moved_back = {k: (v, lowest[k]) for k, v in before.items() if lowest[k] < v}
    assert before and not moved_back, f"positions moved back (before, lowest after): {moved_back}"


def positions(deployed: Deployment) -> dict[str, int]:
    progress = deployed.probe.progress()
    assert progress is not None, "the store did not answer"
    return progress.positions
