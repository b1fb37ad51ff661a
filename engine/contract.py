"""The event contract storefronts publish (DESIGN.md section 3): decoding and routing.

Validation uses the JSON Schema files in ``schemas/``; they are the single source of truth.
The validators are built once, on first use or by ``load_schemas()``, from those files (no I/O at
import time). Valid messages take a compiled fast path; a refused one is re-checked by jsonschema,
which decides and names the problem.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
from jsonschema import Draft202012Validator, validators
from jsonschema.exceptions import SchemaError, ValidationError, best_match
from jsonschema.protocols import Validator
from referencing import Registry, Resource

from engine.errors import ConfigurationError, InvalidFact

if TYPE_CHECKING:
    from referencing._core import Resolver

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

MAX_MESSAGE_BYTES = 64 * 1024
SCHEMA_DIR = Path(__file__).resolve().parents[1] / "schemas"
ENVELOPE_SCHEMA = "envelope.schema.json"


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
    except (KeyError, TypeError):
        raise InvalidFact(f"unknown event type {fact_type!r}") from None


def decode(raw: bytes) -> Fact:
    """Parse and validate one message; raise InvalidFact with a readable reason.

    Refuses: no value (a Kafka tombstone), more than MAX_MESSAGE_BYTES, invalid UTF-8, not JSON,
    not a JSON object, and anything the envelope or the type's body schema refuses.
    """
    if raw is None:
        raise InvalidFact("empty message: no value (a Kafka tombstone?)")
    if isinstance(raw, str):
        raw = raw.encode("utf-8", "surrogatepass")
    if not isinstance(raw, (bytes, bytearray, memoryview)):
        raise InvalidFact(f"message must be bytes, got {type(raw).__name__}")
    size = raw.nbytes if isinstance(raw, memoryview) else len(raw)
    if size == 0:
        raise InvalidFact("empty message")
    if size > MAX_MESSAGE_BYTES:
        raise InvalidFact(f"message is {size} bytes, more than the limit of {MAX_MESSAGE_BYTES}")
    try:
        obj = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidFact(_not_json(bytes(raw), exc)) from None
    return from_dict(obj)


def validate_line(line: bytes) -> Fact:
    """``decode`` for one line of a JSON-lines file (the trailing newline is ignored)."""
    return decode(line.rstrip(b"\r\n"))


def from_dict(obj: dict[str, Any]) -> Fact:
    """Validate an already parsed envelope and its body, and build the Fact."""
    if not isinstance(obj, dict):
        raise InvalidFact(f"message must be a JSON object, got {_show(obj)}")
    checks = _validators()
    fact_type = obj.get("type")
    fast_body = checks.fast_bodies.get(fact_type) if isinstance(fact_type, str) else None
    if not (
        checks.fast_envelope is not None
        and fast_body is not None
        and checks.fast_envelope(obj)
        and fast_body(obj["data"])
    ):
        known = isinstance(fact_type, str) and fact_type in TOPIC_BY_TYPE
        subject = f"{fact_type} " if known else ""
        _check(checks.envelope, obj, "message", subject)
        _check(checks.bodies[fact_type], obj["data"], "data", subject)
    stamp: str = obj["occurred_at"]
    try:
        occurred_at = datetime.fromisoformat(stamp.upper()).astimezone(timezone.utc)
    except (ValueError, OverflowError):
        reason = f"{fact_type} occurred_at {stamp!r} is not a real date and time"
        raise InvalidFact(reason) from None
    return Fact(
        event_id=obj["event_id"],
        type=fact_type,
        occurred_at=occurred_at,
        customer_id=obj["customer_id"],
        data=obj["data"],
    )


def load_schemas() -> None:
    """Load and compile the schemas now (at a worker's start, say) instead of on the first message;
    raises ConfigurationError when they are missing or broken."""
    _validators()


def encode(fact: Fact) -> bytes:
    """Canonical JSON of the fact's envelope: sorted keys, no spaces, UTF-8. Does not validate.

    ``occurred_at`` keeps its own offset (UTC is written ``Z``); Decimals are written as plain
    decimal strings. ``decode(encode(fact)) == fact`` for every decoded fact.
    """
    if fact.occurred_at.utcoffset() is None:
        raise ValueError(f"occurred_at must be timezone-aware, got {fact.occurred_at!r}")
    stamp = fact.occurred_at.isoformat()
    if stamp.endswith("+00:00"):
        stamp = stamp[:-6] + "Z"
    envelope = {
        "event_id": fact.event_id,
        "type": fact.type,
        "occurred_at": stamp,
        "customer_id": fact.customer_id,
        "data": fact.data,
    }
    return orjson.dumps(envelope, option=orjson.OPT_SORT_KEYS, default=_plain_decimal)


# -- validators -----------------------------------------------------------------------------

Check = Callable[[Any], bool]


@dataclass(frozen=True, slots=True)
class _Validators:
    """jsonschema validators (the reference, and the source of reasons) and, when the schemas use
    only keywords ``_compile`` knows, fast predicates that must accept exactly the same values."""

    envelope: Validator
    bodies: dict[str, Validator]
    fast_envelope: Check | None
    fast_bodies: dict[str, Check]


def _is_strict_integer(checker: object, instance: object) -> bool:
    # JSON Schema counts 2.0 as an integer; a float quantity or rating must not reach the rules.
    return type(instance) is int


@functools.lru_cache(maxsize=256)
def _ecma_regex(pattern: str) -> re.Pattern[str]:
    """Compile a JSON Schema (ECMA-262) pattern for Python: ``$`` means end of input there, while
    Python's ``$`` also matches before a final newline (``"cust-1\\n"`` would pass ``^...$``)."""
    out: list[str] = []
    escaped = in_class = False
    for char in pattern:
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
        elif char == "$":
            char = r"\Z"
        out.append(char)
    return re.compile("".join(out))


def _ecma_pattern(
    validator: Validator, pattern: str, instance: Any, schema: dict[str, Any]
) -> Iterator[ValidationError]:
    if isinstance(instance, str) and not _ecma_regex(pattern).search(instance):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


_StrictValidator = validators.extend(
    Draft202012Validator,
    validators={"pattern": _ecma_pattern},
    type_checker=Draft202012Validator.TYPE_CHECKER.redefine("integer", _is_strict_integer),
)


@functools.cache
def _validators() -> _Validators:
    """Load every ``*.schema.json`` once and compile the envelope and body validators."""
    try:
        schemas = {
            path.name: orjson.loads(path.read_bytes())
            for path in sorted(SCHEMA_DIR.glob("*.schema.json"))
        }
        for name, schema in schemas.items():
            _StrictValidator.check_schema(schema)
            if not (isinstance(schema, dict) and isinstance(schema.get("$id"), str)):
                raise ConfigurationError(f"{SCHEMA_DIR / name} must be an object with an $id")
    except (OSError, orjson.JSONDecodeError, SchemaError) as exc:
        raise ConfigurationError(f"cannot load the event schemas from {SCHEMA_DIR}: {exc}") from exc
    missing = [f"{t}.schema.json" for t in (*TOPIC_BY_TYPE, "envelope")]
    missing = [name for name in missing if name not in schemas]
    if missing:
        raise ConfigurationError(f"event schemas missing from {SCHEMA_DIR}: {', '.join(missing)}")
    declared = set(schemas[ENVELOPE_SCHEMA]["properties"]["type"]["enum"])
    if declared != set(TOPIC_BY_TYPE):
        raise ConfigurationError(
            f"{ENVELOPE_SCHEMA} lists types {sorted(declared)} but the engine routes "
            f"{sorted(TOPIC_BY_TYPE)}"
        )
    registry: Registry = Registry().with_resources(
        (schema["$id"], Resource.from_contents(schema)) for schema in schemas.values()
    )
    by_name = {name: _StrictValidator(s, registry=registry) for name, s in schemas.items()}
    fast: dict[str, Check] = {}
    try:
        for name, schema in schemas.items():
            fast[name] = _compile(schema, registry.resolver(schema["$id"]))
    except _Unsupported:
        fast = {}  # a keyword the fast path does not know: validate with jsonschema only
    return _Validators(
        envelope=by_name[ENVELOPE_SCHEMA],
        bodies={t: by_name[f"{t}.schema.json"] for t in TOPIC_BY_TYPE},
        fast_envelope=fast.get(ENVELOPE_SCHEMA),
        fast_bodies={t: fast[f"{t}.schema.json"] for t in TOPIC_BY_TYPE if fast},
    )


# -- fast path ------------------------------------------------------------------------------
# jsonschema walks a typical order in ~350 us (a validator object per property, URL joins per
# $ref). These closures check the same keywords in a few us; any keyword not listed below turns
# the fast path off. A "no" here is only a hint: jsonschema then decides and gives the reason.

_ANNOTATIONS = {"$schema", "$id", "$comment", "$defs", "title", "description", "examples"}
_TYPES: dict[str, Check] = {
    "object": lambda x: isinstance(x, dict),
    "array": lambda x: isinstance(x, list),
    "string": lambda x: isinstance(x, str),
    "integer": lambda x: type(x) is int,
    "number": lambda x: isinstance(x, (int, float)) and not isinstance(x, bool),
    "boolean": lambda x: isinstance(x, bool),
    "null": lambda x: x is None,
}
_OBJECT = {"properties", "required", "additionalProperties"}
_ARRAY = {"items", "minItems", "maxItems"}
_STRING = {"pattern", "minLength", "maxLength"}
_NUMBER = {"minimum", "maximum"}
_KNOWN = _ANNOTATIONS | _OBJECT | _ARRAY | _STRING | _NUMBER | {"type", "enum", "$ref"}


class _Unsupported(Exception):
    pass


def _compile(schema: Any, resolver: Resolver) -> Check:
    if not isinstance(schema, dict) or set(schema) - _KNOWN:
        raise _Unsupported(schema)
    checks: list[Check] = []
    if "$ref" in schema:
        resolved = resolver.lookup(schema["$ref"])
        checks.append(_compile(resolved.contents, resolved.resolver))
    if "type" in schema:
        names = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        kinds = [_TYPES[name] for name in names]
        checks.append(kinds[0] if len(kinds) == 1 else lambda x: any(k(x) for k in kinds))
    if "enum" in schema:
        if not all(isinstance(value, str) for value in schema["enum"]):
            raise _Unsupported(schema)
        allowed = frozenset(schema["enum"])
        checks.append(lambda x: isinstance(x, str) and x in allowed)
    if _OBJECT & set(schema):
        checks.append(_compile_object(schema, resolver))
    if _ARRAY & set(schema):
        checks.append(_compile_array(schema, resolver))
    if _STRING & set(schema):
        checks.append(_compile_string(schema))
    if _NUMBER & set(schema):
        low, high = schema.get("minimum"), schema.get("maximum")
        checks.append(
            lambda x: not isinstance(x, (int, float)) or isinstance(x, bool)
            or ((low is None or x >= low) and (high is None or x <= high))
        )
    return _all_of(checks)


def _all_of(checks: list[Check]) -> Check:
    if len(checks) == 1:
        return checks[0]
    parts = tuple(checks)

    def check(x: Any) -> bool:
        for part in parts:
            if not part(x):
                return False
        return True

    return check


def _compile_object(schema: dict[str, Any], resolver: Resolver) -> Check:
    extra = schema.get("additionalProperties", True)
    if not isinstance(extra, bool):
        raise _Unsupported(schema)
    props = {k: _compile(v, resolver) for k, v in schema.get("properties", {}).items()}
    required = tuple(schema.get("required", ()))

    def check(x: Any) -> bool:
        if not isinstance(x, dict):
            return True
        for key in required:
            if key not in x:
                return False
        for key, value in x.items():
            prop = props.get(key)
            if prop is None:
                if not extra:
                    return False
            elif not prop(value):
                return False
        return True

    return check


def _compile_array(schema: dict[str, Any], resolver: Resolver) -> Check:
    item = _compile(schema.get("items", {}), resolver)
    low, high = schema.get("minItems", 0), schema.get("maxItems")

    def check(x: Any) -> bool:
        if not isinstance(x, list):
            return True
        if len(x) < low or (high is not None and len(x) > high):
            return False
        for value in x:
            if not item(value):
                return False
        return True

    return check


def _compile_string(schema: dict[str, Any]) -> Check:
    low, high = schema.get("minLength", 0), schema.get("maxLength")
    search = _ecma_regex(schema["pattern"]).search if "pattern" in schema else None

    def check(x: Any) -> bool:
        if not isinstance(x, str):
            return True
        if len(x) < low or (high is not None and len(x) > high):
            return False
        return search is None or search(x) is not None

    return check


# -- reasons a person can read --------------------------------------------------------------


def _check(validator: Validator, instance: Any, root: str, subject: str) -> None:
    if next(validator.iter_errors(instance), None) is None:
        return
    error = best_match(validator.iter_errors(instance))
    raise InvalidFact(_reason(error, root, subject))


def _reason(error: ValidationError, root: str, subject: str) -> str:
    where = _path(root, error.absolute_path)
    head = f"{subject}{where}"
    kind, instance, schema = error.validator, error.instance, error.schema
    if kind == "enum" and where == "type":
        return f"unknown event type {_show(instance)}, expected one of {', '.join(TOPIC_BY_TYPE)}"
    if kind == "required":
        missing = [key for key in error.validator_value if key not in instance]
        return f"{head} is missing required field{_plural(missing)} {_names(missing)}"
    if kind == "additionalProperties":
        unknown = sorted(key for key in instance if key not in schema.get("properties", {}))
        return f"{head} has unknown field{_plural(unknown)} {_names(unknown)}"
    if isinstance(schema, dict) and "description" in schema:
        return f"{head} must be {schema['description']}, got {_show(instance)}"
    return f"{head}: {error.message}"


def _path(root: str, parts: Iterable[str | int]) -> str:
    text = "" if root == "message" else root
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or root


def _show(value: Any) -> str:
    if isinstance(value, str):
        return repr(value) if len(value) <= 60 else f"{value[:57]!r}... ({len(value)} characters)"
    if isinstance(value, bool) or value is None:
        return orjson.dumps(value).decode()
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return f"a list of {len(value)} item{_plural(value)}"
    return repr(value)


def _names(keys: list[str]) -> str:
    return ", ".join(repr(key) for key in keys)


def _plural(items: Any) -> str:
    return "" if len(items) == 1 else "s"


def _not_json(raw: bytes, exc: orjson.JSONDecodeError) -> str:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as bad:
        return f"not JSON: invalid UTF-8, byte {raw[bad.start]:#04x} at position {bad.start}"
    return f"not JSON: {exc}"


def _plain_decimal(value: object) -> str:
    if isinstance(value, Decimal):
        return format(value, "f")
    raise TypeError(f"cannot encode {type(value).__name__} as JSON")
