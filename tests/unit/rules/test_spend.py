from __future__ import annotations

from decimal import Decimal

import pytest

from engine.errors import RejectedFact
from engine.rules.spend import spend_award, spend_points
from tests.unit.rules.builders import (
    book, day, events, last, ledger_balances, member, order, program,
)


def test_order_earns_one_point_per_whole_unit_of_total_minus_shipping() -> None:
    data = order("e1", "120.99", shipping="20.00").data
    assert spend_points(data, program()) == 100


def test_order_points_are_rounded_down() -> None:
    assert spend_points(order("e1", "99.99").data, program()) == 99


def test_points_per_unit_multiplies_whole_units() -> None:
    assert spend_points(order("e1", "10.50").data, program(points_per_unit=3)) == 30


def test_category_multiplier_weights_each_line_by_its_value() -> None:
    lines = [{"sku": "p", "category": "perfume", "quantity": 1, "unit_price": "50.00"},
             {"sku": "f", "category": "fashion", "quantity": 2, "unit_price": "25.00"}]
    data = order("e1", "100.00", lines=lines).data
    rules = program(category_multipliers={"perfume": Decimal("2")})
    assert spend_award(data, rules, Decimal(1)).points == 150


def test_tier_multiplier_raises_points_but_not_qualifying_points() -> None:
    award = spend_award(order("e1", "200.00").data, program(), Decimal("1.5"))
    assert (award.points, award.qualifying) == (300, 200)


def test_order_below_minimum_order_value_earns_nothing_and_says_why() -> None:
    m = member()
    m.apply_fact(order("e1", "49.00"), book(minimum_order_value=Decimal("50")))
    assert m.lifetime_earned == 0
    assert "minimum order value 50" in last(m, "FactRecorded").outcome
    assert last(m, "OrderPlaced").order_id == "o-e1"


def test_order_with_shipping_above_total_earns_nothing() -> None:
    m = member()
    m.apply_fact(order("e1", "10.00", shipping="15.00"), book())
    assert m.lifetime_earned == 0 and events(m, "FactRecorded")


def test_order_in_another_currency_is_rejected_before_anything_changes() -> None:
    m = member()
    with pytest.raises(RejectedFact, match="USD.*SAR"):
        m.apply_fact(order("e1", "100.00", day(30), currency="USD"), book())
    assert [type(e).__name__ for e in m.pending_events] == ["Enrolled"]


def test_an_implausible_order_total_is_rejected_before_anything_changes() -> None:
    m = member()
    with pytest.raises(RejectedFact, match="above the maximum order value 1000000"):
        m.apply_fact(order("e1", "999999999999.00", day(30)), book())
    assert [type(e).__name__ for e in m.pending_events] == ["Enrolled"]
    m.apply_fact(order("e2", "1000000.00", day(30)), book())  # the limit itself is taken
    assert "e2:spend" in m.lots and "e1:spend" not in m.lots


def test_same_order_placed_again_under_a_new_event_id_is_rejected() -> None:
    m = member()
    m.apply_fact(order("e1", "100.00", order_id="o-1"), book())
    with pytest.raises(RejectedFact, match="already placed"):
        m.apply_fact(order("e2", "100.00", order_id="o-1"), book())
    assert m.lifetime_earned == 100


def test_order_fact_applied_twice_awards_once() -> None:
    m = member()
    fact = order("e1", "100.00")
    m.apply_fact(fact, book())
    count = len(m.pending_events)
    m.apply_fact(fact, book())
    assert len(m.pending_events) == count and m.pending == 100


def test_malformed_money_is_rejected_with_a_reason() -> None:
    m = member()
    with pytest.raises(RejectedFact, match="total"):
        m.apply_fact(order("e1", "ten"), book())


def test_award_names_rule_program_version_and_source_event() -> None:
    m = member()
    m.apply_fact(order("e1", "100.00"), book(version=7))
    earned = last(m, "PointsEarned")
    assert (earned.rule, earned.program_version, earned.source_event_id) == ("spend", 7, "e1")
    assert ledger_balances(m)


def test_order_uses_the_program_in_force_when_it_occurred() -> None:
    from dataclasses import replace

    from engine.program.model import ProgramBook

    v1 = program(version=1)
    v2 = replace(program(version=2, points_per_unit=2), effective_from=day(10))
    m = member()
    m.apply_fact(order("e1", "100.00", day(5)), ProgramBook([v1, v2]))
    m.apply_fact(order("e2", "100.00", day(11)), ProgramBook([v1, v2]))
    assert [e.points for e in events(m, "PointsEarned")] == [100, 200]
    assert [e.program_version for e in events(m, "PointsEarned")] == [1, 2]


def test_a_fact_about_another_customer_is_rejected() -> None:
    m = member()
    with pytest.raises(RejectedFact, match="not member ann"):
        m.apply_fact(order("e1", "100.00", customer="bob"), book())
