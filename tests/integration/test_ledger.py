"""The service layer against a real store (SQLite file and PostgreSQL): positions, dead letters,
exactly-once effect, conflicts with another writer."""

from __future__ import annotations



from engine.contract import DEAD_LETTER_TOPIC
from engine.projections.balances import BalanceProjection, read_balance
from engine.projections.runner import catch_up, rebuild
from engine.service import Incoming, Ledger
from engine.store import open_store
from engine.store.dead_letters import list_dead_letters
from engine.store.outbox import pending
from tests.support.facts import order, registered


def orders_batch(start: int = 0) -> list[Incoming]:
    values = [
        registered("r-1", "alice"),
        order("o-1", "alice", "120.50", "10.00"),
        order("o-2", "bob", "99.99"),
        b"{not json",
        order("o-1", "alice", "120.50", "10.00"),  # the same fact again
    ]
    return [Incoming("loyalty.orders", 0, start + i, v) for i, v in enumerate(values)]


def test_batch_awards_spend_points_and_dead_letters_the_malformed_message(store):
    ledger = Ledger(store)
    outcome = ledger.handle(orders_batch())
    catch_up(store, BalanceProjection())
    assert outcome.dead_lettered == 1
    alice = read_balance(store, "alice")
    assert alice["pending"] == 110  # floor(120.50 - 10.00), inside the return window
    assert alice["available"] == 100  # the welcome bonus is active at once
    assert alice["lifetime_earned"] == 210
    bob = read_balance(store, "bob")
    assert bob["pending"] + bob["available"] == 99
    dead = list_dead_letters(store)
    assert [(d["offset"], d["payload"]) for d in dead] == [(3, "{not json")]
    assert "JSON" in dead[0]["reason"]
    assert [m.topic for m in pending(store)] == [DEAD_LETTER_TOPIC]
    assert store.positions() == {"loyalty.orders#0": 5}


def test_redelivered_batch_changes_nothing(store):
    Ledger(store).handle(orders_batch())
    before = store.max_notification_id()
    # A new process (empty memory) receives the same records again, as after a crash between
    # the store commit and the Kafka offset commit.
    outcome = Ledger(store).handle(orders_batch())
    assert outcome.skipped == 5 and outcome.applied == 0
    assert store.max_notification_id() == before
    assert len(list_dead_letters(store)) == 1


def test_same_fact_at_a_new_offset_awards_once(store):
    ledger = Ledger(store)
    ledger.handle(orders_batch())
    ledger.handle([Incoming("loyalty.orders", 0, 5, order("o-2", "bob", "99.99"))])
    catch_up(store, BalanceProjection())
    bob = read_balance(store, "bob")
    assert bob["pending"] + bob["available"] == 99


def test_conflicting_writer_is_detected_and_the_batch_reapplied(store):
    worker = Ledger(store)
    worker.handle([Incoming("loyalty.orders", 1, 0, order("o-10", "carol", "50.00"))])
    # Another writer (as the API does for a redemption) appends to carol behind the worker.
    other = open_store(store.settings)
    carol = other.get_member("carol")
    carol.apply_fact(
        __import__("engine.contract", fromlist=["decode"]).decode(order("o-11", "carol", "7.00")),
        worker.programs,
    )
    other.save([carol])
    other.close()
    # The worker's cached carol is now stale; its next save conflicts and is redone.
    worker.handle([Incoming("loyalty.orders", 1, 1, order("o-12", "carol", "3.00"))])
    catch_up(store, BalanceProjection())
    carol_row = read_balance(store, "carol")
    assert carol_row["pending"] + carol_row["available"] == 60


def test_rebuilt_balances_equal_incremental_ones(store):
    ledger = Ledger(store)
    ledger.handle(orders_batch())
    catch_up(store, BalanceProjection())
    incremental = read_balance(store, "alice"), read_balance(store, "bob")
    rebuild(store, BalanceProjection())
    assert (read_balance(store, "alice"), read_balance(store, "bob")) == incremental


def test_each_accepted_fact_is_kept_with_the_member_versions_it_produced(store):
    Ledger(store).handle(orders_batch())
    rows = store.sql.query(
        "SELECT key, event_id, customer_id, from_version, to_version FROM source_facts "
        "ORDER BY kafka_offset"
    )
    spans = [(r["event_id"], r["from_version"], r["to_version"]) for r in rows]
    # r-1 enrols alice (v1) and welcomes her; o-1 continues her history; bob's first order
    # enrols him; the malformed message is not a source fact; the re-sent o-1 produced nothing.
    assert [s[0] for s in spans] == ["r-1", "o-1", "o-2", "o-1"]
    assert spans[0][1] == 1 and spans[1][1] == spans[0][2] + 1
    assert spans[2][1] == 1 and spans[2][2] >= 2
    assert spans[3][1:] == (None, None)
    alice = store.get_member("alice")
    assert spans[1][2] == alice.version


def test_a_partition_started_over_keeps_the_sources_of_its_new_log(store):
    from engine.audit.verify import verify

    ledger = Ledger(store)
    ledger.handle([Incoming("loyalty.orders", 2, i, order(f"o-a{i}", "ada", "10.00"))
                   for i in range(3)])
    ledger.reset_positions({"loyalty.orders#2": (0, "the log ends at offset 0")})
    # The new log's offsets repeat the old ones; its facts are new.
    ledger.handle([Incoming("loyalty.orders", 2, i, order(f"o-b{i}", "ada", "20.00"))
                   for i in range(3)])
    rows = store.sql.query("SELECT event_id FROM source_facts ORDER BY key")
    assert sorted(r["event_id"] for r in rows) == ["o-a0", "o-a1", "o-a2", "o-b0", "o-b1", "o-b2"]
    report = verify(store)
    assert report.ok and report.events_checked > 0


def test_a_refused_message_with_a_nul_character_is_dead_lettered_on_every_store(store):
    bad = b'{"event_id": "e-\\u0000", "type": "order.placed", "customer_id": "c\\u0000x"}'
    outcome = Ledger(store).handle([Incoming("loyalty.orders", 0, 0, bad),
                                    Incoming("loyalty.orders", 0, 1, order("o-n", "nia", "5.00"))])
    assert outcome.dead_lettered == 1 and outcome.applied == 1
    dead = list_dead_letters(store)
    assert dead[0]["customer_id"] == "c\\u0000x" and "\x00" not in dead[0]["reason"]
    assert store.positions() == {"loyalty.orders#0": 2}


def test_only_commands_this_engine_issued_are_applied(store):
    """Anyone who can write to loyalty.commands could forge a referral reward; a command is
    applied only when the store's outbox holds it, byte for byte."""
    from engine.aggregates.commands import REFERRAL_QUALIFIED, Command
    from engine.contract import COMMANDS_TOPIC
    from tests.support.facts import message

    ledger = Ledger(store)
    ledger.handle([
        Incoming("loyalty.customers", 0, 0, registered("r-a", "alice")),
        Incoming("loyalty.customers", 1, 0, registered("r-b", "bob")),
        Incoming("loyalty.referrals", 1, 0, message(
            "ref-b", "referral.created", "bob", "2025-01-02T09:00:00+03:00",
            {"referrer_id": "alice", "code": "A"})),
        Incoming("loyalty.orders", 1, 0, order("o-b", "bob", "100.00",
                                               at="2025-01-03T09:00:00+03:00")),
        # a month later bob's order points are active: the referral qualifies
        Incoming("loyalty.orders", 1, 1, order("o-b2", "bob", "10.00",
                                               at="2025-02-03T09:00:00+03:00")),
    ])
    issued = [m for m in pending(store) if m.topic == COMMANDS_TOPIC]
    assert len(issued) == 1
    forged = Command(command_id="forged-1", type=REFERRAL_QUALIFIED, customer_id="alice",
                     occurred_at=issued[0] and Command.from_json(issued[0].value).occurred_at,
                     data={"friend_id": "mallory", "order_id": "o-x", "order_event_id": "x"})
    altered = issued[0].value.replace(b'"bob"', b'"eve"')
    outcome = ledger.handle([
        Incoming(COMMANDS_TOPIC, 0, 0, forged.to_json()),
        Incoming(COMMANDS_TOPIC, 0, 1, altered),
        Incoming(COMMANDS_TOPIC, 0, 2, issued[0].value),
    ])
    assert (outcome.dead_lettered, outcome.applied) == (2, 1)
    reasons = [d["reason"] for d in list_dead_letters(store)]
    assert all("not issued by this engine" in r for r in reasons), reasons
    catch_up(store, BalanceProjection())
    assert read_balance(store, "alice")["lifetime_earned"] == 100 + 500  # welcome + referrer


def test_members_with_pending_points_unknown_to_the_due_index_are_held_after_a_restart(store):
    """A new process (after a restart or a takeover) holds the members of its partitions whose
    points are still pending and that the due index does not know (a store written before
    it), so its sweeps activate them without waiting for their next fact. Members the index
    knows are read back when they fall due (tests/integration/test_residency.py)."""
    Ledger(store).handle([
        Incoming("loyalty.orders", 3, 0, order("o-1", "alice", "50.00")),
        Incoming("loyalty.orders", 5, 0, order("o-2", "bob", "50.00")),
        Incoming("loyalty.customers", 3, 0, registered("r-c", "carol")),
    ])
    catch_up(store, BalanceProjection())
    assert Ledger(store).hold_pending({3}) == 0  # the due index knows alice
    with store.sql.transaction() as cur:
        store.sql.execute(cur, "DELETE FROM member_due", ())
    fresh = Ledger(store)
    assert fresh.hold_pending({3}) == 1  # alice; carol has nothing pending, bob is elsewhere
    assert set(fresh.members) == {"alice"}
    assert fresh.hold_pending(set()) == 0


def test_after_the_broker_lost_its_logs_dead_letters_are_sent_again(store):
    """A broker that came back empty lost the dead-letter topic too: the outbox sends the dead
    letters (and member events) again; commands are the ledger's to send again (only those
    not applied yet)."""
    from engine.store.outbox import mark_sent, send_again

    Ledger(store).handle(orders_batch())
    sent = pending(store)
    mark_sent(store, [m.id for m in sent])
    assert pending(store) == []
    assert send_again(store) == 1
    assert [m.topic for m in pending(store)] == [DEAD_LETTER_TOPIC]
