"""Reading the dead letters the worker recorded (with the batch that refused them)."""

from __future__ import annotations

import base64
from typing import Any

from engine.store.app import LoyaltyStore


def list_dead_letters(store: LoyaltyStore, limit: int = 100) -> list[dict[str, Any]]:
    rows = store.sql.query(
        "SELECT topic, kafka_partition, kafka_offset, reason, payload, event_id, customer_id "
        "FROM dead_letters ORDER BY topic, kafka_partition, kafka_offset LIMIT ?",
        (limit,),
    )
    return [
        {
            "topic": r["topic"],
            "partition": r["kafka_partition"],
            "offset": r["kafka_offset"],
            "reason": r["reason"],
            "event_id": r["event_id"],
            "customer_id": r["customer_id"],
            "payload": base64.b64decode(r["payload"]).decode("utf-8", errors="replace"),
        }
        for r in rows
    ]


def count_dead_letters(store: LoyaltyStore) -> int:
    return int(store.sql.query("SELECT COUNT(*) AS n FROM dead_letters")[0]["n"])
