from __future__ import annotations

import pytest

from engine.aggregates.member import Member
from engine.errors import RedemptionRefused
from engine.program.model import Reward
from engine.rules.redemptions import coupon_code, resolve_reward
from tests.unit.rules.builders import (
    book, day, events, ledger_balances, member, order, program, registered, review,
)


def _rich_member() -> Member:
    m = member()
    m.apply_fact(order("e1", "300.00", day(0)), book())  # active day 14, expires day 379
    m.apply_fact(registered("e2", day(1)), book())  # 100, expires day 366
    m.apply_fact(review("e3", when=day(2)), book())  # 50, expires day 367
    m.advance(day(20), book())
    return m


def test_redemption_takes_the_soonest_expiring_lots_first() -> None:
    m = _rich_member()
    result = m.redeem("q1", "ten-percent-off", day(21), book())
    assert result.lots == [["welcome", 100], ["review:sku-1", 50], ["e1:spend", 250]]
    assert (m.available, m.redeemed) == (50, 400) and ledger_balances(m)


def test_redemption_returns_a_deterministic_coupon_code() -> None:
    first, second = _rich_member(), _rich_member()
    a = first.redeem("q1", "free-shipping", day(21), book())
    b = second.redeem("q1", "free-shipping", day(21), book())
    assert a.coupon == b.coupon and a.coupon.startswith("LOY-")
    assert coupon_code(first.id, "q2") != a.coupon != coupon_code(member("bob").id, "q1")


def test_same_request_id_returns_the_same_result_without_spending_twice() -> None:
    m = _rich_member()
    first = m.redeem("q1", "ten-percent-off", day(21), book())
    again = m.redeem("q1", "ten-percent-off", day(22), book())
    assert again == first and m.redeemed == 400 and len(events(m, "PointsRedeemed")) == 1


def test_short_balance_is_refused_with_the_available_amount() -> None:
    m = member()
    m.apply_fact(registered("e1"), book())
    with pytest.raises(RedemptionRefused, match="costs 400 points but only 100 are available"):
        m.redeem("q1", "ten-percent-off", day(1), book())
    assert m.available == 100 and not events(m, "PointsRedeemed")


def test_unknown_reward_is_refused_naming_the_catalog() -> None:
    m = _rich_member()
    with pytest.raises(RedemptionRefused, match="unknown reward 'gold-bar'.*free-shipping"):
        m.redeem("q1", "gold-bar", day(21), book())


def test_free_product_is_priced_by_the_price_rule() -> None:
    free = Reward("free-product", "free_product", 1000, sku_points={"mug": 300})
    rules = program(rewards={"free-product": free})
    assert resolve_reward("free-product:mug", rules)[1] == 300
    assert resolve_reward("free-product:lamp", rules)[1] == 1000
    with pytest.raises(RedemptionRefused, match="name the product"):
        resolve_reward("free-product", rules)


def test_a_request_id_reused_for_another_reward_is_refused() -> None:
    m = _rich_member()
    m.redeem("q1", "free-shipping", day(21), book())
    with pytest.raises(RedemptionRefused, match="already used"):
        m.redeem("q1", "ten-percent-off", day(21), book())


def test_redemption_never_spends_points_that_expired_by_then() -> None:
    m = member()
    m.apply_fact(registered("e1", day(0)), book())
    m.apply_fact(review("e2", when=day(200)), book())
    with pytest.raises(RedemptionRefused, match="only 50 are available"):
        m.redeem("q1", "free-shipping", day(370), book())
    assert m.expired == 100 and ledger_balances(m)
