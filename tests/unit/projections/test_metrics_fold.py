"""Program metrics on hand-computed cases (README "Program metrics")."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timezone
from decimal import Decimal

from engine.program.model import Reward, default_program
from engine.projections.metrics_fold import (
    MONTH_COUNTERS,
    figures,
    fold_metrics,
    liability_delta,
    point_value,
)

JAN = datetime(2025, 1, 15, tzinfo=timezone.utc)
FEB = datetime(2025, 2, 3, tzinfo=timezone.utc)


def fold(events):
    months, members = {}, {}
    for member, kind, at, fields in events:
        fold_metrics(months, members, member, kind, at, fields)
    return months, members


def test_counters_add_up_per_month_and_member():
    months, members = fold([
        ("a", "Enrolled", JAN, {"customer_id": "ann"}),
        ("a", "OrderPlaced", JAN, {"total": "120.50"}),
        ("a", "PointsEarned", JAN, {"points": 120, "rule": "spend"}),
        ("a", "OrderPlaced", FEB, {"total": "79.50"}),
        ("a", "OrderRefunded", FEB, {"amount": "10.25"}),
        ("a", "PointsReversed", FEB, {"pending": 8, "active": 2}),
        ("b", "PointsEarned", FEB, {"points": 50, "rule": "review"}),
        ("b", "FactRecorded", FEB, {"fact_type": "share.posted"}),
        ("b", "PointsRedeemed", FEB, {"points": 250}),
        ("b", "PointsExpired", FEB, {"points": 7}),
    ])
    assert months["2025-01"]["orders"] == 1 and months["2025-01"]["enrolled"] == 1
    assert months["2025-01"]["revenue_minor"] == 1_205_000
    feb = months["2025-02"]
    assert (feb["orders"], feb["revenue_minor"], feb["refunded_minor"]) == (1, 795_000, 102_500)
    assert (feb["points_issued"], feb["points_reversed"], feb["points_redeemed"],
            feb["points_expired"], feb["redemptions"]) == (50, 10, 250, 7, 1)
    assert (feb["reviews"], feb["shares"]) == (1, 1)
    assert members[("2025-01", "a")]["orders"] == 1
    assert members[("2025-02", "b")] == {"orders": 0, "reviews": 1, "shares": 1, "activity": 2}
    # a redemption or an expiry is not storefront activity
    assert ("2025-02", "b") in members and members[("2025-02", "a")]["activity"] == 2


def test_survey_scores_split_into_promoters_passives_and_detractors():
    months, _ = fold([("a", "SurveyAnswered", JAN, {"score": s}) for s in (10, 9, 8, 7, 6, 0)])
    jan = months["2025-01"]
    assert (jan["promoters"], jan["passives"], jan["detractors"]) == (2, 2, 2)


def totals(**values: int) -> dict[str, int]:
    return {**dict.fromkeys(MONTH_COUNTERS, 0), **values}


def test_figures_of_a_hand_computed_period():
    # 4 orders for 1000.00 by 3 buyers, one of them returning; 2000 points issued, 500
    # redeemed; surveys 10, 10, 7, 3: NPS (2 - 1) / 4 x 100 = 25; 5 active members posted 3
    # reviews and 2 shares.
    got = figures(
        totals(orders=4, revenue_minor=10_000_000, points_issued=2000, points_redeemed=500,
               points_reversed=100, points_expired=50, promoters=2, passives=1, detractors=1,
               reviews=3, shares=2, enrolled=2),
        buyers=3, returning=1, active=5, liability_points=1350,
        value_per_point=Decimal("0.01"))
    assert got["average_order_value"] == "250.00"
    assert got["purchase_frequency"] == 1.3333
    assert got["repeat_purchase_rate"] == 0.3333
    assert got["redemption_rate"] == 0.25
    assert got["nps"] == 25.0
    assert got["reviews_per_active_member"] == 0.6 and got["shares_per_active_member"] == 0.4
    assert (got["liability_points"], got["liability_money"]) == (1350, "13.50")
    assert got["new_members"] == 2


def test_figures_without_denominators_are_null_not_zero():
    got = figures(totals(), buyers=0, returning=0, active=0, liability_points=0,
                  value_per_point=None)
    assert got["average_order_value"] is None and got["purchase_frequency"] is None
    assert got["nps"] is None and got["redemption_rate"] is None
    assert got["liability_money"] is None


def test_nps_ranges_from_minus_100_to_100():
    assert figures(totals(detractors=3), buyers=0, returning=0, active=0, liability_points=0,
                   value_per_point=None)["nps"] == -100.0
    assert figures(totals(promoters=1), buyers=0, returning=0, active=0, liability_points=0,
                   value_per_point=None)["nps"] == 100.0


def test_liability_delta_is_issued_less_everything_that_left():
    assert liability_delta(totals(points_issued=1000, points_redeemed=300, points_reversed=50,
                                  points_expired=25)) == 625


def test_point_value_is_the_cheapest_fixed_money_reward_per_point():
    assert point_value(default_program()) == Decimal("0.01")  # five-off: 5 / 500
    richer = dict(default_program().rewards)
    richer["ten-off"] = Reward("ten-off", "amount_off", 800, Decimal(10))  # 0.0125
    richer["two-off"] = Reward("two-off", "amount_off", 400, Decimal(2))  # 0.005
    assert point_value(replace(default_program(), rewards=richer)) == Decimal("0.005")
    percent_only = {"ten-percent-off": default_program().rewards["ten-percent-off"]}
    assert point_value(replace(default_program(), rewards=percent_only)) is None
