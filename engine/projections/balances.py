"""The balance read model: one row per member, folded by the pure ``balance_fold.fold``."""

from __future__ import annotations

from typing import Any

import orjson

from engine.aggregates.member import Member, member_id
from engine.projections.balance_fold import fold
from engine.projections.runner import event_fields
from engine.store.app import LoyaltyStore

COLUMNS = (
    "customer_id", "available", "pending", "lifetime_earned", "redeemed", "reversed",
    "expired", "tier", "qualifying_points", "last_activity",
)
UPSERT = (
    "INSERT INTO balances (member_id, " + ", ".join(COLUMNS) + ", row_json) VALUES ("
    + ", ".join("?" for _ in range(len(COLUMNS) + 2))
    + ") ON CONFLICT (member_id) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in (*COLUMNS, "row_json"))
)
MEMBER_TOPIC_SUFFIX = ":" + Member.__qualname__


def is_member_event(event: Any) -> bool:
    return type(event).__qualname__.startswith(Member.__qualname__ + ".")


class BalanceProjection:
    name = "balances"

    def apply_page(self, store: LoyaltyStore, cursor: Any, events: list[Any]) -> None:
        rows: dict[str, dict[str, Any] | None] = {}
        for event in events:
            if not is_member_event(event):
                continue
            key = event.originator_id.hex
            if key not in rows:
                rows[key] = load_row(store, cursor, key)
            rows[key] = fold(rows[key], type(event).__name__, event.timestamp, event_fields(event))
        for key, row in rows.items():
            if row is None:
                continue
            store.sql.execute(cursor, UPSERT, (key, *(_cell(row.get(c)) for c in COLUMNS),
                                               orjson.dumps(row, default=str).decode()))

    def reset(self, store: LoyaltyStore, cursor: Any) -> None:
        store.sql.execute(cursor, "DELETE FROM balances")


def _cell(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value


def load_row(store: LoyaltyStore, cursor: Any, key: str) -> dict[str, Any] | None:
    store.sql.execute(cursor, "SELECT row_json FROM balances WHERE member_id = ?", (key,))
    found = cursor.fetchone()
    if found is None:
        return None
    return orjson.loads(found["row_json"] if not isinstance(found, tuple) else found[0])


def read_balance(store: LoyaltyStore, customer_id: str) -> dict[str, Any] | None:
    rows = store.sql.query(
        "SELECT row_json FROM balances WHERE member_id = ?", (member_id(customer_id).hex,)
    )
    return orjson.loads(rows[0]["row_json"]) if rows else None


def top_balances(store: LoyaltyStore, limit: int = 10) -> list[dict[str, Any]]:
    rows = store.sql.query(
        "SELECT row_json FROM balances ORDER BY available DESC, customer_id LIMIT ?", (limit,)
    )
    return [orjson.loads(r["row_json"]) for r in rows]
