from __future__ import annotations

from dataclasses import replace

from engine.program.model import ProgramBook
from tests.unit.rules.builders import (
    book, day, last, ledger_balances, member, order, program, registered, review,
)


def test_active_points_expire_365_days_after_they_became_active() -> None:
    m = member()
    m.apply_fact(order("e1", "100.00", day(0)), book())
    m.advance(day(378.9), book())
    assert m.expired == 0
    m.advance(day(379), book())
    expired = last(m, "PointsExpired")
    assert (expired.points, expired.timestamp) == (100, day(379)) and m.available == 0


def test_only_the_unspent_rest_of_a_lot_expires() -> None:
    m = member()
    m.apply_fact(order("e1", "500.00", day(0)), book())
    m.redeem("q1", "ten-percent-off", day(20), book())
    m.advance(day(400), book())
    assert last(m, "PointsExpired").points == 100
    assert (m.expired, m.available, m.redeemed) == (100, 0, 400) and ledger_balances(m)


def test_a_fully_spent_lot_expires_nothing() -> None:
    m = member()
    m.apply_fact(order("e1", "400.00", day(0)), book())
    m.redeem("q1", "ten-percent-off", day(20), book())
    m.advance(day(800), book())
    assert m.expired == 0 and ledger_balances(m)


def test_expiring_within_30_days_shows_amount_and_soonest_date() -> None:
    m = member()
    m.apply_fact(registered("e1", day(0)), book())  # expires day 365
    m.apply_fact(review("e2", when=day(10)), book())  # expires day 375
    m.apply_fact(review("e3", "sku-2", day(100)), book())  # expires day 465
    view = m.view(day(350), book())
    assert view["expiring_30d"] == {"points": 150, "date": day(365)}


def test_expiry_follows_the_program_of_the_award_not_todays() -> None:
    v1 = program(version=1)
    v2 = replace(program(version=2, expiry_days=30), effective_from=day(5))
    m = member()
    m.apply_fact(order("e1", "100.00", day(0)), ProgramBook([v1, v2]))
    m.advance(day(100), ProgramBook([v1, v2]))
    assert m.expired == 0 and last(m, "PointsActivated").expires_at == day(379).isoformat()
