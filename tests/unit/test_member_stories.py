"""Worked examples: whole member stories, with the books checked after every step."""

from __future__ import annotations

from typing import Any

from engine.aggregates.member import Member
from tests.unit.rules.builders import (
    book, day, events, last, ledger_balances, member, order, refund, referral, registered,
)
from tests.unit.rules.test_referrals import deliver

RULES = book()


def books(m: Member) -> dict[str, Any]:
    """The member's ledger; fails the story at once if the books do not balance."""
    assert ledger_balances(m), vars(m)
    assert m.lifetime_earned - m.redeemed - m.reversed - m.expired == m.available + m.pending
    return {"earned": m.lifetime_earned, "redeemed": m.redeemed, "reversed": m.reversed,
            "expired": m.expired, "available": m.available, "pending": m.pending}


def test_a_year_of_monthly_orders() -> None:
    ann = member()
    ann.apply_fact(registered("reg", newsletter=True), RULES)
    assert books(ann) == {"earned": 125, "redeemed": 0, "reversed": 0, "expired": 0,
                          "available": 125, "pending": 0}
    for month in range(12):
        when = day(10 + 30 * month)
        ann.apply_fact(order(f"o{month}", "150.00", when, shipping="15.00"), RULES)
        expected_each = 135 if month <= 7 else 168  # silver (x1.25) after the 8th order
        spend = [e for e in events(ann, "PointsEarned") if e.rule == "spend"][-1]
        assert (spend.points, spend.source_event_id) == (expected_each, f"o{month}")
        assert books(ann)["pending"] == expected_each  # the previous order is active by now
        if month == 7:
            assert ann.tier == "silver" and last(ann, "PointsEarned").rule == "tier_entry"
    ann.advance(day(365), RULES)
    assert books(ann) == {"earned": 1977, "redeemed": 0, "reversed": 0, "expired": 125,
                          "available": 1852, "pending": 0}
    assert ann.qualifying == 12 * 135 and ann.tier == "silver"


def test_a_refund_after_activation() -> None:
    ann = member()
    ann.apply_fact(order("o1", "300.00", day(0), order_id="A-1"), RULES)
    assert books(ann)["pending"] == 300
    ann.advance(day(14), RULES)
    assert books(ann) == {"earned": 300, "redeemed": 0, "reversed": 0, "expired": 0,
                          "available": 300, "pending": 0}
    ann.apply_fact(refund("r1", "A-1", "100.00", day(20)), RULES)
    assert books(ann) == {"earned": 300, "redeemed": 0, "reversed": 100, "expired": 0,
                          "available": 200, "pending": 0}
    assert ann.qualifying == 200 and last(ann, "PointsReversed").lots == [["o1:spend", 100]]


def test_a_redemption() -> None:
    ann = member()
    ann.apply_fact(registered("reg", day(0)), RULES)
    ann.apply_fact(order("o1", "500.00", day(1)), RULES)
    assert books(ann) == {"earned": 600, "redeemed": 0, "reversed": 0, "expired": 0,
                          "available": 100, "pending": 500}
    result = ann.redeem("req-1", "ten-percent-off", day(16), RULES)
    assert (result.points, result.lots) == (400, [["welcome", 100], ["o1:spend", 300]])
    assert books(ann) == {"earned": 600, "redeemed": 400, "reversed": 0, "expired": 0,
                          "available": 200, "pending": 0}
    assert ann.redeem("req-1", "ten-percent-off", day(17), RULES).coupon == result.coupon
    assert books(ann)["redeemed"] == 400


def test_expiry_of_a_partly_spent_lot() -> None:
    ann = member()
    ann.apply_fact(order("o1", "500.00", day(0)), RULES)
    ann.redeem("req-1", "ten-percent-off", day(20), RULES)
    assert books(ann) == {"earned": 500, "redeemed": 400, "reversed": 0, "expired": 0,
                          "available": 100, "pending": 0}
    assert ann.view(day(350), RULES)["expiring_30d"] == {"points": 100, "date": day(379)}
    ann.advance(day(379), RULES)
    assert books(ann) == {"earned": 500, "redeemed": 400, "reversed": 0, "expired": 100,
                          "available": 0, "pending": 0}


def test_a_referral_chain() -> None:
    members = {name: member(name) for name in ("carl", "bob", "ann")}
    carl, bob, ann = members["carl"], members["bob"], members["ann"]
    bob.apply_fact(referral("b1", "carl", day(0), customer="bob"), RULES)
    ann.apply_fact(referral("a1", "bob", day(1)), RULES)
    ann.apply_fact(order("a2", "100.00", day(2)), RULES)
    bob.apply_fact(order("b2", "200.00", day(3), customer="bob"), RULES)
    deliver(ann.advance(day(16), RULES), members, RULES)
    assert (books(ann)["available"], books(bob)["available"], books(carl)["available"]) == (
        600, 500, 0)
    deliver(bob.advance(day(17), RULES), members, RULES)
    assert (books(ann)["available"], books(bob)["available"], books(carl)["available"]) == (
        600, 1200, 500)
    assert sorted(carl.referred_friends) == ["bob"] and sorted(bob.referred_friends) == ["ann"]


def test_a_tier_up_and_a_yearly_downgrade() -> None:
    ann = member()
    ann.apply_fact(order("o1", "5000.00", day(0)), RULES)
    assert ann.tier == "gold" and books(ann)["available"] == 350  # silver + gold bonuses
    ann.apply_fact(order("o2", "10000.00", day(100)), RULES)
    assert last(ann, "PointsEarned").rule == "tier_entry" and ann.tier == "platinum"
    assert books(ann) == {"earned": 5000 + 350 + 15000 + 500, "redeemed": 0, "reversed": 0,
                          "expired": 0, "available": 350 + 5000 + 500, "pending": 15000}
    ann.advance(day(464), RULES)
    assert ann.tier == "platinum" and ann.qualifying == 10000
    ann.advance(day(465), RULES)  # the 10000 lapse, then the review: down one tier only
    assert (ann.tier, ann.qualifying) == ("gold", 0)
    ann.advance(day(830), RULES)
    assert ann.tier == "silver"
    ann.advance(day(1195), RULES)
    assert ann.tier == "bronze" and books(ann)["expired"] == 20850
