"""Outbound integration events for CRM and e-mail tools, on ``loyalty.member-events``.

Projections write them into the ``outbox`` table in the transaction of the page that observed
them; the worker sends unsent rows after each batch. Every event has a stable id derived from
what it is about (never from the clock or the page), and the outbox keeps one row per id
(``ON CONFLICT DO NOTHING``), so Kafka redelivery and replays never emit an event twice.

Message value (JSON)::

    {"id": ..., "type": ..., "customer_id": ..., "occurred_at": ..., "data": {...}}

| type | id | occurred_at | data |
|---|---|---|---|
| ``member.tier_changed`` | ``tier-changed:<customer>:<member version>`` | the change | from_tier, to_tier, reason, qualifying_points |
| ``member.points_expiring`` | ``points-expiring:<customer>:<lot id>`` | expiry - N days | lot_id, points, expires_at, days |
| ``member.at_risk`` | ``at-risk:<customer>:<at_risk_from>`` | at_risk_from | last_order_at, expected_gap_days, orders |
| ``member.reward_redeemed`` | ``reward-redeemed:<customer>:<request id>`` | the redemption | reward, points, coupon, request_id |

Messages are keyed by customer id.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import orjson

from engine.projections.support import execute_many, ts
from engine.store.app import LoyaltyStore
from engine.store.recorders import INSERT_OUTBOX

TOPIC = "loyalty.member-events"
EXPIRY_NOTICE_DAYS = 30

OutboxRow = tuple[str, str, str, str]


def _row(event_id: str, type_: str, customer_id: str, at: datetime | str,
         data: dict[str, Any]) -> OutboxRow:
    payload = {"id": event_id, "type": type_, "customer_id": customer_id,
               "occurred_at": ts(at), "data": data}
    return event_id, TOPIC, customer_id, orjson.dumps(payload).decode()


def tier_changed(customer_id: str, version: int, at: datetime,
                 fields: dict[str, Any]) -> OutboxRow:
    return _row(f"tier-changed:{customer_id}:{version}", "member.tier_changed", customer_id, at,
                {"from_tier": fields["from_tier"], "to_tier": fields["to_tier"],
                 "reason": fields["reason"], "qualifying_points": fields["qualifying_points"]})


def points_expiring(customer_id: str, lot_id: str, points: int, expires_at: str,
                    days: int = EXPIRY_NOTICE_DAYS) -> OutboxRow:
    notice = datetime.fromisoformat(expires_at) - timedelta(days=days)
    return _row(f"points-expiring:{customer_id}:{lot_id}", "member.points_expiring",
                customer_id, notice,
                {"lot_id": lot_id, "points": points, "expires_at": ts(expires_at),
                 "days": days})


def at_risk(customer_id: str, at_risk_from: str, last_order_at: str | None, gap_days: int,
            orders: int) -> OutboxRow:
    return _row(f"at-risk:{customer_id}:{at_risk_from}", "member.at_risk", customer_id,
                at_risk_from,
                {"last_order_at": last_order_at, "expected_gap_days": gap_days,
                 "orders": orders})


def reward_redeemed(customer_id: str, at: datetime, fields: dict[str, Any]) -> OutboxRow:
    return _row(f"reward-redeemed:{customer_id}:{fields['request_id']}",
                "member.reward_redeemed", customer_id, at,
                {"reward": fields["reward"], "points": fields["points"],
                 "coupon": fields["coupon"], "request_id": fields["request_id"]})


def write(store: LoyaltyStore, cursor: Any, rows: list[OutboxRow]) -> None:
    """Add the events to the outbox in the page's transaction; ids already there are kept."""
    execute_many(store, cursor, INSERT_OUTBOX, rows)
