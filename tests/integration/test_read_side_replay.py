"""The read side on a long generated history, on SQLite and PostgreSQL: rebuilt read models
equal the incrementally built ones, and they agree with the Member aggregates."""

from __future__ import annotations

from datetime import timedelta

from engine.demo.generate import DEFAULT_START, generate
from engine.projections import parallel
from engine.projections.member_view import balance_as_of, balance_view
from engine.projections.registry import catch_up_all, replay
from engine.projections.support import engine_time
from engine.store import LoyaltyStore
from engine.store.outbox import pending
from engine.store.programs import program_book
from tests.support.read_side import feed, redeem_some, snapshot, sweep_to

CUSTOMERS, DAYS = 200, 430


def build(store: LoyaltyStore) -> None:
    """A year and two months of a store, projected after every batch as the worker does, with
    redemptions mid-way and a sweep at the end (activations, expiries, tier reviews)."""
    lines = generate(customers=CUSTOMERS, days=DAYS, seed=3)
    half = len(lines) // 2
    ledger = feed(store, lines[:half], batch=150, after_batch=catch_up_all)
    midway = engine_time(store, "balances")
    assert redeem_some(store, midway, count=15) > 0
    feed(store, lines[half:], batch=150, after_batch=catch_up_all, ledger=ledger,
         offsets=_offsets(store))
    sweep_to(store, DEFAULT_START + timedelta(days=DAYS + 30))
    catch_up_all(store)


def _offsets(store: LoyaltyStore):
    from collections import Counter

    return Counter({key.split("#")[0]: offset for key, offset in store.positions().items()})


def test_replay_rebuilds_every_read_model_identically(store, monkeypatch):
    build(store)
    counts = store.event_counts()
    assert store.max_notification_id() > 5000
    assert counts.get("PointsExpired", 0) > 0 and counts.get("PointsRedeemed", 0) > 0
    assert counts.get("TierChanged", 0) > 0 and counts.get("QualifyingPointsLapsed", 0) > 0
    incremental = snapshot(store)
    announced = store.sql.query("SELECT id, payload FROM outbox ORDER BY id")
    assert any(r["id"].startswith("points-expiring:") for r in announced)
    assert any(r["id"].startswith("at-risk:") for r in announced)

    events = replay(store)

    assert events == store.max_notification_id()
    rebuilt = snapshot(store)
    for table in incremental:
        assert rebuilt[table] == incremental[table], table
    assert store.sql.query("SELECT id, payload FROM outbox ORDER BY id") == announced
    # one projection alone, in pages of another size, comes back the same too
    replay(store, ["churn", "balances"])
    assert snapshot(store) == incremental
    # and so does a replay in one process per group of read models, as on a long history
    spawned = []
    in_processes = parallel._in_processes
    monkeypatch.setattr(parallel, "PARALLEL_FROM", 0)
    monkeypatch.setattr(parallel, "_in_processes",
                        lambda *args: spawned.append(len(args[1])) or in_processes(*args))
    assert replay(store) == store.max_notification_id()
    assert spawned == [2]
    assert snapshot(store) == incremental
    assert store.sql.query("SELECT id, payload FROM outbox ORDER BY id") == announced


def test_views_agree_with_the_aggregates_and_the_books_balance(store):
    from engine.projections.metrics import program_metrics

    build(store)
    now = engine_time(store, "balances")
    programs = program_book(store)
    customers = [r["customer_id"] for r in store.sql.query("SELECT customer_id FROM balances")]
    assert len(customers) == CUSTOMERS
    for customer_id in customers:
        member = store.get_member(customer_id)
        expected = member.view(now, programs)
        view = balance_view(store, customer_id, now)
        for key in ("available", "pending", "lifetime_earned", "redeemed", "reversed", "expired",
                    "tier", "qualifying_points", "next_tier", "points_to_next_tier"):
            assert view[key] == expected[key], (customer_id, key)
        assert view["expiring_30d"]["points"] == expected["expiring_30d"]["points"], customer_id
        # the view at the last event time, folded from history, is the projection's view
        assert balance_as_of(store, customer_id, now) == view
    held = sum(int(r["available"]) + int(r["pending"])
               for r in store.sql.query("SELECT available, pending FROM balances"))
    metrics = program_metrics(store, program_book(store).current)
    assert metrics["overall"]["liability_points"] == held
    assert metrics["months"][-1]["liability_points"] == held
    assert sum(m["orders"] for m in metrics["months"]) == metrics["overall"]["orders"]
    assert not [m for m in pending(store) if m.topic == "loyalty.commands"]
