"""Histories for the read-side tests, applied without a broker: storefront lines through the
service layer in batches, referral commands delivered back from the outbox as the stream would,
then redemptions and a sweep through the back office."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

import orjson

from engine.backoffice import redeem, sweep
from engine.contract import COMMANDS_TOPIC, TOPIC_BY_TYPE
from engine.errors import RedemptionRefused
from engine.projections.balances import top_balances
from engine.service import Incoming, Ledger
from engine.store.app import LoyaltyStore
from engine.store.outbox import mark_sent, pending

READ_TABLES = {
    "balances": "member_id", "lots": "lot_key", "tier_members": "member_id",
    "tier_flows": "month, tier", "churn": "member_id", "metrics_months": "month",
    "member_months": "month, member_id", "projection_meta": "name, key",
}


def feed(store: LoyaltyStore, lines: Sequence[bytes], *, batch: int = 400,
         after_batch: Callable[[LoyaltyStore], Any] | None = None,
         ledger: Ledger | None = None, offsets: Counter[str] | None = None) -> Ledger:
    """Apply the lines in batches (each on its type's topic, partition 0), delivering commands
    after each batch; ``after_batch`` runs after each (e.g. the projections' catch-up)."""
    ledger = ledger or Ledger(store)
    offsets = Counter() if offsets is None else offsets
    for start in range(0, len(lines), batch):
        messages = [_incoming(line, offsets) for line in lines[start:start + batch]]
        ledger.handle(messages)
        deliver_commands(store, ledger, offsets)
        if after_batch is not None:
            after_batch(store)
    return ledger


def deliver_commands(store: LoyaltyStore, ledger: Ledger, offsets: Counter[str]) -> None:
    while True:
        commands = [m for m in pending(store) if m.topic == COMMANDS_TOPIC]
        if not commands:
            return
        batch = []
        for message in commands:
            batch.append(Incoming(COMMANDS_TOPIC, 0, offsets[COMMANDS_TOPIC], message.value))
            offsets[COMMANDS_TOPIC] += 1
        ledger.handle(batch)
        mark_sent(store, [m.id for m in commands])


def redeem_some(store: LoyaltyStore, at: datetime, count: int = 10) -> int:
    """Redeem the cheapest reward for the members with the most points; returns how many."""
    done = 0
    for row in top_balances(store, count):
        try:
            redeem(store, row["customer_id"], "free-shipping", f"r-{row['customer_id']}", at)
            done += 1
        except RedemptionRefused:
            pass
    return done


def sweep_to(store: LoyaltyStore, now: datetime) -> None:
    sweep(store, now)


def snapshot(store: LoyaltyStore) -> dict[str, list[dict[str, Any]]]:
    """Every read-model row, in key order."""
    return {table: store.sql.query(f"SELECT * FROM {table} ORDER BY {key}")
            for table, key in READ_TABLES.items()}


def _incoming(line: bytes, offsets: Counter[str]) -> Incoming:
    try:
        topic = TOPIC_BY_TYPE.get(orjson.loads(line).get("type"), "loyalty.orders")
    except (orjson.JSONDecodeError, AttributeError):
        topic = "loyalty.orders"
    message = Incoming(topic, 0, offsets[topic], line)
    offsets[topic] += 1
    return message


def later(at: datetime, days: float) -> datetime:
    return at + timedelta(days=days)
