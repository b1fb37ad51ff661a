"""Lots: what each award has left and when it expires; "expiring within 30 days"."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from engine.projections.lots_fold import expiring_within, fold_lots, lots_touched
from engine.projections.support import ts

T0 = datetime(2025, 1, 1, tzinfo=timezone.utc)


def day(n: float) -> datetime:
    return T0 + timedelta(days=n)


def earn(lots, lot_id, points, at, status="active"):
    expires = None if status == "pending" else (at + timedelta(days=365)).isoformat()
    fold_lots(lots, "PointsEarned", at, {"lot_id": lot_id, "points": points, "rule": "spend",
                                         "status": status, "expires_at": expires})


def test_a_lot_is_activated_spent_soonest_first_and_its_rest_expires():
    lots = {}
    earn(lots, "welcome", 100, day(0))
    earn(lots, "o1", 200, day(10), status="pending")
    assert lots["o1"]["expires_at"] is None
    fold_lots(lots, "PointsActivated", day(24), {"lot_id": "o1", "points": 200,
                                                  "expires_at": day(389).isoformat()})
    assert lots["o1"]["status"] == "active" and lots["o1"]["expires_at"] == ts(day(389))
    changed = fold_lots(lots, "PointsRedeemed", day(30),
                        {"points": 250, "lots": [["welcome", 100], ["o1", 150]]})
    assert changed == {"welcome", "o1"}
    assert (lots["welcome"]["remaining"], lots["o1"]["remaining"]) == (0, 50)
    fold_lots(lots, "PointsExpired", day(389), {"lot_id": "o1", "points": 50})
    assert (lots["o1"]["remaining"], lots["o1"]["expired"]) == (0, 50)


def test_a_refund_cancels_pending_points_and_takes_active_ones():
    lots = {}
    earn(lots, "o1", 100, day(0), status="pending")
    fold_lots(lots, "PointsReversed", day(2), {"lot_id": "o1", "pending": 100, "active": 0,
                                               "lots": []})
    assert (lots["o1"]["remaining"], lots["o1"]["status"]) == (0, "cancelled")
    earn(lots, "w", 100, day(0))
    earn(lots, "o2", 80, day(0))
    fold_lots(lots, "PointsReversed", day(20), {"lot_id": "o2", "pending": 0, "active": 30,
                                                "lots": [["w", 30]]})
    assert lots["w"]["remaining"] == 70 and lots["o2"]["remaining"] == 80
    assert lots_touched("PointsReversed", {"lot_id": "o2", "lots": [["w", 30]]}) == ["o2", "w"]


def test_expiring_within_30_days_counts_active_points_left_by_the_horizon():
    lots = {}
    earn(lots, "a", 100, day(0))  # expires day 365
    earn(lots, "b", 40, day(20))  # expires day 385
    earn(lots, "c", 70, day(60))  # expires day 425
    earn(lots, "p", 500, day(50), status="pending")  # no expiry yet
    fold_lots(lots, "PointsRedeemed", day(100), {"points": 60, "lots": [["a", 60]]})
    assert expiring_within(lots.values(), day(330)) == (0, None)
    assert expiring_within(lots.values(), day(335)) == (40, ts(day(365)))  # a's rest
    assert expiring_within(lots.values(), day(355)) == (80, ts(day(365)))  # a + b
    # past due but not yet swept still counts, as Member.view counts it
    assert expiring_within(lots.values(), day(370)) == (80, ts(day(365)))
