"""Commands: messages from one member to another (who may live on another Kafka partition).

They travel on the commands topic keyed by the target ``customer_id``. Their id is derived
from what caused them, so a command produced twice (a redelivery, a crash before the Kafka
commit) is applied once by the target.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import NAMESPACE_URL, uuid5

from engine.errors import InvalidFact

COMMAND_NAMESPACE = uuid5(NAMESPACE_URL, "loyalty-engine:command")

REFERRAL_QUALIFIED = "referral.qualified"  # friend -> referrer: the first order became active
REFERRAL_SETTLED = "referral.settled"  # referrer -> friend: rewarded, or refused and why
COMMAND_TYPES = (REFERRAL_QUALIFIED, REFERRAL_SETTLED)


def command_id(cause: str, purpose: str) -> str:
    """The deterministic id of the command ``purpose`` caused by ``cause`` (e.g. a friend)."""
    return str(uuid5(COMMAND_NAMESPACE, f"{cause}:{purpose}"))


@dataclass(frozen=True, slots=True)
class Command:
    """A command for member ``customer_id``. ``occurred_at`` is engine time (timezone-aware);
    ``data`` holds JSON values only."""

    command_id: str
    type: str
    customer_id: str
    occurred_at: datetime
    data: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> bytes:
        return json.dumps({
            "command_id": self.command_id, "type": self.type, "customer_id": self.customer_id,
            "occurred_at": self.occurred_at.isoformat(), "data": self.data,
        }, sort_keys=True, separators=(",", ":")).encode("utf-8")

    @classmethod
    def from_json(cls, raw: bytes | str) -> Command:
        """Parse a command; raise InvalidFact (so the worker dead-letters it) when malformed."""
        try:
            obj = json.loads(raw)
            occurred_at = datetime.fromisoformat(obj["occurred_at"])
            command = cls(
                command_id=str(obj["command_id"]), type=str(obj["type"]),
                customer_id=str(obj["customer_id"]), occurred_at=occurred_at,
                data=dict(obj.get("data") or {}),
            )
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            raise InvalidFact(f"not a command message: {exc}") from None
        if command.type not in COMMAND_TYPES:
            raise InvalidFact(f"unknown command type {command.type!r}")
        if occurred_at.tzinfo is None:
            raise InvalidFact("command occurred_at has no UTC offset")
        return command
