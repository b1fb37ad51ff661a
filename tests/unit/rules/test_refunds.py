from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest

from engine.errors import RejectedFact
from engine.program.model import ProgramBook
from engine.rules.refunds import refund_plan
from tests.unit.rules.builders import (
    book, day, events, last, ledger_balances, member, order, program, refund, registered,
)


def test_refund_reverses_points_of_the_original_award() -> None:
    v1 = program(version=1)
    v2 = replace(program(version=2, points_per_unit=5), effective_from=day(10))
    books = ProgramBook([v1, v2])
    m = member()
    m.apply_fact(order("e1", "200.00", day(0), order_id="o-1"), books)
    m.apply_fact(refund("e2", "o-1", "200.00", day(12)), books)
    reversed_ = last(m, "PointsReversed")
    assert (reversed_.points, reversed_.program_version, reversed_.lot_id) == (200, 1, "e1:spend")
    assert m.pending == 0 and m.reversed == 200 and ledger_balances(m)


def test_partial_refund_reverses_the_refunded_share() -> None:
    m = member()
    m.apply_fact(order("e1", "200.00", order_id="o-1"), book())
    m.apply_fact(refund("e2", "o-1", "50.00", day(1)), book())
    assert (m.reversed, m.pending) == (50, 150)


def test_partial_refunds_add_up_to_exactly_the_whole_award() -> None:
    m = member()
    m.apply_fact(order("e1", "100.00", order_id="o-1"), book())
    for n in range(3):
        amount = "33.33" if n < 2 else "33.34"
        m.apply_fact(refund(f"r{n}", "o-1", amount, day(n + 1)), book())
    assert m.reversed == 100 and m.pending == 0 and ledger_balances(m)


def test_refund_cancels_pending_points_first() -> None:
    m = member()
    m.apply_fact(registered("e0"), book())
    m.apply_fact(order("e1", "100.00", day(1), order_id="o-1"), book())
    m.apply_fact(refund("e2", "o-1", "100.00", day(2)), book())
    reversed_ = last(m, "PointsReversed")
    assert (reversed_.pending, reversed_.active) == (100, 0)
    assert m.available == 100 and m.lots["e1:spend"]["status"] == "cancelled"


def test_refund_after_activation_takes_the_active_points_of_the_award() -> None:
    m = member()
    m.apply_fact(order("e1", "100.00", order_id="o-1"), book())
    m.apply_fact(refund("e2", "o-1", "40.00", day(20)), book())
    reversed_ = last(m, "PointsReversed")
    assert (reversed_.active, reversed_.lots) == (40, [["e1:spend", 40]])
    assert m.available == 60 and ledger_balances(m)


def test_refund_of_spent_points_takes_other_active_points_then_records_the_shortfall() -> None:
    m = member()
    m.apply_fact(order("e1", "500.00", order_id="o-1"), book())
    m.redeem("q1", "ten-percent-off", day(15), book())  # 400 of the 500
    m.apply_fact(registered("e2", day(16)), book())  # 100 more, active
    m.apply_fact(refund("e3", "o-1", "500.00", day(17)), book())
    reversed_ = last(m, "PointsReversed")
    assert (reversed_.active, reversed_.shortfall) == (200, 300)
    assert m.available == 0 and m.shortfall == 300 and ledger_balances(m)


def test_refund_never_takes_the_balance_below_zero() -> None:
    m = member()
    m.apply_fact(order("e1", "400.00", order_id="o-1"), book())
    m.redeem("q1", "ten-percent-off", day(15), book())
    m.apply_fact(refund("e2", "o-1", "400.00", day(16)), book())
    assert m.available == 0 and m.shortfall == 400 and ledger_balances(m)


def test_refund_of_points_that_already_expired_takes_nothing_back_twice() -> None:
    m = member()
    m.apply_fact(order("e1", "100.00", order_id="o-1"), book())
    m.apply_fact(registered("e2", day(380)), book())  # the order's lot expired at day 379
    m.apply_fact(refund("e3", "o-1", "100.00", day(381)), book())
    reversed_ = last(m, "PointsReversed")
    assert (reversed_.already_expired, reversed_.active, reversed_.shortfall) == (100, 0, 0)
    assert m.available == 100 and ledger_balances(m)


def test_refund_of_an_unknown_order_is_rejected() -> None:
    m = member()
    with pytest.raises(RejectedFact, match="unknown order o-9"):
        m.apply_fact(refund("e1", "o-9", "10.00", day(1)), book())
    assert len(m.pending_events) == 1


def test_refunds_adding_up_to_more_than_the_order_are_refused() -> None:
    m = member()
    m.apply_fact(order("e1", "100.00", order_id="o-1"), book())
    m.apply_fact(refund("e2", "o-1", "60.00", day(1)), book())
    before = len(m.pending_events)
    with pytest.raises(RejectedFact, match="add up to 120.00, more than its total 100.00"):
        m.apply_fact(refund("e3", "o-1", "60.00", day(2)), book())
    assert len(m.pending_events) == before and m.reversed == 60


def test_refund_reduces_tier_qualifying_points() -> None:
    m = member()
    m.apply_fact(order("e1", "800.00", order_id="o-1"), book())
    m.apply_fact(refund("e2", "o-1", "400.00", day(1)), book())
    assert m.qualifying == 400 and last(m, "PointsReversed").qualifying == 400


def test_refund_of_an_order_that_earned_nothing_is_recorded_without_reversal() -> None:
    m = member()
    m.apply_fact(order("e1", "0.50", order_id="o-1"), book())
    m.apply_fact(refund("e2", "o-1", "0.50", day(1)), book())
    assert last(m, "OrderRefunded").refunded_total == "0.50"
    assert not events(m, "PointsReversed")


def test_refund_plan_is_cumulative_so_rounding_never_drifts() -> None:
    lot = {"points": 10, "remaining": 10, "status": "pending", "qualifying": 10,
           "qualifying_awarded": 10, "expired": 0, "absorbed": 0}
    first = refund_plan({"total": "3", "refunded": "0"}, Decimal(1), "l", lot, [])
    second = refund_plan({"total": "3", "refunded": "1"}, Decimal(1), "l", lot, [])
    third = refund_plan({"total": "3", "refunded": "2"}, Decimal(1), "l", lot, [])
    assert [first.points, second.points, third.points] == [3, 3, 4]
