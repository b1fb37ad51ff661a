"""The save path's shortcuts against a real store: on SQLite, events inserted in one statement
with the notification ids SQLite gives them, and hash-chain links that reuse the previous link
this process committed, never one that another writer has since followed or one that did not
land; on PostgreSQL, each originator's last link read in one statement that probes the chain's
index, refusing a write another writer has overtaken."""

from __future__ import annotations

import os
import threading
import uuid
from pathlib import Path

import pytest
from eventsourcing.persistence import IntegrityError, StoredEvent

from engine.aggregates.member import Member
from engine.audit.chain import first_break
from engine.config import Settings
from engine.store import LoyaltyStore, open_store
from engine.store.recorders import LATEST_LINKS, PositionConflict, SideWrites
from tests.unit.rules.builders import T0, book, day, order, registered, share

RULES = book()


def opened(path: Path) -> LoyaltyStore:
    return open_store(Settings(store_url=str(path / "loyalty.sqlite"), data_dir=path))


def chain_break(store: LoyaltyStore, member: Member) -> object:
    oid = member.id.hex
    table = store.app.recorder.events_table_name  # type: ignore[attr-defined]
    events = [(r["originator_version"], r["topic"], bytes(r["state"])) for r in store.sql.query(
        f"SELECT originator_version, topic, state FROM {table} WHERE originator_id = ? "
        "ORDER BY originator_version", (oid,))]
    links = [(r["originator_version"], r["hash"], r["prev_hash"]) for r in store.sql.query(
        "SELECT originator_version, hash, prev_hash FROM event_chain WHERE originator_id = ? "
        "ORDER BY originator_version", (oid,))]
    assert len(events) == len(links) == member.version
    return first_break(oid, events, links)


def test_notification_ids_follow_the_log_and_the_events_keep_their_order(tmp_path: Path):
    store = opened(tmp_path)
    ann = Member(customer_id="ann", timestamp=T0)
    ann.apply_fact(registered("r1", T0), RULES)
    ann.apply_fact(order("o1", "80.00", day(1)), RULES)
    versions = [e.originator_version for e in ann.pending_events]
    ids = store.app.recorder.insert_events(  # the recorder as LoyaltyStore.save calls it
        [store.app.mapper.to_stored_event(e) for e in ann.collect_events()])
    assert list(ids) == list(range(1, len(versions) + 1))
    logged = store.notifications(0, 100)
    assert [n.id for n in logged] == list(ids)
    assert [n.originator_version for n in logged] == versions
    store.close()


def test_links_stay_whole_when_another_writer_moves_the_member_in_between(tmp_path: Path):
    worker, api = opened(tmp_path), opened(tmp_path)
    ann = Member(customer_id="ann", timestamp=T0)
    ann.apply_fact(registered("r1", T0), RULES)
    worker.save([ann])  # the worker now knows ann's last link
    other = api.get_member("ann")
    assert other is not None
    other.apply_fact(share("s1", day(1)), RULES)
    api.save([other])  # another process follows that link
    ann.apply_fact(share("s2", day(2)), RULES)
    with pytest.raises(IntegrityError):
        worker.save([ann])  # stale: refused
    ann = worker.get_member("ann")
    assert ann is not None
    ann.apply_fact(order("o1", "50.00", day(3)), RULES)
    worker.save([ann])
    ann.apply_fact(share("s3", day(4)), RULES)
    worker.save([ann])  # this one from the link kept in memory
    assert chain_break(worker, ann) is None
    assert worker.app.recorder.heads.get(ann.id.hex, ann.version) is not None
    worker.close()
    api.close()


def test_the_remembered_links_start_afresh_past_their_limit(tmp_path: Path):
    store = opened(tmp_path)
    store.app.recorder.heads.limit = 2
    members = [Member(customer_id=name, timestamp=T0) for name in ("ann", "bob", "cid")]
    for m in members:
        m.apply_fact(registered(f"r-{m.customer_id}", T0, customer=m.customer_id), RULES)
        store.save([m])
    assert len(store.app.recorder.heads.links) <= 2
    for m in members:
        m.apply_fact(share(f"s-{m.customer_id}", day(1), customer=m.customer_id), RULES)
    store.save(members)
    for m in members:
        assert chain_break(store, m) is None
    store.close()


def test_over_postgresql_a_write_another_writer_overtook_is_refused(pg_url: str, tmp_path: Path):
    def open_pg() -> LoyaltyStore:
        return open_store(Settings(store_url=pg_url, data_dir=tmp_path))

    worker, api = open_pg(), open_pg()
    members = [Member(customer_id=name, timestamp=T0) for name in ("ann", "bob", "cid")]
    for m in members:
        m.apply_fact(registered(f"r-{m.customer_id}", T0, customer=m.customer_id), RULES)
    worker.save(members)
    other = api.get_member("bob")
    assert other is not None
    other.apply_fact(share("s1", day(1), customer="bob"), RULES)
    api.save([other])
    for m in members:
        m.apply_fact(share(f"s-{m.customer_id}", day(2), customer=m.customer_id), RULES)
    with pytest.raises(IntegrityError, match=f"{other.id.hex} is already at version "
                                              f"{other.version}"):
        worker.save(members)  # bob is stale: the whole batch is refused
    assert api.get_member("ann").version == members[0].version - 1  # type: ignore[union-attr]
    members = [worker.get_member(name) for name in ("ann", "bob", "cid")]
    for m in members:
        assert m is not None
        m.apply_fact(order(f"o-{m.customer_id}", "50.00", day(3), customer=m.customer_id), RULES)
    worker.save(members)  # type: ignore[arg-type]
    for m in members:
        assert chain_break(worker, m) is None  # type: ignore[arg-type]
    worker.close()
    api.close()


def test_over_postgresql_a_batch_of_megabytes_is_stored_while_the_server_is_slow_to_read(
        pg_url: str, tmp_path: Path):
    """The server runs a batch's statements one by one and reads no further meanwhile; a
    batch whose events are megabytes must still go out whole (in psycopg's pipeline mode the
    client stopped sending part of it once the socket was full, and both sides waited for
    good: two workers over one database stopped so)."""
    store = open_store(Settings(store_url=pg_url, data_dir=tmp_path))
    with store.sql.transaction() as cur:  # the statement before the events is slow
        cur.execute("CREATE FUNCTION slow() RETURNS trigger LANGUAGE plpgsql AS "
                    "$$ BEGIN PERFORM pg_sleep(1); RETURN NULL; END $$")
        cur.execute("CREATE TRIGGER slow BEFORE INSERT ON event_chain "
                    "FOR EACH STATEMENT EXECUTE FUNCTION slow()")
    events = [StoredEvent(originator_id=uuid.uuid4(), originator_version=1,
                          topic="engine.aggregates.member:Member.Created",
                          state=os.urandom(8192)) for _ in range(4000)]  # 32 MB
    done: list[object] = []
    saving = threading.Thread(
        target=lambda: done.append(store.app.recorder.insert_events(events)), daemon=True)
    saving.start()
    saving.join(30)
    assert not saving.is_alive(), "the batch was never stored"
    assert len(done[0]) == len(events)  # type: ignore[arg-type]
    assert store.max_notification_id() == len(events)
    store.close()


def test_over_postgresql_the_last_links_are_read_through_the_index_without_statistics(
        pg_url: str, tmp_path: Path):
    store = open_store(Settings(store_url=pg_url, data_dir=tmp_path))
    with store.sql.transaction() as cur:  # 6,000 originators of 10 links, never analysed
        cur.execute("INSERT INTO event_chain SELECT md5(i::text), v, md5(i::text || v), '', '' "
                    "FROM generate_series(1, 6000) i, generate_series(1, 10) v")
    wanted = [r["oid"] for r in store.sql.query(
        "SELECT DISTINCT originator_id AS oid FROM event_chain ORDER BY 1 LIMIT 200")]

    def plan(sql: str, params: list[object]) -> str:
        with store.sql.transaction() as cur:
            cur.execute("EXPLAIN " + sql, params)
            return "\n".join(next(iter(r.values())) for r in cur.fetchall())

    assert "Seq Scan on event_chain" not in plan(LATEST_LINKS, [wanted])
    marks = ", ".join("%s" for _ in wanted)  # the lookup this replaced, for contrast
    assert "Seq Scan on event_chain" in plan(
        "SELECT originator_id, MAX(originator_version) FROM event_chain "
        f"WHERE originator_id IN ({marks}) GROUP BY originator_id", wanted)
    store.close()


def test_a_position_that_does_not_move_forward_refuses_the_whole_batch(store: LoyaltyStore):
    ann = Member(customer_id="ann", timestamp=T0)
    ann.apply_fact(registered("r1", T0), RULES)
    store.save([ann], side=SideWrites(positions={"orders#0": 10, "orders#1": 4}))
    bob = Member(customer_id="bob", timestamp=T0)
    bob.apply_fact(registered("r2", T0, customer="bob"), RULES)
    stale = SideWrites(positions={"orders#1": 9, "orders#0": 10, "shares#2": 1})
    with pytest.raises(PositionConflict, match="orders#0 is already at or past 10"):
        store.save([bob], side=stale)
    assert store.positions() == {"orders#0": 10, "orders#1": 4}
    assert store.get_member("bob") is None
    bob = Member(customer_id="bob", timestamp=T0)  # the refused save took its pending events
    bob.apply_fact(registered("r2", T0, customer="bob"), RULES)
    store.save([bob], side=SideWrites(positions={"orders#1": 9, "orders#0": 11, "shares#2": 1}))
    assert store.positions() == {"orders#0": 11, "orders#1": 9, "shares#2": 1}
    assert store.get_member("bob") is not None
