"""RFM grades on hand-computed cases (README "Churn risk"): default program, windows grocery 14
days, perfume 180, default 60; tier thresholds silver 1000, gold 5000."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from engine.program.model import default_program
from engine.projections.churn_fold import expected_gap, fold_stats, frequency_score, grade, spell
from engine.projections.support import ts

T0 = datetime(2025, 1, 1, tzinfo=timezone.utc)
PROGRAM = default_program()


def day(n: float) -> datetime:
    return T0 + timedelta(days=n)


def member(orders: list[tuple[float, list[str]]] = (), qualifying: int = 0,
           total: str = "100.00") -> dict[str, Any]:
    stats, _ = fold_stats(None, "Enrolled", T0, {"customer_id": "ann"}, PROGRAM)
    for at, categories in orders:
        stats, _ = fold_stats(stats, "OrderPlaced", day(at),
                              {"total": total, "categories": categories}, PROGRAM)
    if qualifying:
        stats, _ = fold_stats(stats, "PointsEarned", day(0), {"qualifying": qualifying},
                              PROGRAM)
    return stats


def test_perfume_buyer_quiet_for_two_months_is_not_at_risk():
    stats = member([(0, ["perfume"])])
    scored = grade(stats, day(60))  # r = 60 / 180 = 0.33
    assert stats["gap_days"] == 180
    assert scored["r_score"] == 3 and scored["grade"] != "at_risk"


def test_grocery_buyer_quiet_for_a_month_is_at_risk():
    stats = member([(0, ["grocery"])])
    scored = grade(stats, day(30))  # r = 30 / 14 = 2.14 > 2
    assert scored["r_score"] == 1 and scored["grade"] == "at_risk"
    assert scored["regrade_at"] is None  # only a new order changes it


@pytest.mark.parametrize("quiet_days, r_score", [(14, 3), (14.001, 2), (28, 2), (28.001, 1)])
def test_recency_score_changes_exactly_at_one_and_two_expected_gaps(quiet_days, r_score):
    stats = member([(0, ["grocery"])])
    assert grade(stats, day(quiet_days))["r_score"] == r_score


def test_regrade_time_is_the_next_recency_boundary():
    stats = member([(10, ["grocery"])])
    assert grade(stats, day(11))["regrade_at"] == ts(day(24))
    assert grade(stats, day(30))["regrade_at"] == ts(day(38))
    assert grade(stats, day(30))["at_risk_from"] == ts(day(38))


@pytest.mark.parametrize("counts, gap", [
    ({"grocery": 3, "perfume": 1}, 14),  # grocery dominates
    ({"grocery": 1, "perfume": 2}, 180),  # perfume dominates
    ({"grocery": 1, "perfume": 1}, 14),  # a tie goes to the shorter window
    ({"fashion": 2}, 60),  # no window of its own: the default
    ({}, 60),
])
def test_expected_gap_is_the_window_of_the_dominant_category(counts, gap):
    assert expected_gap(counts, PROGRAM) == gap


@pytest.mark.parametrize("orders, span_days, gap, f_score", [
    (1, 0, 14, 1),  # one order: no repeat yet
    (2, 7, 14, 2),  # f = 1 / max(1, 0.5) = 1.0, but F=3 needs 3 orders
    (3, 28, 14, 3),  # f = 2 / 2 = 1.0
    (4, 56, 14, 3),  # f = 3 / 4 = 0.75: exactly the F=3 bound
    (4, 57, 14, 2),  # f = 3 / 4.07 = 0.737
    (3, 80, 14, 2),  # f = 2 / 5.71 = 0.35
    (3, 81, 14, 1),  # f = 2 / 5.79 = 0.346
    (3, 360, 180, 3),  # perfume twice a year: f = 2 / 2 = 1.0
])
def test_frequency_is_regularity_against_the_expected_gap(orders, span_days, gap, f_score):
    first, last = ts(T0), ts(day(span_days))
    assert frequency_score(orders, first, last, gap) == f_score


@pytest.mark.parametrize("qualifying, m_score", [(0, 1), (999, 1), (1000, 2), (4999, 2),
                                                  (5000, 3), (20000, 3)])
def test_monetary_score_follows_the_second_and_third_tier_thresholds(qualifying, m_score):
    assert member(qualifying=qualifying)["m_score"] == m_score


def test_champion_buys_on_schedule_regularly_and_spends_at_gold():
    stats = member([(0, ["grocery"]), (14, ["grocery"]), (28, ["grocery"])], qualifying=5000)
    scored = grade(stats, day(30))  # R: 2/14 <= 1 -> 3; F: 2/2 = 1 -> 3; M: 5000 -> 3
    assert (scored["r_score"], scored["f_score"], scored["m_score"]) == (3, 3, 3)
    assert scored["grade"] == "champion"


def test_same_habits_at_silver_spend_are_loyal():
    stats = member([(0, ["grocery"]), (14, ["grocery"]), (28, ["grocery"])], qualifying=1000)
    assert grade(stats, day(30))["grade"] == "loyal"  # 3/3/2: F+M = 5


def test_a_champion_past_its_expected_gap_is_loyal_until_it_is_at_risk():
    stats = member([(0, ["grocery"]), (14, ["grocery"]), (28, ["grocery"])], qualifying=5000)
    assert grade(stats, day(43))["grade"] == "loyal"  # R=2 (15/14), F+M = 6
    assert grade(stats, day(57))["grade"] == "at_risk"  # 29/14 > 2


def test_one_order_at_bronze_spend_is_regular():
    stats = member([(0, ["grocery"])], qualifying=200)
    scored = grade(stats, day(1))
    assert (scored["f_score"], scored["m_score"], scored["grade"]) == (1, 1, "regular")


def test_two_regular_orders_at_silver_spend_are_loyal_even_when_late():
    stats = member([(0, ["fashion"]), (50, ["fashion"])], qualifying=1500)
    scored = grade(stats, day(130))  # r = 80/60 = 1.33 -> R=2; F=2 (f=1); M=2
    assert (scored["r_score"], scored["f_score"], scored["m_score"]) == (2, 2, 2)
    assert scored["grade"] == "loyal"


def test_a_member_who_never_ordered_is_judged_from_enrolment_by_the_default_window():
    stats = member()
    assert grade(stats, day(120))["grade"] == "regular"  # 120 / 60 = 2
    assert grade(stats, day(121))["grade"] == "at_risk"


def test_an_order_after_at_risk_from_ends_the_spell_and_names_it():
    stats = member([(0, ["grocery"])])
    before = spell(stats)
    _, ended = fold_stats(stats, "OrderPlaced", day(40), {"total": "5", "categories": ["grocery"]},
                          PROGRAM)
    assert ended == before and ended["at_risk_from"] == ts(day(28))
    _, again = fold_stats(stats, "OrderPlaced", day(41), {"total": "5", "categories": []},
                          PROGRAM)
    assert again is None


def test_refunds_lower_the_spend_and_lapsed_points_the_monetary_score():
    stats = member([(0, ["grocery"])], qualifying=1200, total="300.00")
    fold_stats(stats, "OrderRefunded", day(1), {"amount": "120.50"}, PROGRAM)
    assert stats["spend_minor"] == 1_795_000  # 179.50 in 1/10000 units
    fold_stats(stats, "QualifyingPointsLapsed", day(365), {"points": 300}, PROGRAM)
    assert (stats["qualifying"], stats["m_score"]) == (900, 1)
