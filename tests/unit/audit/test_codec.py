"""The audit writes a recomputed event's bytes itself (``Codec.fast_state``) to compare them
with the stored ones; those bytes must be the library mapper's, to the byte. A difference would
not be reported as a mismatch (``Codec.same`` then asks the library), but every such event
would pay for the library's encoding, so the fast bytes are compared with the mapper's here."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event
from hypothesis import HealthCheck, given, settings

from engine.audit.codec import Codec
from tests.unit.test_member_properties import gaps, run, steps

MAPPER = Application().mapper
CODEC = Codec(MAPPER)


def library_bytes(events: list[Any]) -> list[bytes]:
    return [MAPPER.to_stored_event(e).state for e in events]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps, gaps)
def test_fast_bytes_of_every_member_event_are_the_mappers(history: Any, hours: Any) -> None:
    events = [e for member in run(history, hours).values() for e in member.collect_events()]
    assert len({type(e).__name__ for e in events}) > 1
    assert [CODEC.fast_state(e) for e in events] == library_bytes(events)


class Shipment(Aggregate):
    """An aggregate whose event holds a datetime besides its timestamp, and a nested one."""

    @event("Created")
    def __init__(self, name: str) -> None:
        self.name = name

    @event("Sent")
    def send(self, due: datetime, stops: dict[str, Any]) -> None:
        self.due = due


def test_other_datetimes_and_offsets_are_written_as_the_library_writes_them() -> None:
    shipment = Shipment(name="box")
    odd = timezone(timedelta(hours=5, minutes=30))
    shipment.send(due=datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=odd),
                  stops={"first": datetime(2026, 1, 3, tzinfo=UTC), "n": 2})
    events = shipment.collect_events()
    assert [CODEC.fast_state(e) for e in events] == library_bytes(events)
    assert b'"due":{"_type_":"datetime_iso","_data_":"2026-01-02T03:04:05.000006+05:30"}' in (
        CODEC.fast_state(events[1]) or b"")


def test_an_offset_of_seconds_differs_from_the_library_and_is_left_to_it() -> None:
    shipment = Shipment(name="box")
    created = shipment.collect_events()[0]
    seconds = timezone(timedelta(hours=1, seconds=30))
    object.__setattr__(created, "timestamp", datetime(2026, 1, 1, tzinfo=seconds))
    assert CODEC.fast_state(created) != library_bytes([created])[0]
    stored = MAPPER.to_stored_event(created)
    assert CODEC.same(created, stored.topic, stored.state)
