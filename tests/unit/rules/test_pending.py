from __future__ import annotations

import pytest

from engine.errors import RedemptionRefused
from tests.unit.rules.builders import (
    book, day, events, last, ledger_balances, member, order, registered, review,
)


def test_order_points_are_pending_during_the_return_window() -> None:
    m = member()
    m.apply_fact(order("e1", "500.00"), book())
    m.advance(day(13.9), book())
    assert (m.pending, m.available) == (500, 0)


def test_pending_points_become_active_at_the_end_of_the_window_stamped_with_that_time() -> None:
    m = member()
    m.apply_fact(order("e1", "500.00", day(1)), book())
    m.advance(day(40), book())
    activated = last(m, "PointsActivated")
    assert activated.timestamp == day(15) and activated.points == 500
    assert (m.pending, m.available) == (0, 500) and ledger_balances(m)


def test_a_later_fact_moves_engine_time_and_activates_due_points_first() -> None:
    m = member()
    m.apply_fact(order("e1", "500.00", day(0)), book())
    m.apply_fact(review("e2", when=day(20)), book())
    names = [type(e).__name__ for e in m.pending_events]
    assert names.index("PointsActivated") < names.index("PointsEarned", 3)
    assert m.available == 550


def test_advancing_twice_changes_nothing() -> None:
    m = member()
    m.apply_fact(order("e1", "500.00"), book())
    m.advance(day(400), book())
    count = len(m.pending_events)
    assert m.advance(day(400), book()) == [] and len(m.pending_events) == count


def test_pending_points_cannot_be_redeemed() -> None:
    m = member()
    m.apply_fact(order("e1", "500.00"), book())
    with pytest.raises(RedemptionRefused, match="500 more pending"):
        m.redeem("r1", "ten-percent-off", day(1), book())


def test_a_zero_day_return_window_activates_at_once() -> None:
    m = member()
    m.apply_fact(order("e1", "500.00"), book(pending_days=0))
    assert (m.pending, m.available) == (0, 500)


def test_review_and_welcome_points_are_active_at_once() -> None:
    m = member()
    m.apply_fact(registered("e1", newsletter=True), book())
    m.apply_fact(review("e2"), book())
    assert (m.available, m.pending) == (175, 0)
    assert {e.status for e in events(m, "PointsEarned")} == {"active"}
