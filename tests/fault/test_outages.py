"""The database and the broker go away mid-stream and come back: the worker reports unhealthy,
stays up, and resumes where it left off."""

from __future__ import annotations

from pathlib import Path

from tests.fault.outages import broker_restarts, database_restarts, resend_order
from tests.fault.pgserver import PrivatePostgres
from tests.fault.reference import Reference
from tests.fault.support import assert_held


def test_database_stopped_and_restarted_mid_stream_leaves_the_ledger_identical(
        expected: Reference, tmp_path: Path, private_pg: PrivatePostgres):
    result = database_restarts(expected, tmp_path, private_pg, restarts=1)
    assert_held(result)


def test_broker_restarted_empty_with_everything_resent_leaves_the_ledger_identical(
        expected: Reference, tmp_path: Path):
    result = broker_restarts(expected, tmp_path, restarts=1)
    assert result.sent > len(expected.history.records)
    assert_held(result)


def test_resent_records_come_before_a_customers_new_ones_but_shift_other_offsets(
        expected: Reference):
    import random

    records = expected.history.records
    old, new = records[:1000], records[1000:2000]
    merged = resend_order(old, new, random.Random(1))
    assert sorted(map(id, merged)) == sorted(map(id, [*old, *new]))
    for key in {r.key for r in new}:
        mine = [r for r in merged if r.key == key]
        resent = [r for r in old if r.key == key]
        assert mine[: len(resent)] == resent  # in order, before the customer's new ones
    assert merged[: len(old)] != list(old)  # not simply the old log again
