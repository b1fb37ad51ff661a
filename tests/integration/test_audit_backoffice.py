"""The back office's own redemption and sweep paths (``engine.backoffice``) leave sources that
``audit verify`` replays: a history mixing Kafka facts, a redemption and sweeps verifies clean,
and a redemption changed behind the engine's back does not."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson

from engine import backoffice
from engine.audit.verify import verify
from engine.service import Incoming, Ledger
from engine.store import LoyaltyStore
from tests.support.facts import order, registered


def history(store: LoyaltyStore) -> None:
    Ledger(store).handle([
        Incoming("loyalty.customers", 0, 0, registered("r-1", "alice", newsletter=True)),
        Incoming("loyalty.orders", 0, 0, order("o-1", "alice", "900.00")),
        Incoming("loyalty.orders", 0, 1, order("o-2", "bob", "80.00")),
    ])
    backoffice.sweep(store, datetime(2025, 3, 20, tzinfo=UTC))  # o-1, o-2 activate
    backoffice.redeem(store, "alice", "five-off", "req-1",
                      datetime(2025, 3, 21, tzinfo=UTC))
    backoffice.sweep(store, datetime(2026, 6, 1, tzinfo=UTC))  # everything expires


def test_facts_back_office_redemptions_and_sweeps_verify_clean(store):
    history(store)
    kinds = {r["kind"] for r in store.sql.query("SELECT kind FROM source_facts")}
    assert kinds == {"fact", "redemption", "sweep"}
    report = verify(store)
    assert report.ok, [m.to_json() for m in report.mismatches]
    assert report.members == 2 and report.events_replayed == report.events_checked


def test_a_redemption_changed_behind_the_engines_back_is_reported(store):
    history(store)
    row = store.sql.query("SELECT key, payload FROM source_facts WHERE kind = 'redemption'")[0]
    body = orjson.loads(row["payload"])
    body["reward"] = "free-shipping"
    with store.sql.transaction() as cur:
        store.sql.execute(cur, "UPDATE source_facts SET payload = ? WHERE key = ?",
                          (orjson.dumps(body).decode(), row["key"]))
    report = verify(store)
    assert report.broken_links == []
    first = report.mismatches[0]
    assert (first.customer_id, first.event, first.rule, first.source) == (
        "alice", "PointsRedeemed", "redemption", row["key"])
    assert (first.expected["points"], first.found["points"]) == (250, 500)
