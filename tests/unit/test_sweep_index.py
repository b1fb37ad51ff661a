"""The sweep's index of next due times (engine/sweep_index.py) against the walk it replaces:
asking every member noted."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from hypothesis import given, settings
from hypothesis import strategies as st

from engine.sweep_index import COMPACT_SLACK, SweepIndex

START = datetime(2025, 1, 1, tzinfo=timezone.utc)
CUSTOMERS = [f"c-{i}" for i in range(12)]

steps = st.lists(st.one_of(
    st.tuples(st.just("note"), st.sampled_from(CUSTOMERS),
              st.one_of(st.none(), st.integers(0, 40))),
    st.tuples(st.just("drop"), st.sampled_from(CUSTOMERS), st.none()),
    st.tuples(st.just("due_by"), st.none(), st.integers(0, 40)),
), max_size=200)


@settings(max_examples=300, deadline=None)
@given(steps)
def test_due_by_gives_exactly_the_members_a_walk_of_every_one_would(script) -> None:
    index, truth = SweepIndex(), {}
    for op, customer, hours in script:
        at = START + timedelta(hours=hours) if hours is not None else None
        if op == "note":
            index.note(customer, at)
            if at is None:
                truth.pop(customer, None)
            else:
                truth[customer] = at
        elif op == "drop":
            index.drop([customer])
            truth.pop(customer, None)
        else:
            walked = {c for c, due in truth.items() if due <= at}
            assert index.due_by(at) == walked
            for customer_id in walked:  # they leave the index until noted again
                del truth[customer_id]
        assert index.due == truth


def test_the_heap_stays_within_twice_the_members_noted() -> None:
    index = SweepIndex()
    for round_ in range(50):
        for i in range(200):
            index.note(f"c-{i}", START + timedelta(hours=round_ * 200 + i))
        assert len(index.heap) <= 2 * len(index) + COMPACT_SLACK
    assert len(index) == 200
    assert index.due_by(START + timedelta(days=10_000)) == {f"c-{i}" for i in range(200)}
    assert len(index) == 0
