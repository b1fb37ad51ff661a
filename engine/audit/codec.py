"""Comparing recomputed domain events with stored ones, byte for byte, without decoding.

The store's transcoder writes compact JSON (``json`` with ``separators=(",", ":")``,
``ensure_ascii=False``) with datetimes as ``{"_type_": "datetime_iso", "_data_": iso}``; orjson
writes the same bytes for the values a Member event holds, much faster. When the fast bytes
differ, the library's own mapper decides, so a difference of encoders is never reported as a
mismatch.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import orjson
from eventsourcing.persistence import Mapper, StoredEvent
from eventsourcing.utils import get_topic

META = ("originator_id", "originator_version")


def _encode_other(value: Any) -> Any:
    if isinstance(value, datetime):
        return {"_type_": "datetime_iso", "_data_": value.isoformat()}
    raise TypeError(type(value).__name__)


class Codec:
    """Encodes recomputed events like the store, and decodes stored ones for reports."""

    def __init__(self, mapper: Mapper[Any]) -> None:
        self.mapper = mapper
        self._topics: dict[type, str] = {}

    def topic(self, event: Any) -> str:
        cls = type(event)
        topic = self._topics.get(cls)
        if topic is None:
            topic = self._topics[cls] = get_topic(cls)
        return topic

    def fast_state(self, event: Any) -> bytes | None:
        """The stored bytes the event should have, or None when orjson cannot write them.

        The event time (``timestamp``, which every event has) is wrapped as the library wraps
        a datetime, with orjson's text of it, which is isoformat's for any offset of whole
        minutes (any other makes bytes that differ, and ``same`` then asks the library). Any
        other datetime goes through ``default``: a Python call, but the Member's events hold
        none (their other times are texts), so no per-key test is paid for them."""
        state = event.__dict__.copy()  # in field order, as the library's mapper copies it
        del state["originator_id"], state["originator_version"]
        timestamp = state.get("timestamp")
        if type(timestamp) is datetime:
            state["timestamp"] = {"_type_": "datetime_iso",
                                  "_data_": orjson.dumps(timestamp)[1:-1].decode()}
        try:
            return orjson.dumps(state, default=_encode_other,
                                option=orjson.OPT_PASSTHROUGH_DATETIME)
        except TypeError:
            return None

    def same(self, event: Any, topic: str, state: bytes) -> bool:
        """Whether the recomputed ``event`` is the stored ``(topic, state)``."""
        if self.topic(event) != topic:
            return False
        fast = self.fast_state(event)
        if fast == state:
            return True
        stored = self.mapper.to_stored_event(event)
        if stored.state == state:
            return True
        # Same values, other bytes (an encoder detail): compare decoded.
        try:
            return self.fields(event) == self.fields(self.decode(event.originator_id,
                                                                 event.originator_version,
                                                                 topic, state))
        except Exception:  # noqa: BLE001  (a row that no longer decodes is simply not equal)
            return False

    def decode(self, originator_id: UUID | str, version: int, topic: str, state: bytes) -> Any:
        oid = originator_id if isinstance(originator_id, UUID) else UUID(originator_id)
        return self.mapper.to_domain_event(StoredEvent(oid, version, topic, state))

    @staticmethod
    def fields(event: Any) -> dict[str, Any]:
        """The event's attributes without the originator's id and version."""
        return {k: v for k, v in event.__dict__.items() if k not in META}

    def describe_stored(self, originator_id: str, version: int, topic: str,
                        state: bytes) -> tuple[str, dict[str, Any]]:
        """(event name, fields) of a stored event; a row that no longer decodes is shown
        raw."""
        try:
            event = self.decode(originator_id, version, topic, state)
        except Exception as exc:  # noqa: BLE001  (a tampered row may not decode: show it raw)
            return topic.rpartition(".")[2], {"undecodable": f"{type(exc).__name__}: {exc}",
                                              "state": state[:200].decode("utf-8", "replace")}
        return type(event).__name__, self.fields(event)
