"""The event contract storefronts publish (DESIGN.md section 3): decoding and routing.

Validation uses the JSON Schema files in ``schemas/``; they are the single source of truth.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import orjson

from engine.errors import InvalidFact

DEAD_LETTER_TOPIC = "loyalty.dead-letter"
COMMANDS_TOPIC = "loyalty.commands"

TOPIC_BY_TYPE: dict[str, str] = {
    "customer.registered": "loyalty.customers",
    "order.placed": "loyalty.orders",
    "order.refunded": "loyalty.orders",
    "review.posted": "loyalty.reviews",
    "share.posted": "loyalty.shares",
    "referral.created": "loyalty.referrals",
    "survey.answered": "loyalty.customers",
}
SOURCE_TOPICS: tuple[str, ...] = tuple(sorted(set(TOPIC_BY_TYPE.values())))


@dataclass(frozen=True, slots=True)
class Fact:
    """One validated storefront fact. ``occurred_at`` is timezone-aware UTC; money stays str."""

    event_id: str
    type: str
    occurred_at: datetime
    customer_id: str
    data: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Position:
    """Where a message sat in Kafka."""

    topic: str
    partition: int
    offset: int

    @property
    def key(self) -> str:
        return f"{self.topic}#{self.partition}"


def topic_for(fact_type: str) -> str:
    """The topic a fact of this type is published to; raises InvalidFact for unknown types."""
    try:
        return TOPIC_BY_TYPE[fact_type]
    except KeyError:
        raise InvalidFact(f"unknown event type {fact_type!r}") from None


def decode(raw: bytes) -> Fact:
    """Parse and validate one message; raise InvalidFact with a readable reason."""
    try:
        obj = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidFact(f"not JSON: {exc}") from None
    if not isinstance(obj, dict):
        raise InvalidFact("not a JSON object")
    return from_dict(obj)


def from_dict(obj: dict[str, Any]) -> Fact:
    """Validate an already parsed envelope and build the Fact."""
    for key in ("event_id", "type", "occurred_at", "customer_id", "data"):
        if key not in obj:
            raise InvalidFact(f"missing field {key!r}")
    topic_for(obj["type"])
    try:
        occurred_at = datetime.fromisoformat(obj["occurred_at"])
    except (TypeError, ValueError):
        raise InvalidFact("occurred_at is not an RFC 3339 timestamp") from None
    if occurred_at.tzinfo is None:
        raise InvalidFact("occurred_at has no UTC offset")
    return Fact(
        event_id=obj["event_id"],
        type=obj["type"],
        occurred_at=occurred_at.astimezone(timezone.utc),
        customer_id=obj["customer_id"],
        data=obj["data"],
    )
