"""Anything a storefront can send: dead-lettered with a reason, and nothing else changes."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from engine.contract import decode
from engine.errors import InvalidFact
from tests.fault.deploy import Expectation, deployment
from tests.fault.fuzz import BUSINESS, MUTATIONS, malformed
from tests.fault.inputs import poison
from tests.fault.kafka import Record
from tests.fault.reference import Reference
from tests.fault.support import MALFORMED, assert_held
from tests.support.facts import order, registered


def test_the_fuzzer_makes_every_kind_and_only_messages_the_contract_refuses(
        expected: Reference):
    made = malformed(expected.history.facts, 600, seed=2)
    assert Counter(p.kind for p in made).keys() == MUTATIONS.keys()
    for item in made:
        if item.business or item.record.value is None:
            continue
        try:
            decode(item.record.value)
        except InvalidFact as exc:
            assert exc.reason
        else:
            raise AssertionError(f"{item.kind}: valid message {item.record.value[:200]!r}")
    assert {p.kind for p in made if p.business} == BUSINESS


def test_malformed_messages_interleaved_are_all_dead_lettered_and_the_ledger_is_identical(
        expected: Reference, tmp_path: Path):
    result = poison(expected, tmp_path, MALFORMED)
    assert result.dead_letters >= MALFORMED
    assert_held(result)


def test_a_tombstone_is_dead_lettered_and_the_facts_behind_it_are_applied(tmp_path: Path):
    records = [
        Record("loyalty.orders", b"tomb", registered("t-reg", "tomb")),
        Record("loyalty.orders", b"tomb", None),  # a record with no value: a Kafka tombstone
        Record("loyalty.orders", b"tomb", order("t-ord", "tomb", "120.00")),
    ]
    records[0] = Record("loyalty.customers", b"tomb", records[0].value)
    with deployment(tmp_path) as deployed:
        deployed.procs.worker(health=False)
        deployed.publish(records)
        deployed.wait_caught_up(Expectation(frozenset({"t-reg", "t-ord"}), dead_letters=1),
                                timeout=90, stall=30)
        dead = deployed.probe.query("SELECT reason FROM dead_letters") or []
    assert len(dead) == 1 and dead[0][0].strip()
