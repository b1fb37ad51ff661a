"""The schema files, their shipped examples and the README's sample messages agree."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource

from engine.contract import TOPIC_BY_TYPE, decode

ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = ROOT / "schemas"
EXAMPLES = SCHEMAS / "examples"
SCHEMA_FILES = sorted(SCHEMAS.glob("*.schema.json"))
EXAMPLE_FILES = sorted(EXAMPLES.glob("*.json"))
ENVELOPE_KEYS = {"event_id", "occurred_at", "customer_id", "data"}
JSON_BLOCK = re.compile(r"^```json[ \t]*\n(.*?)^```", re.MULTILINE | re.DOTALL)


def plain_validator(name: str) -> Draft202012Validator:
    """A stock jsonschema validator: the files must work for any tool, not only the engine."""
    schemas = [json.loads(path.read_text(encoding="utf-8")) for path in SCHEMA_FILES]
    registry: Registry = Registry().with_resources(
        (schema["$id"], Resource.from_contents(schema)) for schema in schemas
    )
    schema = json.loads((SCHEMAS / name).read_text(encoding="utf-8"))
    return Draft202012Validator(schema, registry=registry)


def envelopes_in_markdown(text: str) -> list[tuple[int, dict[str, Any]]]:
    """(line, message) for every message envelope in a ```json block: an object with a "type"
    and at least two other envelope fields. A block may hold one value or JSON lines."""
    found = []
    for block in JSON_BLOCK.finditer(text):
        line = text.count("\n", 0, block.start()) + 1
        body = block.group(1)
        try:
            values = [json.loads(body)]
        except ValueError:
            try:
                values = [json.loads(row) for row in body.splitlines() if row.strip()]
            except ValueError:
                continue  # not JSON (an excerpt with "..." or comments): nothing to check
        for value in values:
            for candidate in value if isinstance(value, list) else [value]:
                if (
                    isinstance(candidate, dict)
                    and "type" in candidate
                    and len(ENVELOPE_KEYS & set(candidate)) >= 2
                ):
                    found.append((line, candidate))
    return found


def _readme_envelopes() -> list[Any]:
    readme = ROOT / "README.md"
    text = readme.read_text(encoding="utf-8") if readme.exists() else ""
    cases = [
        pytest.param(message, id=f"README.md:{line}")
        for line, message in envelopes_in_markdown(text)
    ]
    return cases or [
        pytest.param(None, marks=pytest.mark.skip(reason="README.md has no ```json envelope"))
    ]


@pytest.mark.parametrize("path", SCHEMA_FILES, ids=lambda path: path.name)
def test_every_schema_file_is_a_valid_draft_2020_12_schema_named_by_its_id(path: Path) -> None:
    schema = json.loads(path.read_text(encoding="utf-8"))

    Draft202012Validator.check_schema(schema)

    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"].endswith("/" + path.name)


def test_there_is_one_schema_and_one_example_for_each_event_type() -> None:
    typed = {path.name.removesuffix(".schema.json") for path in SCHEMA_FILES}

    assert typed - {"envelope", "common"} == set(TOPIC_BY_TYPE)
    assert {path.stem for path in EXAMPLE_FILES} == set(TOPIC_BY_TYPE)


def test_the_envelope_and_every_body_refuse_unknown_fields() -> None:
    for path in SCHEMA_FILES:
        schema = json.loads(path.read_text(encoding="utf-8"))
        if path.name != "common.schema.json":
            assert schema["additionalProperties"] is False, path.name


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda path: path.stem)
def test_every_shipped_example_validates_against_the_envelope_and_its_type_schema(
    path: Path,
) -> None:
    message = json.loads(path.read_text(encoding="utf-8"))

    envelope_errors = list(plain_validator("envelope.schema.json").iter_errors(message))
    body_errors = list(plain_validator(f"{path.stem}.schema.json").iter_errors(message["data"]))

    assert message["type"] == path.stem
    assert envelope_errors == []
    assert body_errors == []
    assert decode(path.read_bytes()).type == path.stem


def test_a_schema_refuses_what_its_example_would_be_without_a_required_field() -> None:
    message = json.loads((EXAMPLES / "order.placed.json").read_text(encoding="utf-8"))
    del message["data"]["lines"]

    errors = list(plain_validator("order.placed.schema.json").iter_errors(message["data"]))

    assert [error.validator for error in errors] == ["required"]


def test_envelopes_are_found_in_json_blocks_and_json_lines_but_not_in_other_blocks() -> None:
    text = "\n".join([
        "# Title", "```json", '{"type": "survey.answered", "event_id": "e", "customer_id": "c"}',
        "```", "```json", '{"type": "x", "event_id": "a", "data": {}}',
        '{"type": "y", "occurred_at": "t", "data": {}}', "```",
        "```json", '{"type": "ten-percent-off", "points": 400}', "```",
        "```bash", '{"type": "z", "event_id": "e", "data": {}}', "```",
        "```json", '{"type": "w", "event_id": "e", "data": {...}}', "```",
    ])

    found = envelopes_in_markdown(text)

    assert [(line, message["type"]) for line, message in found] == [(2, "survey.answered"),
                                                                      (5, "x"), (5, "y")]


@pytest.mark.parametrize("message", _readme_envelopes())
def test_every_message_envelope_in_the_readme_decodes(message: dict[str, Any]) -> None:
    fact = decode(json.dumps(message).encode())

    assert fact.type == message["type"]
    assert fact.event_id == message["event_id"]
