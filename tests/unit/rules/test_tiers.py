from __future__ import annotations

from engine.rules.tiers import deserved_tier, review_tier
from tests.unit.rules.builders import (
    book, day, events, last, ledger_balances, member, order, program, refund,
)


def test_reaching_silver_upgrades_at_once_with_the_entry_bonus() -> None:
    m = member()
    m.apply_fact(order("e1", "1000.00"), book())
    changed = last(m, "TierChanged")
    assert (changed.from_tier, changed.to_tier, changed.source_event_id) == ("bronze", "silver",
                                                                             "e1")
    assert m.tier == "silver" and last(m, "PointsEarned").points == 100
    assert m.available == 100 and m.pending == 1000 and ledger_balances(m)


def test_one_big_order_passing_three_tiers_pays_each_entry_bonus() -> None:
    m = member()
    m.apply_fact(order("e1", "15000.00"), book())
    bonuses = [e.points for e in events(m, "PointsEarned") if e.rule == "tier_entry"]
    assert m.tier == "platinum" and bonuses == [100, 250, 500]


def test_tier_multiplier_applies_to_later_orders_but_not_to_qualifying_points() -> None:
    m = member()
    m.apply_fact(order("e1", "1000.00", day(0)), book())
    m.apply_fact(order("e2", "100.00", day(1)), book())
    earned = last(m, "PointsEarned")
    assert (earned.points, earned.qualifying) == (125, 100) and m.qualifying == 1100


def test_qualifying_points_leave_the_window_after_365_days() -> None:
    m = member()
    m.apply_fact(order("e1", "600.00", day(0)), book())
    m.apply_fact(order("e2", "300.00", day(200)), book())
    m.advance(day(365), book())
    assert m.qualifying == 300 and last(m, "QualifyingPointsLapsed").points == 600


def test_yearly_review_downgrades_by_at_most_one_tier() -> None:
    m = member()
    m.apply_fact(order("e1", "5000.00", day(0)), book())
    assert m.tier == "gold"
    m.advance(day(364), book())
    assert m.tier == "gold"
    m.advance(day(365), book())
    changed = last(m, "TierChanged")
    assert (changed.from_tier, changed.to_tier, changed.timestamp) == ("gold", "silver", day(365))
    assert "yearly review" in changed.reason
    m.advance(day(730), book())
    assert m.tier == "bronze"


def test_yearly_review_keeps_the_tier_while_it_is_still_earned() -> None:
    m = member()
    m.apply_fact(order("e1", "5000.00", day(0)), book())
    m.apply_fact(order("e2", "4000.00", day(300)), book())
    m.apply_fact(order("e3", "1000.00", day(301)), book())
    m.advance(day(366), book())
    reviewed = last(m, "TierReviewed")
    assert m.tier == "gold" and reviewed.qualifying_points == 5000
    assert reviewed.next_review_at == day(730).isoformat()


def test_a_refund_lowers_qualifying_points_but_the_tier_waits_for_the_review() -> None:
    m = member()
    m.apply_fact(order("e1", "1000.00", order_id="o-1"), book())
    m.apply_fact(refund("e2", "o-1", "1000.00", day(1)), book())
    assert (m.tier, m.qualifying) == ("silver", 0)
    m.advance(day(365), book())
    assert m.tier == "bronze"


def test_entry_bonus_is_paid_only_the_first_time_a_tier_is_reached() -> None:
    m = member()
    m.apply_fact(order("e1", "1000.00", day(0)), book())
    m.advance(day(365), book())
    assert m.tier == "bronze"
    m.apply_fact(order("e2", "1000.00", day(400)), book())
    assert m.tier == "silver"
    assert len([e for e in events(m, "PointsEarned") if e.rule == "tier_entry"]) == 1


def test_view_shows_tier_qualifying_points_and_points_to_the_next_tier() -> None:
    m = member()
    m.apply_fact(order("e1", "1200.00"), book())
    view = m.view(day(1), book())
    assert (view["tier"], view["qualifying_points"]) == ("silver", 1200)
    assert (view["next_tier"], view["points_to_next_tier"]) == ("gold", 3800)


def test_top_tier_has_no_next_tier() -> None:
    m = member()
    m.apply_fact(order("e1", "20000.00"), book())
    assert m.view(day(1), book())["next_tier"] is None


def test_deserved_tier_and_review_are_pure_functions_of_qualifying_points() -> None:
    rules = program()
    assert deserved_tier(4999, rules).name == "silver"
    assert review_tier("platinum", 0, rules).name == "gold"
    assert review_tier("gold", 6000, rules).name == "gold"
    assert review_tier("platinum", 0, program(tier_max_downgrade=3)).name == "bronze"
