"""Outbound member events: ids depend only on what they announce."""

from __future__ import annotations

from datetime import datetime, timezone

import orjson

from engine.projections import member_events

AT = datetime(2025, 3, 1, 12, tzinfo=timezone.utc)


def test_ids_are_stable_and_payloads_name_the_member():
    first = member_events.tier_changed("ann", 7, AT, {"from_tier": "bronze", "to_tier": "silver",
                                                      "reason": "r", "qualifying_points": 1000})
    again = member_events.tier_changed("ann", 7, AT, {"from_tier": "bronze", "to_tier": "silver",
                                                      "reason": "r", "qualifying_points": 1000})
    assert first == again
    event_id, topic, key, payload = first
    assert (event_id, topic, key) == ("tier-changed:ann:7", "loyalty.member-events", "ann")
    body = orjson.loads(payload)
    assert body["type"] == "member.tier_changed" and body["data"]["to_tier"] == "silver"


def test_an_expiry_notice_is_dated_n_days_before_the_expiry():
    event_id, _, _, payload = member_events.points_expiring(
        "ann", "o-1:spend", 120, "2026-01-31T10:00:00+00:00", days=30)
    assert event_id == "points-expiring:ann:o-1:spend"
    body = orjson.loads(payload)
    assert body["occurred_at"] == "2026-01-01T10:00:00.000000+00:00"
    assert body["data"]["points"] == 120


def test_redemption_and_at_risk_ids():
    redeemed = member_events.reward_redeemed("ann", AT, {"request_id": "r-1", "reward": "x",
                                                         "points": 250, "coupon": "C"})
    risk = member_events.at_risk("ann", "2025-04-01T00:00:00.000000+00:00", None, 14, 3)
    assert redeemed[0] == "reward-redeemed:ann:r-1"
    assert risk[0] == "at-risk:ann:2025-04-01T00:00:00.000000+00:00"
