"""The event contract: what decode accepts, what it refuses, and why (DESIGN.md section 3)."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine import contract
from engine.contract import (
    MAX_MESSAGE_BYTES,
    SCHEMA_DIR,
    TOPIC_BY_TYPE,
    Fact,
    decode,
    encode,
    from_dict,
    topic_for,
    validate_line,
)
from engine.errors import ConfigurationError, InvalidFact

TYPES = sorted(TOPIC_BY_TYPE)
UTC = timezone.utc


def example(fact_type: str = "order.placed") -> dict[str, Any]:
    return orjson.loads((SCHEMA_DIR / "examples" / f"{fact_type}.json").read_bytes())


def changed(fact_type: str, change: Callable[[dict[str, Any]], Any]) -> bytes:
    message = example(fact_type)
    change(message)
    return orjson.dumps(message)


def refused(raw: Any) -> str:
    with pytest.raises(InvalidFact) as caught:
        decode(raw)
    return caught.value.reason


# -- what is accepted -----------------------------------------------------------------------


@pytest.mark.parametrize("fact_type", TYPES)
def test_the_shipped_example_of_each_type_decodes_to_a_fact_of_that_type(fact_type: str) -> None:
    message = example(fact_type)

    fact = decode(orjson.dumps(message))

    assert fact.type == fact_type
    assert fact.event_id == message["event_id"]
    assert fact.customer_id == message["customer_id"]
    assert fact.data == message["data"]


def test_occurred_at_is_normalised_to_utc() -> None:
    raw = changed("order.placed", lambda m: m.update(occurred_at="2025-01-04T20:41:07+03:00"))

    fact = decode(raw)

    assert fact.occurred_at == datetime(2025, 1, 4, 17, 41, 7, tzinfo=timezone.utc)
    assert fact.occurred_at.tzinfo is timezone.utc


@pytest.mark.parametrize(
    ("stamp", "utc"),
    [
        ("2025-06-01T12:00:00Z", datetime(2025, 6, 1, 12, tzinfo=timezone.utc)),
        ("2025-06-01t12:00:00z", datetime(2025, 6, 1, 12, tzinfo=timezone.utc)),
        ("2025-06-01T12:00:00-00:00", datetime(2025, 6, 1, 12, tzinfo=timezone.utc)),
        ("2025-06-01T01:30:00.25+05:30", datetime(2025, 5, 31, 20, 0, 0, 250000, UTC)),
        ("2025-06-01T12:00:00.123456789-04:00", datetime(2025, 6, 1, 16, 0, 0, 123456, UTC)),
    ],
)
def test_every_rfc_3339_form_with_an_offset_is_accepted(stamp: str, utc: datetime) -> None:
    fact = decode(changed("survey.answered", lambda m: m.update(occurred_at=stamp)))

    assert fact.occurred_at == utc


def test_money_stays_a_decimal_string() -> None:
    fact = decode(changed("order.placed", lambda m: m["data"].update(total="1234.5678")))

    assert fact.data["total"] == "1234.5678"
    assert fact.data["lines"][0]["unit_price"] == "385.00"


@pytest.mark.parametrize("amount", ["0", "0.00", "7", "12.5", "999999999999.9999"])
def test_order_totals_from_zero_to_twelve_digits_with_up_to_four_decimals_are_accepted(
    amount: str,
) -> None:
    fact = decode(changed("order.placed", lambda m: m["data"].update(total=amount)))

    assert fact.data["total"] == amount


def test_ids_of_exactly_128_visible_characters_are_accepted() -> None:
    long_id = "c-" + "x" * 126

    raw = changed("order.placed", lambda m: m.update(customer_id=long_id, event_id=long_id))

    fact = decode(raw)

    assert fact.customer_id == long_id


def test_the_email_hash_is_optional_on_registration() -> None:
    fact = decode(changed("customer.registered", lambda m: m["data"].pop("email_sha256")))

    assert fact.data == {"newsletter": True}


@pytest.mark.parametrize("score", [0, 10])
def test_survey_scores_at_both_ends_of_the_scale_are_accepted(score: int) -> None:
    fact = decode(changed("survey.answered", lambda m: m["data"].update(score=score)))

    assert fact.data["score"] == score


def test_validate_line_ignores_the_trailing_newline_of_a_json_lines_file() -> None:
    line = orjson.dumps(example("review.posted")) + b"\n"

    assert validate_line(line) == decode(line[:-1])


def test_decode_accepts_bytearray_and_memoryview_as_well_as_bytes() -> None:
    raw = orjson.dumps(example("share.posted"))

    assert decode(bytearray(raw)) == decode(memoryview(raw)) == decode(raw)


def test_from_dict_validates_an_already_parsed_envelope() -> None:
    fact = from_dict(example("referral.created"))

    assert fact.data["referrer_id"] == "cust-1001"
    with pytest.raises(InvalidFact, match="missing required field 'data'"):
        from_dict({k: v for k, v in example("referral.created").items() if k != "data"})


def test_encode_writes_canonical_json_that_decodes_to_the_same_fact() -> None:
    fact = decode(orjson.dumps(example("order.placed")))

    raw = encode(fact)

    assert decode(raw) == fact
    assert raw == orjson.dumps(orjson.loads(raw), option=orjson.OPT_SORT_KEYS)
    assert b'"occurred_at":"2025-01-04T17:41:07Z"' in raw
    assert b" " not in raw


def test_encode_keeps_a_local_offset_and_writes_decimals_as_plain_strings() -> None:
    riyadh = timezone(timedelta(hours=3))
    fact = Fact("e-1", "order.refunded", datetime(2025, 3, 1, 9, tzinfo=riyadh), "c-1",
                {"order_id": "o-1", "amount": Decimal("12.50")})

    raw = encode(fact)

    assert b'"occurred_at":"2025-03-01T09:00:00+03:00"' in raw
    assert decode(raw).data["amount"] == "12.50"


def test_each_type_is_routed_to_its_topic() -> None:
    assert topic_for("order.placed") == topic_for("order.refunded") == "loyalty.orders"
    assert topic_for("survey.answered") == topic_for("customer.registered") == "loyalty.customers"
    assert topic_for("share.posted") == "loyalty.shares"
    with pytest.raises(InvalidFact, match="unknown event type 'order.shipped'"):
        topic_for("order.shipped")


# -- what is refused, and the reason given --------------------------------------------------


def _without(key: str) -> Callable[[dict[str, Any]], Any]:
    return lambda message: message.pop(key)


def _data(**values: Any) -> Callable[[dict[str, Any]], Any]:
    return lambda message: message["data"].update(values)


def _line(**values: Any) -> Callable[[dict[str, Any]], Any]:
    return lambda message: message["data"]["lines"][0].update(values)


POISON: list[tuple[str, str, Callable[[dict[str, Any]], Any], list[str]]] = [
    ("missing customer_id", "order.placed", _without("customer_id"),
     ["order.placed message is missing required field 'customer_id'"]),
    ("missing body field", "order.placed", lambda m: m["data"].pop("order_id"),
     ["order.placed data is missing required field 'order_id'"]),
    ("missing line field", "order.placed", lambda m: m["data"]["lines"][0].pop("sku"),
     ["order.placed data.lines[0] is missing required field 'sku'"]),
    ("unknown envelope field", "order.placed", lambda m: m.update(coupon="X"),
     ["unknown field 'coupon'"]),
    ("unknown body field", "survey.answered", _data(comment="great"),
     ["survey.answered data has unknown field 'comment'"]),
    ("unknown type", "order.placed", lambda m: m.update(type="order.shipped"),
     ["unknown event type 'order.shipped'"]),
    ("type not a string", "order.placed", lambda m: m.update(type=5),
     ["unknown event type 5"]),
    ("data not an object", "order.placed", lambda m: m.update(data=[1]),
     ["order.placed data must be a JSON object", "got a list of 1 item"]),
    ("timestamp without offset", "order.placed",
     lambda m: m.update(occurred_at="2025-01-04T20:41:07"),
     ["order.placed occurred_at must be an RFC 3339 date-time", "with an offset",
      "got '2025-01-04T20:41:07'"]),
    ("date only", "order.placed", lambda m: m.update(occurred_at="2025-01-04"),
     ["occurred_at must be an RFC 3339 date-time"]),
    ("epoch number timestamp", "order.placed", lambda m: m.update(occurred_at=1735689600),
     ["occurred_at must be an RFC 3339 date-time", "got 1735689600"]),
    ("impossible date", "order.placed", lambda m: m.update(occurred_at="2025-02-30T10:00:00Z"),
     ["occurred_at '2025-02-30T10:00:00Z' is not a real date and time"]),
    ("trailing newline in timestamp", "order.placed",
     lambda m: m.update(occurred_at="2025-01-04T20:41:07Z\n"), ["occurred_at must be"]),
    ("negative total", "order.placed", _data(total="-5"),
     ["order.placed data.total must be a non-negative decimal string", "got '-5'"]),
    ("absurd total in exponent form", "order.placed", _data(total="1e30"),
     ["data.total must be a non-negative decimal string", "got '1e30'"]),
    ("absurd total of 16 digits", "order.placed", _data(total="1000000000000000.00"),
     ["data.total must be a non-negative decimal string"]),
    ("too many decimals", "order.placed", _data(total="10.12345"),
     ["data.total must be a non-negative decimal string"]),
    ("money as a float", "order.placed", _data(total=469.0),
     ["data.total must be a non-negative decimal string", "got 469.0"]),
    ("negative refund", "order.refunded", _data(amount="-5"),
     ["order.refunded data.amount must be a positive decimal string", "got '-5'"]),
    ("zero refund", "order.refunded", _data(amount="0.00"),
     ["data.amount must be a positive decimal string"]),
    ("lowercase currency", "order.placed", _data(currency="sar"),
     ["data.currency must be an ISO 4217 code", "got 'sar'"]),
    ("currency name", "order.placed", _data(currency="RIYAL"), ["ISO 4217"]),
    ("quantity as a string", "order.placed", _line(quantity="2"),
     ["data.lines[0].quantity must be a whole number from 1 to 9999", "got '2'"]),
    ("quantity as a float", "order.placed", _line(quantity=2.0),
     ["data.lines[0].quantity must be a whole number", "got 2.0"]),
    ("zero quantity", "order.placed", _line(quantity=0), ["quantity must be a whole number"]),
    ("absurd quantity", "order.placed", _line(quantity=10**9), ["quantity must be a whole number"]),
    ("capitalised category", "order.placed", _line(category="Perfume"),
     ["data.lines[0].category must be a lowercase name"]),
    ("no lines", "order.placed", _data(lines=[]),
     ["data.lines must be a list of 1 to 100 order lines", "got a list of 0 items"]),
    ("too many lines", "order.placed",
     lambda m: m["data"].update(lines=m["data"]["lines"][:1] * 101),
     ["data.lines must be a list of 1 to 100 order lines", "got a list of 101 items"]),
    ("rating of six", "review.posted", _data(rating=6),
     ["review.posted data.rating must be a whole number from 1 to 5", "got 6"]),
    ("rating as a boolean", "review.posted", _data(rating=True), ["got true"]),
    ("verified as a string", "review.posted", _data(verified_purchase="yes"),
     ["data.verified_purchase must be true or false", "got 'yes'"]),
    ("score of eleven", "survey.answered", _data(score=11),
     ["survey.answered data.score must be a whole number from 0 to 10", "got 11"]),
    ("negative score", "survey.answered", _data(score=-1), ["from 0 to 10"]),
    ("newsletter as null", "customer.registered", _data(newsletter=None),
     ["data.newsletter must be true or false", "got null"]),
    ("uppercase email hash", "customer.registered", _data(email_sha256="AB" * 32),
     ["data.email_sha256 must be 64 lowercase hexadecimal characters"]),
    ("short email hash", "customer.registered", _data(email_sha256="ab" * 31),
     ["email_sha256 must be 64 lowercase hexadecimal"]),
    ("channel with spaces", "share.posted", _data(channel="Instagram Stories"),
     ["share.posted data.channel must be a lowercase channel name"]),
    ("javascript url", "share.posted", _data(url="javascript:alert(1)"),
     ["data.url must be an http(s) URL"]),
    ("url with a space", "share.posted", _data(url="https://store.example.sa/p/a b"),
     ["data.url must be an http(s) URL"]),
    ("url too long", "share.posted", _data(url="https://store.example.sa/" + "a" * 3000),
     ["data.url must be an http(s) URL of at most 2048 characters", "(3025 characters)"]),
    ("empty event_id", "order.placed", lambda m: m.update(event_id=""),
     ["event_id must be 1-128 visible ASCII characters", "got ''"]),
    ("event_id of 129 characters", "order.placed", lambda m: m.update(event_id="e" * 129),
     ["event_id must be 1-128 visible ASCII characters", "(129 characters)"]),
    ("NUL in customer_id", "order.placed", lambda m: m.update(customer_id="cust\x00"),
     ["customer_id must be 1-128 visible ASCII characters", r"got 'cust\x00'"]),
    ("trailing newline in customer_id", "order.placed",
     lambda m: m.update(customer_id="cust-1001\n"), [r"customer_id must be", r"'cust-1001\n'"]),
    ("escape character in customer_id", "order.placed",
     lambda m: m.update(customer_id="cust\x1b[31m"), ["customer_id must be"]),
    ("right-to-left override in customer_id", "order.placed",
     lambda m: m.update(customer_id="cust\u202e1001"), ["customer_id must be"]),
    ("zero-width space in event_id", "order.placed",
     lambda m: m.update(event_id="evt\u200b1"), ["event_id must be"]),
    ("space in customer_id", "order.placed", lambda m: m.update(customer_id="cust 1001"),
     ["customer_id must be"]),
    ("control character in a referrer id", "referral.created", _data(referrer_id="c\x07"),
     ["referral.created data.referrer_id must be 1-128 visible ASCII characters"]),
    ("control character in a sku", "review.posted", _data(sku="SKU\x7f"),
     ["data.sku must be 1-128 visible ASCII characters"]),
]


@pytest.mark.parametrize(
    ("fact_type", "change", "expected"),
    [case[1:] for case in POISON],
    ids=[case[0] for case in POISON],
)
def test_a_message_that_breaks_the_contract_is_refused_with_a_reason_naming_the_problem(
    fact_type: str, change: Callable[[dict[str, Any]], Any], expected: list[str]
) -> None:
    reason = refused(changed(fact_type, change))

    for fragment in expected:
        assert fragment in reason
    assert len(reason) < 400


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b'{"event_id": "evt-1", "type": ', "not JSON"),
        (b"NaN", "not JSON"),
        (b'{"event_id": "caf\xe9"}', "not JSON: invalid UTF-8, byte 0xe9 at position 17"),
        (b"\xef\xbb\xbf{}", "not JSON"),
        (b"", "empty message"),
        (None, "no value (a Kafka tombstone?)"),
        (12, "message must be bytes, got int"),
        (b"[1, 2]", "message must be a JSON object, got a list of 2 items"),
        (b'"order.placed"', "message must be a JSON object, got 'order.placed'"),
        (b"null", "message must be a JSON object, got null"),
    ],
)
def test_bytes_that_are_not_a_json_object_are_refused_with_a_reason(
    raw: Any, expected: str
) -> None:
    assert expected in refused(raw)


def test_a_message_larger_than_the_limit_is_refused_before_parsing() -> None:
    message = example("share.posted")
    message["data"]["url"] = "https://store.example.sa/" + "a" * MAX_MESSAGE_BYTES

    reason = refused(orjson.dumps(message))

    assert reason.startswith("message is ")
    assert f"more than the limit of {MAX_MESSAGE_BYTES}" in reason


def test_an_envelope_missing_everything_lists_every_missing_field() -> None:
    reason = refused(b"{}")

    assert reason == (
        "message is missing required fields 'event_id', 'type', 'occurred_at', 'customer_id', "
        "'data'"
    )


# -- how validation is built ----------------------------------------------------------------


def test_the_shipped_schemas_compile_to_the_fast_path() -> None:
    checks = contract._validators()  # test seam: the fast path must not silently switch off

    assert checks.fast_envelope is not None
    assert set(checks.fast_bodies) == set(TOPIC_BY_TYPE)


def test_importing_the_contract_reads_no_schema_file() -> None:
    code = "import engine.contract as c; print(c._validators.cache_info().currsize)"

    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )

    assert result.stdout.strip() == "0"


def test_a_missing_schema_folder_is_a_configuration_error_not_an_invalid_fact(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(contract, "SCHEMA_DIR", tmp_path)
    contract._validators.cache_clear()
    try:
        with pytest.raises(ConfigurationError, match="event schemas missing"):
            contract.load_schemas()
        with pytest.raises(ConfigurationError, match="event schemas missing"):
            decode(orjson.dumps(example("order.placed")))
    finally:
        monkeypatch.undo()
        contract._validators.cache_clear()
    assert decode(orjson.dumps(example("order.placed"))).type == "order.placed"


# -- properties -----------------------------------------------------------------------------

JSON_SCALARS = (
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
    | st.sampled_from(["", "-5", "1e30", "12.5\n", "SAR\n", "x" * 129, "2025-01-01T00:00:00",
                       "2025-01-01T00:00:00Z", "0001-01-01T00:00:00+03:00", "order.placed"])
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=12,
)
ENVELOPE_KEYS_LIST = ["event_id", "type", "occurred_at", "customer_id", "data"]
ENVELOPE_KEYS = st.sampled_from(ENVELOPE_KEYS_LIST)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=512))
def test_decode_raises_nothing_but_invalid_fact_on_arbitrary_bytes(raw: bytes) -> None:
    try:
        fact = decode(raw)
    except InvalidFact as refusal:
        assert refusal.reason
    else:
        assert isinstance(fact, Fact)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(ENVELOPE_KEYS | st.text(max_size=12), JSON_VALUES, max_size=7))
def test_decode_raises_nothing_but_invalid_fact_on_arbitrary_json_objects(
    obj: dict[str, Any],
) -> None:
    raw = json.dumps(obj).encode()  # stdlib: also writes NaN, huge ints and lone surrogates
    try:
        fact = decode(raw)
    except InvalidFact as refusal:
        assert refusal.reason
    else:
        assert fact.occurred_at.tzinfo is timezone.utc


# Values at the edges of the schemas: lengths, ranges, trailing newlines, look-alike types.
EDGE_VALUES: list[Any] = [
    None, True, False, -1, 0, 1, 5, 6, 10, 11, 9999, 10000, 2**63, 0.5, 1.0, 2.0,
    "", "x", "x" * 64, "x" * 65, "x" * 128, "x" * 129, "cust-1\n", "SAR", "SAR\n", "sar",
    "0", "0.00", "-5", "1e30", "12.3456", "12.34567", "999999999999.99", "1000000000000",
    "a" * 64, "A" * 64, "a" * 63, "instagram", "x" * 33, "perfume", "perfume\n",
    "https://store.example.sa/p/1", "https://store.example.sa/p/1\n",
    "https://store.example.sa/" + "a" * 2023, "https://store.example.sa/" + "a" * 2024,
    "2025-01-01T00:00:00Z", "2025-01-01T00:00:00Z\n", "order.placed", [], {},
]
EDGES = st.sampled_from(EDGE_VALUES)


@st.composite
def near_valid_messages(draw: st.DrawFn) -> dict[str, Any]:
    """A shipped example with a few fields replaced, removed or added, or a list resized."""
    message = copy.deepcopy(example(draw(st.sampled_from(TYPES))))
    for _ in range(draw(st.integers(0, 3))):
        parent = draw(st.sampled_from(list(_containers(message))))
        keys = list(parent) if isinstance(parent, dict) else list(range(len(parent)))
        action = draw(st.sampled_from(["replace", "replace", "remove", "add", "resize"]))
        value = copy.deepcopy(draw(EDGES | JSON_VALUES))  # EDGES hands out shared objects
        if action == "add" and isinstance(parent, dict):
            parent[draw(st.sampled_from(["extra", "", *ENVELOPE_KEYS_LIST]))] = value
        elif action == "resize" and isinstance(parent, list) and parent:
            parent[:] = (parent * 101)[: draw(st.sampled_from([0, 1, 100, 101]))]
        elif action == "remove" and keys:
            del parent[draw(st.sampled_from(keys))]
        elif keys:
            parent[draw(st.sampled_from(keys))] = value
    return message


def _containers(value: Any) -> Any:
    if isinstance(value, (dict, list)):
        yield value
        for child in value.values() if isinstance(value, dict) else value:
            yield from _containers(child)


def _agree(message: dict[str, Any]) -> bool:
    """Whether the fast path and jsonschema (the reference) give the same verdict."""
    checks = contract._validators()  # test seam: the fast path is an optimisation of these
    fact_type = message.get("type")
    known = isinstance(fact_type, str) and fact_type in TOPIC_BY_TYPE
    envelope_ok = checks.envelope.is_valid(message)
    reference = envelope_ok and known and checks.bodies[fact_type].is_valid(message["data"])
    assert checks.fast_envelope is not None
    fast = checks.fast_envelope(message) and known and checks.fast_bodies[fact_type](
        message["data"]
    )
    return bool(fast) == bool(reference)


def _slots(value: Any) -> Any:
    for container in _containers(value):
        keys = container if isinstance(container, dict) else range(len(container))
        for key in list(keys):
            yield container, key


def _single_edits(base: dict[str, Any]) -> Any:
    """Every message one edit away from ``base``: each field set to each edge value or
    removed, an extra field in each object, each list emptied or grown past its limit."""
    for index, _ in enumerate(list(_slots(base))):
        for value in [*EDGE_VALUES, "REMOVE"]:
            message = copy.deepcopy(base)
            parent, key = list(_slots(message))[index]
            if value == "REMOVE":
                del parent[key]
            else:
                parent[key] = copy.deepcopy(value)
            yield message
    for index, _ in enumerate(list(_containers(base))):
        for size in (0, 1, 100, 101):
            message = copy.deepcopy(base)
            container = list(_containers(message))[index]
            if isinstance(container, dict):
                container["extra"] = size
            elif container:
                container[:] = (container * 101)[:size]
            yield message


@pytest.mark.parametrize("fact_type", TYPES)
def test_the_fast_path_agrees_with_jsonschema_on_every_single_edit_of_an_example(
    fact_type: str,
) -> None:
    edits = list(_single_edits(example(fact_type)))

    disagreements = [message for message in edits if not _agree(message)]

    assert len(edits) > 100
    assert disagreements == []


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(near_valid_messages())
def test_the_fast_path_accepts_exactly_what_jsonschema_accepts(message: dict[str, Any]) -> None:
    assert _agree(message)


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(near_valid_messages())
def test_decode_of_a_near_valid_message_either_succeeds_or_says_why(
    message: dict[str, Any],
) -> None:
    try:
        fact = decode(json.dumps(message).encode())
    except InvalidFact as refusal:
        assert refusal.reason
    else:
        assert decode(encode(fact)) == fact
