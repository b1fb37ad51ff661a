"""Workers over one PostgreSQL database take turns sending the outbox
(``engine/streams/worker.py``, ``flush_outbox``): every message goes out once, and none is left
behind by the worker that found another one sending; that one still sends the referral
commands itself."""

from __future__ import annotations

import asyncio
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from aiokafka.structs import TopicPartition

from engine.config import Settings
from engine.contract import COMMANDS_TOPIC
from engine.projections.member_events import TOPIC
from engine.store import LoyaltyStore, open_store
from engine.store.outbox import any_unsent
from engine.store.recorders import INSERT_OUTBOX
from engine.streams.worker import flush_outbox


class Producer:
    """Records what it is given; each send lets the other tasks run, as a real one does."""

    def __init__(self) -> None:
        self.sent: list[str] = []

    async def send(self, topic: str, value: bytes, *, key: bytes, headers: Any) -> Any:
        await asyncio.sleep(0)
        self.sent.append(value.decode())
        landed = asyncio.get_running_loop().create_future()
        landed.set_result(SimpleNamespace(topic_partition=TopicPartition(topic, 0),
                                          offset=len(self.sent) - 1))
        return landed


def _messages(store: LoyaltyStore, start: int, count: int, topic: str = TOPIC) -> list[str]:
    ids = [f"m{n:06d}" for n in range(start, start + count)]
    with store.sql.transaction() as cur:
        store.sql.execute_many(cur, INSERT_OUTBOX, [(i, topic, "c-1", i) for i in ids])
    return ids


def _stores(pg_url: str, tmp_path: Path) -> tuple[LoyaltyStore, LoyaltyStore]:
    settings = Settings(store_url=pg_url, data_dir=tmp_path)
    return open_store(settings), open_store(settings)


def test_a_worker_that_finds_another_sending_leaves_the_outbox_to_it_but_its_commands(
        pg_url: str, tmp_path: Path) -> None:
    store, other = _stores(pg_url, tmp_path)
    try:
        ids = _messages(store, 0, 30)
        commands = _messages(store, 30, 2, COMMANDS_TOPIC)
        assert other.sql.take_send_turn()
        mine = Producer()
        assert asyncio.run(flush_outbox(store, mine)) == 2
        assert mine.sent == commands and any_unsent(store)
        other.sql.end_send_turn()
        assert asyncio.run(flush_outbox(store, mine)) == 30
        assert mine.sent == commands + ids and not any_unsent(store)
    finally:
        store.close()
        other.close()


def test_two_workers_sending_at_once_send_each_message_once(pg_url: str,
                                                            tmp_path: Path) -> None:
    store, other = _stores(pg_url, tmp_path)
    try:
        ids = _messages(store, 0, 12_000)  # more than one read of unsent messages
        first, second = Producer(), Producer()

        async def both() -> list[int]:
            return list(await asyncio.gather(flush_outbox(store, first),
                                             flush_outbox(other, second)))

        counts = asyncio.run(both())
        assert sum(counts) == len(ids)
        assert sorted(first.sent + second.sent) == ids
        assert not any_unsent(store)
    finally:
        store.close()
        other.close()


def test_what_was_committed_while_the_sender_let_go_is_sent(pg_url: str,
                                                            tmp_path: Path) -> None:
    """The other worker commits and tries to send just before the sender lets go: it finds the
    turn taken and leaves its messages; the sender, having let go, looks once more."""
    store, other = _stores(pg_url, tmp_path)
    try:
        ids = _messages(store, 0, 10)
        theirs: list[str] = []
        let_go = store.sql.end_send_turn

        def commit_then_let_go() -> None:
            if not theirs:
                theirs.extend(_messages(other, 10, 5))
                assert asyncio.run(flush_outbox(other, Producer())) == 0  # the turn is taken
            let_go()

        store.sql.end_send_turn = commit_then_let_go  # type: ignore[method-assign]
        mine = Producer()
        assert asyncio.run(flush_outbox(store, mine)) == 15
        assert mine.sent == ids + theirs and not any_unsent(store)
    finally:
        store.close()
        other.close()
