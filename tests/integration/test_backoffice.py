"""Redemptions and sweeps against a real store, and redemptions racing the worker."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

import pytest

from engine.backoffice import redeem, sweep
from engine.errors import RedemptionRefused, UnknownMember
from engine.projections.balances import read_balance
from engine.projections.registry import catch_up_all
from engine.service import Incoming, Ledger
from engine.store import LoyaltyStore, open_store
from tests.support.facts import order, registered

T0 = datetime(2025, 3, 1, 7, 0, tzinfo=timezone.utc)


def seed(store: LoyaltyStore) -> None:
    """dana: 100 welcome points active at once, 900 order points pending until T0 + 14d
    (below the silver threshold, so no tier bonus muddies the sums)."""
    Ledger(store).handle([
        Incoming("loyalty.customers", 0, 0, registered("r-d", "dana", at="2025-03-01T10:00:00+03:00")),
        Incoming("loyalty.orders", 0, 0, order("o-d1", "dana", "900.00")),
    ])


def ledger_identity(row: dict) -> bool:
    return (row["lifetime_earned"] - row["redeemed"] - row["reversed"] - row["expired"]
            == row["available"] + row["pending"])


def test_redemption_spends_active_points_and_is_idempotent(store):
    seed(store)
    at = T0 + timedelta(days=20)  # the order points are active by then
    first = redeem(store, "dana", "ten-percent-off", "req-1", at)
    again = redeem(store, "dana", "ten-percent-off", "req-1", at + timedelta(minutes=5))
    assert first.points == 400 and first.coupon == again.coupon
    catch_up_all(store)
    row = read_balance(store, "dana")
    assert row["redeemed"] == 400 and row["available"] == 1000 - 400
    assert ledger_identity(row)
    kinds = store.sql.query("SELECT kind FROM source_facts WHERE kind = 'redemption'")
    assert len(kinds) == 1


def test_short_balance_is_refused_with_the_available_amount(store):
    seed(store)
    with pytest.raises(RedemptionRefused, match="100"):
        redeem(store, "dana", "ten-percent-off", "req-2", T0 + timedelta(days=1))
    with pytest.raises(UnknownMember):
        redeem(store, "nobody", "free-shipping", "req-3", T0)


def test_sweep_activates_due_points_once(store):
    seed(store)
    later = T0 + timedelta(days=15)
    first = sweep(store, later)
    second = sweep(store, later)
    assert first.changed == 1 and first.events >= 1
    assert second.changed == 0 and second.events == 0
    catch_up_all(store)
    row = read_balance(store, "dana")
    assert row["pending"] == 0 and row["available"] == 1000


def test_redemptions_racing_the_worker_never_overspend_or_get_lost(store):
    seed(store)
    settings = store.settings
    redeemed: list[str] = []
    refused: list[str] = []

    def worker() -> None:
        own = open_store(settings)
        ledger = Ledger(own)
        for i in range(60):
            day = 2 + i // 4
            ledger.handle([Incoming("loyalty.orders", 1, i, order(
                f"o-w{i}", "dana", "300.00", at=f"2025-03-{day:02d}T12:00:00+03:00"))])
        own.close()

    def back_office() -> None:
        own = open_store(settings)
        for i in range(40):
            try:
                redeem(own, "dana", "free-shipping", f"race-{i}",
                       T0 + timedelta(days=40, minutes=i))
                redeemed.append(f"race-{i}")
            except RedemptionRefused:
                refused.append(f"race-{i}")
        own.close()

    threads = [threading.Thread(target=worker), threading.Thread(target=back_office)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    member = store.get_member("dana")
    assert set(member.redemptions) == set(redeemed)  # every success is in the ledger, once
    assert member.available >= 0 and member.pending >= 0
    assert member.redeemed == 250 * len(redeemed)
    assert len(redeemed) + len(refused) == 40 and redeemed
    orders = [k for k in member.seen if k.startswith("o-w")]
    assert len(orders) == 60  # no earning lost to a conflict
    catch_up_all(store)
    assert ledger_identity(read_balance(store, "dana"))
