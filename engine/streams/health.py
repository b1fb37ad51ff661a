"""The worker's own view of its parts, served at /healthz when asked for a health port."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Health:
    broker_ok: bool = True
    store_ok: bool = True
    broker_error: str = ""
    store_error: str = ""
    checked_at: float = field(default_factory=time.monotonic)

    def mark(self, part: str, ok: bool, error: str = "") -> None:
        setattr(self, f"{part}_ok", ok)
        setattr(self, f"{part}_error", "" if ok else error)
        self.checked_at = time.monotonic()

    @property
    def ok(self) -> bool:
        return self.broker_ok and self.store_ok

    def report(self, stats: Any) -> dict[str, Any]:
        """What /healthz answers: no internals beyond which part is down."""
        return {
            "status": "ok" if self.ok else "unhealthy",
            "broker": "ok" if self.broker_ok else "down",
            "store": "ok" if self.store_ok else "down",
            "assigned": stats.assigned_at is not None,
            "messages": stats.messages,
            "dead_lettered": stats.dead_lettered,
            "lag": stats.lag,
            "members_in_memory": stats.members_in_memory,
            "members_let_go": stats.members_let_go,
            "projector_restarts": stats.projector_restarts,
        }
