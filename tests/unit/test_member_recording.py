"""The Member records its events without eventsourcing's generic ``@event`` call path
(``member._direct_trigger``); the events it stores must be those the library's path makes, to
the byte, or replays and the audit would no longer match the history."""

from __future__ import annotations

from typing import Any

import pytest
from eventsourcing.application import Application
from eventsourcing.domain import decorated_func_callers
from hypothesis import HealthCheck, given, settings

from engine.aggregates import member as member_module
from engine.aggregates.member import LIBRARY_EVENT_METHODS, Member
from tests.unit.test_member_properties import gaps, run, steps


def stored(members: dict[str, Member]) -> list[tuple[Any, ...]]:
    mapper = Application().mapper
    out = []
    for name in sorted(members):
        for event in members[name].collect_events():
            record = mapper.to_stored_event(event)
            out.append((name, list(vars(event)), record.originator_id,
                        record.originator_version, record.topic, record.state))
    return out


def through_the_library(history: Any, hours: Any) -> dict[str, Member]:
    with pytest.MonkeyPatch.context() as patch:
        for name, decorator in LIBRARY_EVENT_METHODS.items():
            patch.setattr(Member, name, decorator)
        return run(history, hours)


def test_every_event_method_of_the_member_is_recorded_directly() -> None:
    event_classes = {name for name, value in vars(Member).items()
                     if isinstance(value, type) and issubclass(value, Member.Event)}
    triggered = {decorated_func_callers[d].__name__ for d in LIBRARY_EVENT_METHODS.values()}
    # Enrolled is the constructor's; Event and Created are the library's bases.
    assert triggered == event_classes - {"Enrolled", "Event", "Created"}
    assert {"OrderPlaced", "PointsEarned", "PointsActivated", "TierChanged"} <= triggered
    for name in LIBRARY_EVENT_METHODS:
        assert getattr(Member, name).__qualname__ == f"Member.{name}"
        assert not isinstance(vars(Member)[name], type(LIBRARY_EVENT_METHODS[name]))


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps, gaps)
def test_direct_recording_stores_the_bytes_the_library_would(history: Any, hours: Any) -> None:
    library = through_the_library(history, hours)
    direct = run(history, hours)
    assert stored(direct) == stored(library)


def test_a_call_the_direct_path_does_not_cover_goes_the_library_way() -> None:
    from tests.unit.rules.builders import T0

    m = Member(customer_id="ann", timestamp=T0)
    m._survey_answered("e1", 7, T0)  # positional arguments: the library's own path
    m._survey_answered(source_event_id="e2", score=3, timestamp=T0)
    first, second = m.collect_events()[1:]
    assert list(vars(first)) == list(vars(second))
    assert (first.originator_version, second.originator_version) == (2, 3)
    assert member_module.Member.SurveyAnswered is type(first) is type(second)
