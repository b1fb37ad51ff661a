"""The balance view: the folded row plus what depends on the time it is judged at."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from engine.program.model import default_program
from engine.projections.balance_fold import empty_row
from engine.projections.member_view import compose_view
from engine.projections.support import ts

T0 = datetime(2025, 1, 1, tzinfo=timezone.utc)


def test_view_adds_expiring_points_and_the_next_tier_at_the_given_time():
    row = {**empty_row("ann"), "available": 300, "tier": "silver", "qualifying_points": 1200,
           "last_activity": T0.isoformat()}
    lots = [{"status": "active", "remaining": 120, "expires_at": ts(T0 + timedelta(days=40))},
            {"status": "active", "remaining": 180, "expires_at": ts(T0 + timedelta(days=90))}]
    early = compose_view(row, lots, T0, default_program())
    assert early["expiring_30d"] == {"points": 0, "date": None}
    assert (early["next_tier"], early["points_to_next_tier"]) == ("gold", 3800)
    later = compose_view(row, lots, T0 + timedelta(days=15), default_program())
    assert later["expiring_30d"] == {"points": 120, "date": ts(T0 + timedelta(days=40))}
    assert later["as_of"] == ts(T0 + timedelta(days=15))
    top = compose_view({**row, "tier": "platinum"}, lots, T0, default_program())
    assert (top["next_tier"], top["points_to_next_tier"]) == (None, None)
