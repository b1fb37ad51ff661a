"""Reading and acknowledging the outbox: messages saved with a batch, sent after its commit."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime

import orjson

from engine.contract import COMMANDS_TOPIC
from engine.store.app import LoyaltyStore


@dataclass(frozen=True, slots=True)
class OutboxMessage:
    id: str
    topic: str
    key: bytes
    value: bytes
    headers: list[tuple[str, bytes]]


PENDING = "SELECT id, topic, msg_key, payload FROM outbox WHERE sent = 0 ORDER BY id LIMIT ?"
PENDING_ON = ("SELECT id, topic, msg_key, payload FROM outbox WHERE sent = 0 AND topic = ? "
              "ORDER BY id LIMIT ?")


def pending(store: LoyaltyStore, limit: int = 5000,
            topic: str | None = None) -> list[OutboxMessage]:
    """Up to ``limit`` unsent messages (with ``topic``, of that topic only), in the order to
    send them; read through the index of unsent messages, so the cost does not grow with the
    messages sent before."""
    if topic is None:
        rows = store.sql.query(PENDING, (limit,))
    else:
        rows = store.sql.query(PENDING_ON, (topic, limit))
    return sorted((_message(r) for r in rows), key=_send_order)


def any_unsent(store: LoyaltyStore) -> bool:
    return bool(store.sql.query("SELECT 1 AS one FROM outbox WHERE sent = 0 LIMIT 1"))


def _send_order(message: OutboxMessage) -> tuple[int, float, str]:
    """Dead letters first, then commands by engine time: a referrer applies commands from one
    partition in the order they were sent, and its guards (10 rewards per 30 days) count in
    engine time, so commands are sent in the order they were issued, not by id."""
    if message.topic != COMMANDS_TOPIC:
        return (0, 0.0, message.id)
    try:
        at = datetime.fromisoformat(orjson.loads(message.value)["occurred_at"])
        return (1, at.timestamp(), message.id)
    except (ValueError, KeyError, TypeError, orjson.JSONDecodeError):
        return (1, 0.0, message.id)


def send_again(store: LoyaltyStore) -> int:
    """The broker came back without its logs: send the dead letters and member events it had
    again (their ids are stable, so readers can tell a repeat). Commands are sent again by the
    ledger, only those not applied yet. Returns how many."""
    with store.sql.transaction() as cur:
        store.sql.execute(cur, "UPDATE outbox SET sent = 0 WHERE sent = 1 AND topic <> ?",
                          (COMMANDS_TOPIC,))
        return int(cur.rowcount or 0)


def mark_sent(store: LoyaltyStore, ids: list[str]) -> None:
    if not ids:
        return
    with store.sql.transaction() as cur:
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ", ".join("?" for _ in chunk)
            store.sql.execute(cur, f"UPDATE outbox SET sent = 1 WHERE id IN ({marks})", chunk)


def _message(row: dict[str, object]) -> OutboxMessage:
    payload = str(row["payload"])
    if str(row["id"]).startswith("dlq:"):
        envelope = orjson.loads(payload)
        value = base64.b64decode(envelope["value_b64"])
        headers = [(k, str(v).encode()) for k, v in envelope["headers"].items()]
    else:
        value, headers = payload.encode(), []
    return OutboxMessage(
        id=str(row["id"]), topic=str(row["topic"]), key=str(row["msg_key"]).encode(),
        value=value, headers=headers,
    )
