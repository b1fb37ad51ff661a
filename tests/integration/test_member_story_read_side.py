"""One member's story, read back at several times, and the member events it announces: once
each, whatever Kafka redelivers and however often the read models are replayed."""

from __future__ import annotations

from datetime import datetime

import orjson

from engine.backoffice import redeem
from engine.projections.member_view import balance_as_of, balance_view
from engine.projections.registry import catch_up_all, replay
from engine.service import Incoming, Ledger
from engine.store import LoyaltyStore
from engine.store.outbox import mark_sent, pending
from tests.support.facts import order, registered

UTC = "+00:00"


def at(text: str) -> datetime:
    return datetime.fromisoformat(text + ("" if "+" in text else "T00:00:00" + UTC))


def story(store: LoyaltyStore) -> list[Incoming]:
    """Ann joins on 1 Jan (100 welcome points), orders for 250 on 10 Jan (pending until 24 Jan)
    and for 900 on 1 Feb (1150 qualifying points: silver, +100 entry bonus), redeems 400 on
    1 Mar (soonest-expiring lots first: welcome 100, January order 250, bonus 50). Zed's
    orders move engine time on: to 1 Jul (Ann quiet since 1 Feb, 60-day window: at risk from
    1 Jun) and to 10 Jan 2026 (Ann's bonus lot expires 1 Feb 2026: within 30 days)."""
    messages = [
        registered("r-ann", "ann", at="2025-01-01T09:00:00+00:00"),
        order("o-ann-1", "ann", "250.00", at="2025-01-10T09:00:00+00:00"),
        order("o-ann-2", "ann", "900.00", at="2025-02-01T09:00:00+00:00"),
    ]
    batch = [Incoming("loyalty.orders", 0, i, m) for i, m in enumerate(messages)]
    Ledger(store).handle(batch)
    catch_up_all(store)
    redeem(store, "ann", "ten-percent-off", "req-1", at("2025-03-01T09:00:00+00:00"))
    catch_up_all(store)
    later = [order("o-zed-1", "zed", "20.00", at="2025-07-01T09:00:00+00:00"),
             order("o-zed-2", "zed", "20.00", at="2026-01-10T09:00:00+00:00")]
    more = [Incoming("loyalty.orders", 0, 3 + i, m) for i, m in enumerate(later)]
    for message in more:
        Ledger(store).handle([message])
        catch_up_all(store)
    return batch + more


def test_balance_as_of_several_points_of_the_story(store):
    story(store)
    assert balance_as_of(store, "ann", at("2024-12-31")) is None
    jan5 = balance_as_of(store, "ann", at("2025-01-05"))
    assert (jan5["available"], jan5["pending"], jan5["tier"]) == (100, 0, "bronze")
    assert (jan5["next_tier"], jan5["points_to_next_tier"]) == ("silver", 1000)
    jan20 = balance_as_of(store, "ann", at("2025-01-20"))
    assert (jan20["available"], jan20["pending"], jan20["qualifying_points"]) == (100, 250, 250)
    # the activation is stamped with its due time (24 Jan), though recorded on 1 Feb
    jan25 = balance_as_of(store, "ann", at("2025-01-25"))
    assert (jan25["available"], jan25["pending"]) == (350, 0)
    feb2 = balance_as_of(store, "ann", at("2025-02-02"))
    assert (feb2["available"], feb2["pending"], feb2["tier"]) == (450, 900, "silver")
    assert feb2["points_to_next_tier"] == 5000 - 1150
    mar2 = balance_as_of(store, "ann", at("2025-03-02"))
    assert (mar2["available"], mar2["pending"], mar2["redeemed"]) == (950, 0, 400)
    assert mar2["lifetime_earned"] - mar2["redeemed"] == mar2["available"] + mar2["pending"]
    # 5 Jan 2026: the bonus lot's 50 points left expire on 1 Feb 2026 (9:00 UTC)
    soon = balance_as_of(store, "ann", at("2026-01-05"))
    assert soon["expiring_30d"] == {"points": 50, "date": "2026-02-01T09:00:00.000000+00:00"}
    # at the latest time, history gives what the projection holds
    now = at("2026-01-10T09:00:00+00:00")
    assert balance_as_of(store, "ann", now) == balance_view(store, "ann")


def test_member_events_are_announced_once_each(store):
    messages = story(store)
    rows = store.sql.query("SELECT id, topic, msg_key, payload FROM outbox "
                           "WHERE topic = 'loyalty.member-events' ORDER BY id")
    ann = sorted(r["id"] for r in rows if r["msg_key"] == "ann")
    assert ann == [
        "at-risk:ann:2025-06-01T09:00:00.000000+00:00",
        "points-expiring:ann:tier-entry:silver",
        "reward-redeemed:ann:req-1",
        f"tier-changed:ann:{_tier_version(store)}",
    ]
    bodies = {r["id"].split(":")[0]: orjson.loads(r["payload"]) for r in rows
              if r["msg_key"] == "ann"}
    assert bodies["points-expiring"]["data"]["points"] == 50
    assert bodies["tier-changed"]["data"]["to_tier"] == "silver"
    assert bodies["reward-redeemed"]["data"]["points"] == 400
    assert bodies["at-risk"]["data"]["last_order_at"].startswith("2025-02-01")
    mark_sent(store, [m.id for m in pending(store)])

    # Kafka redelivers everything to a fresh worker; the read models catch up again
    outcome = Ledger(store).handle(messages)
    assert outcome.applied == 0
    catch_up_all(store)
    # the read models are rebuilt from history, twice
    replay(store)
    replay(store, ["balances", "churn", "tiers"])
    after = store.sql.query("SELECT id, topic, msg_key, payload FROM outbox "
                            "WHERE topic = 'loyalty.member-events' ORDER BY id")
    assert after == rows
    assert pending(store) == []


def _tier_version(store: LoyaltyStore) -> int:
    ann = store.get_member("ann")
    stored = store.app.recorder.select_events(ann.id)
    return next(s.originator_version for s in stored if s.topic.endswith("TierChanged"))
