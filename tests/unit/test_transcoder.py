"""The orjson transcoder writes the library's bytes and reads them back the same."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal
from uuid import uuid4

from eventsourcing.persistence import DatetimeAsISO, DecimalAsStr, JSONTranscoder, UUIDAsHex
from hypothesis import given
from hypothesis import strategies as st

from engine.store.transcoder import FastJSONTranscoder


def pair() -> tuple[JSONTranscoder, FastJSONTranscoder]:
    slow, fast = JSONTranscoder(), FastJSONTranscoder()
    for transcoder in (slow, fast):
        for transcoding in (UUIDAsHex(), DecimalAsStr(), DatetimeAsISO()):
            transcoder.register(transcoding)
    return slow, fast


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)
stamps = st.datetimes(timezones=st.sampled_from(
    [timezone.utc, timezone(timedelta(hours=3))]))


@given(st.dictionaries(st.text(min_size=1), json_values, max_size=6), stamps)
def test_event_states_encode_to_the_librarys_bytes_and_back(state, stamp):
    slow, fast = pair()
    state = {**state, "timestamp": stamp}
    assert fast.encode(state) == slow.encode(state)
    assert fast.decode(slow.encode(state)) == slow.decode(slow.encode(state))


def test_uuids_decimals_and_nested_datetimes_take_the_librarys_path():
    slow, fast = pair()
    state = {"id": uuid4(), "amount": Decimal("1.50"), "when": datetime(2025, 1, 1,
             tzinfo=timezone.utc), "nested": [{"at": datetime(2025, 2, 1, tzinfo=timezone.utc)}]}
    assert fast.encode(state) == slow.encode(state)
    assert fast.decode(fast.encode(state)) == state
