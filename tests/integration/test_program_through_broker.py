"""Member stories of the whole program through the real broker, worker and store: a referral
whose reward crosses partitions as a command, a refund after activation, a review twice, a
share burst, a foreign-currency order dead-lettered, and a new program version picked up."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

import pytest

from engine.aggregates.member import member_id
from engine.config import Settings
from engine.projections.balances import read_balance
from engine.publish import publish_lines
from engine.store import open_store
from engine.store.dead_letters import list_dead_letters
from engine.store.programs import publish_program
from engine.program.model import default_text
from engine.streams.worker import run_worker
from tests.support.facts import message, order, registered


def review(event_id: str, customer: str, sku: str, at: str) -> bytes:
    return message(event_id, "review.posted", customer, at, {
        "review_id": f"rv-{event_id}", "sku": sku, "rating": 5, "verified_purchase": True})


def share(event_id: str, customer: str, at: str) -> bytes:
    return message(event_id, "share.posted", customer, at, {
        "channel": "instagram", "url": f"https://example.com/{event_id}"})


def referral(event_id: str, friend: str, referrer: str, at: str) -> bytes:
    return message(event_id, "referral.created", friend, at, {
        "referrer_id": referrer, "code": f"REF-{referrer}"})


def refund(event_id: str, customer: str, order_id: str, amount: str, at: str) -> bytes:
    return message(event_id, "order.refunded", customer, at, {"order_id": order_id,
                                                               "amount": amount})


STORY = [
    registered("r-ref", "rita", at="2025-01-01T09:00:00+03:00"),
    order("o-rita", "rita", "200.00", at="2025-01-02T09:00:00+03:00", order_id="ord-rita"),
    registered("r-fr", "fred", at="2025-01-05T09:00:00+03:00"),
    referral("ref-fr", "fred", "rita", at="2025-01-05T09:01:00+03:00"),
    order("o-fred", "fred", "300.00", at="2025-01-06T09:00:00+03:00", order_id="ord-fred"),
    review("rv-1", "fred", "sku-1", at="2025-01-07T09:00:00+03:00"),
    review("rv-2", "fred", "sku-1", at="2025-01-08T09:00:00+03:00"),  # same product: nothing
    *[share(f"sh-{i}", "fred", at=f"2025-01-0{i + 1}T10:00:00+03:00") for i in range(5)],
    order("o-usd", "fred", "50.00", currency="USD", at="2025-01-09T09:00:00+03:00"),
    # time moves on: fred's first order becomes active on the 20th -> both are rewarded;
    # rita's order is active since the 16th and is half refunded afterwards
    order("o-late", "fred", "10.00", at="2025-02-01T09:00:00+03:00", order_id="ord-late"),
    refund("rf-rita", "rita", "ord-rita", "100.00", at="2025-02-02T09:00:00+03:00"),
    order("o-rita2", "rita", "10.00", at="2025-02-03T09:00:00+03:00", order_id="ord-rita2"),
]


@pytest.fixture(params=["sqlite", "postgres"])
def settings(request: pytest.FixtureRequest, fresh_broker, tmp_path: Path) -> Settings:
    url = str(tmp_path / "l.sqlite") if request.param == "sqlite" else request.getfixturevalue(
        "pg_url")
    return Settings(broker=fresh_broker.bootstrap, store_url=url, data_dir=tmp_path,
                    group_id="story")


def run(settings: Settings, lines: list[bytes]) -> None:
    report = asyncio.run(publish_lines(settings.broker, lines))
    assert not report.refused, report.refused
    asyncio.run(run_worker(settings, until_idle=3))


def test_program_stories_through_broker_and_store(settings):
    run(settings, STORY)
    store = open_store(settings)
    try:
        rita, fred = read_balance(store, "rita"), read_balance(store, "fred")
        rita_member, fred_member = store.get_member("rita"), store.get_member("fred")
        dead = list_dead_letters(store)
    finally:
        store.close()
    rewards = [e for e in fred_member.collect_events()]  # nothing pending after load
    assert rewards == []
    # rita: welcome 100 + 200 spend - 100 (half of the order refunded) + 500 referral + 10
    assert rita["lifetime_earned"] == 100 + 200 + 500 + 10
    assert rita["reversed"] == 100
    # fred: welcome 100 + 300 + review 50 (once) + 3 shares x 10 (cap) + 500 referral + 10
    assert fred["lifetime_earned"] == 100 + 300 + 50 + 30 + 500 + 10
    for row in (rita, fred):
        assert (row["lifetime_earned"] - row["redeemed"] - row["reversed"] - row["expired"]
                == row["available"] + row["pending"])
    assert [d["event_id"] for d in dead] == ["o-usd"]
    assert "USD" in dead[0]["reason"]
    assert "rv-2" in fred_member.seen and "sh-4" in fred_member.seen
    assert rita_member.tier == "bronze" and fred_member.tier == "bronze"


def test_a_new_program_version_applies_to_facts_after_it_takes_effect(settings):
    store = open_store(settings)
    try:
        doubled = default_text().replace("points_per_unit = 1", "points_per_unit = 2", 1)
        publish_program(store, doubled, datetime(2025, 6, 1, tzinfo=timezone.utc),
                        datetime(2025, 5, 1, tzinfo=timezone.utc))
    finally:
        store.close()
    run(settings, [
        order("o-may", "gail", "100.00", at="2025-05-20T09:00:00+03:00"),
        order("o-jun", "gail", "100.00", at="2025-06-20T09:00:00+03:00"),
    ])
    store = open_store(settings)
    try:
        history = list(store.app.events.get(member_id("gail")))
    finally:
        store.close()
    spend = {e.source_event_id: (e.points, e.program_version) for e in history
             if type(e).__name__ == "PointsEarned" and e.rule == "spend"}
    assert spend == {"o-may": (100, 1), "o-jun": (200, 2)}
