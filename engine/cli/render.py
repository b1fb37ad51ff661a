"""Rich tables for the CLI."""

from __future__ import annotations

import base64
from typing import Any

from rich.table import Table


def balance_table(row: dict[str, Any]) -> Table:
    table = Table(title=f"Member {row['customer_id']}", show_header=False)
    table.add_column("", style="bold")
    table.add_column("", justify="right")
    for key in ("available", "pending", "lifetime_earned", "redeemed", "reversed", "expired",
                "tier", "qualifying_points", "points_to_next_tier", "next_tier",
                "last_activity"):
        if key in row:
            table.add_row(key.replace("_", " "), f"{row[key]:,}" if isinstance(row[key], int)
                          else str(row[key]))
    return table


def dead_letter_table(rows: list[dict[str, Any]]) -> Table:
    table = Table(title=f"Dead letters ({len(rows)})")
    for column in ("source", "event id", "reason", "payload"):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(
            f"{row['topic']}#{row['partition']}@{row['offset']}",
            row.get("event_id") or "",
            row["reason"],
            _preview(row["payload"]),
        )
    return table


def _preview(payload: str, width: int = 60) -> str:
    text = payload if isinstance(payload, str) else base64.b64decode(payload).decode(errors="replace")
    return text if len(text) <= width else text[: width - 1] + "…"
