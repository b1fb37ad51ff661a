"""Tier flows: members per tier at each month's end, upgrades and review downgrades."""

from __future__ import annotations

from datetime import datetime, timezone

from engine.projections.tier_fold import fold_flows, members_over_time


def at(month: int) -> datetime:
    return datetime(2025, month, 10, tzinfo=timezone.utc)


def test_members_per_tier_are_running_sums_of_entries_and_exits():
    flows = {}
    fold_flows(flows, "Enrolled", at(1), {"customer_id": "ann"})
    fold_flows(flows, "Enrolled", at(1), {"customer_id": "bob"})
    fold_flows(flows, "TierChanged", at(2), {"from_tier": "bronze", "to_tier": "gold",
                                             "source_event_id": "o-1"})
    fold_flows(flows, "Enrolled", at(3), {"customer_id": "cy"})
    fold_flows(flows, "TierChanged", at(3), {"from_tier": "gold", "to_tier": "silver",
                                             "source_event_id": None})
    rows = [{"month": m, "tier": t, "entered": c[0], "exited": c[1], "upgrades": c[2],
             "downgrades": c[3]} for (m, t), c in flows.items()]
    history = members_over_time(rows)
    assert [h["month"] for h in history] == ["2025-01", "2025-02", "2025-03"]
    assert history[0]["members"] == {"bronze": 2}
    assert history[1]["members"] == {"bronze": 1, "gold": 1} and history[1]["upgrades"] == 1
    assert history[2]["members"] == {"bronze": 2, "gold": 0, "silver": 1}
    assert (history[2]["upgrades"], history[2]["downgrades"]) == (0, 1)
