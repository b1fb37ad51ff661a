from __future__ import annotations

from tests.unit.rules.builders import book, events, last, member, review


def test_verified_review_earns_50_active_points() -> None:
    m = member()
    m.apply_fact(review("e1", "sku-1"), book())
    earned = last(m, "PointsEarned")
    assert (earned.points, earned.rule, earned.status) == (50, "review", "active")


def test_second_review_of_same_product_earns_nothing_and_says_why() -> None:
    m = member()
    m.apply_fact(review("e1", "sku-1"), book())
    m.apply_fact(review("e2", "sku-1"), book())
    assert m.available == 50
    assert "already reviewed" in last(m, "FactRecorded").outcome
    assert last(m, "FactRecorded").source_event_id == "e2"


def test_unverified_review_earns_nothing_and_says_why() -> None:
    m = member()
    m.apply_fact(review("e1", verified=False), book())
    assert m.available == 0
    assert "not from a verified purchase" in last(m, "FactRecorded").outcome


def test_reviews_of_different_products_each_earn() -> None:
    m = member()
    m.apply_fact(review("e1", "sku-1"), book())
    m.apply_fact(review("e2", "sku-2"), book())
    assert m.available == 100


def test_unverified_then_verified_review_of_the_same_product_earns_once() -> None:
    m = member()
    m.apply_fact(review("e1", "sku-1", verified=False), book())
    m.apply_fact(review("e2", "sku-1"), book())
    m.apply_fact(review("e3", "sku-1"), book())
    assert m.available == 50 and len(events(m, "FactRecorded")) == 2


def test_a_program_may_let_every_review_earn() -> None:
    m = member()
    rules = book(review_once_per_product=False, review_verified_only=False)
    m.apply_fact(review("e1", "sku-1", verified=False), rules)
    m.apply_fact(review("e2", "sku-1"), rules)
    assert m.available == 100
