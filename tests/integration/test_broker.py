"""The embedded broker launcher against the real Tansu binary."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient

from engine.broker import (
    DEFAULT_PARTITIONS,
    EmbeddedBroker,
    ensure_topics,
    ensure_topics_sync,
    wait_for_broker,
)
from engine.errors import BrokerUnavailable

REPO_ROOT = Path(__file__).resolve().parents[2]


def unique(prefix: str) -> str:
    return f"{prefix}.{uuid.uuid4().hex[:8]}"


def accepts_tcp(bootstrap: str) -> bool:
    host, _, port = bootstrap.rpartition(":")
    try:
        with socket.create_connection((host, int(port)), timeout=0.5):
            return True
    except OSError:
        return False


async def partition_counts(bootstrap: str) -> dict[str, int]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        described = await admin.describe_topics(await admin.list_topics())
        return {topic["topic"]: len(topic["partitions"]) for topic in described}
    finally:
        await admin.close()


def test_launcher_starts_on_a_free_loopback_port_and_answers_metadata(tmp_path: Path) -> None:
    with EmbeddedBroker(log_dir=tmp_path) as broker:
        host, _, port = broker.bootstrap.rpartition(":")
        assert host == "127.0.0.1"
        assert int(port) == broker.port > 0
        assert broker.is_running()
        wait_for_broker(broker.bootstrap, timeout=2)
        assert "ready in" in broker.log_tail()


def test_default_partition_count_is_four() -> None:
    assert DEFAULT_PARTITIONS == 4


def test_ensure_topics_creates_topics_with_the_asked_partition_counts(broker: str) -> None:
    wide, narrow = unique("t.wide"), unique("t.narrow")
    ensure_topics_sync(broker, {wide: DEFAULT_PARTITIONS, narrow: 1})
    counts = asyncio.run(partition_counts(broker))
    assert counts[wide] == 4
    assert counts[narrow] == 1


def test_ensure_topics_leaves_existing_topics_alone(broker: str) -> None:
    topic, other = unique("t.again"), unique("t.other")
    ensure_topics_sync(broker, {topic: 2})
    ensure_topics_sync(broker, {topic: 8, other: 3})
    counts = asyncio.run(partition_counts(broker))
    assert counts[topic] == 2
    assert counts[other] == 3


def test_ensure_topics_works_from_inside_a_running_event_loop(broker: str) -> None:
    topic = unique("t.inloop")

    async def inside_loop() -> None:
        ensure_topics_sync(broker, {topic: 2})  # must not trip over the running loop
        await ensure_topics(broker, {topic: 2})

    asyncio.run(inside_loop())
    assert asyncio.run(partition_counts(broker))[topic] == 2


def test_a_produced_message_can_be_consumed_back(broker: str) -> None:
    topic = unique("t.roundtrip")
    ensure_topics_sync(broker, {topic: DEFAULT_PARTITIONS})

    async def roundtrip() -> tuple[bytes | None, bytes | None, int]:
        producer = AIOKafkaProducer(bootstrap_servers=broker)
        await producer.start()
        try:
            sent = await producer.send_and_wait(topic, b'{"event_id": "e-1"}', key=b"cust-7")
        finally:
            await producer.stop()
        consumer = AIOKafkaConsumer(
            topic, bootstrap_servers=broker, group_id=None, auto_offset_reset="earliest"
        )  # no group: joining one costs ~5 s on Tansu and is not what this test is about
        await consumer.start()
        try:
            record = await asyncio.wait_for(consumer.getone(), timeout=15)
        finally:
            await consumer.stop()
        assert record.partition == sent.partition
        return record.key, record.value, record.offset

    key, value, offset = asyncio.run(roundtrip())
    assert key == b"cust-7"
    assert value == b'{"event_id": "e-1"}'
    assert offset == 0


def test_two_brokers_run_at_once_on_different_ports(tmp_path: Path) -> None:
    with EmbeddedBroker(log_dir=tmp_path / "a") as first, \
            EmbeddedBroker(log_dir=tmp_path / "b") as second:
        assert first.port != second.port
        assert first.is_running() and second.is_running()
        ensure_topics_sync(first.bootstrap, {"only.on.first": 1})
        assert "only.on.first" in asyncio.run(partition_counts(first.bootstrap))
        assert "only.on.first" not in asyncio.run(partition_counts(second.bootstrap))


def test_stop_really_ends_the_process(tmp_path: Path) -> None:
    broker = EmbeddedBroker(log_dir=tmp_path).start()
    pid = broker.pid
    assert pid is not None and accepts_tcp(broker.bootstrap)
    broker.stop()
    assert not broker.is_running()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    assert not accepts_tcp(broker.bootstrap)
    broker.stop()  # a second stop is harmless


def test_stop_kills_a_broker_that_ignores_sigterm(tmp_path: Path) -> None:
    stubborn = tmp_path / "stubborn"
    stubborn.write_text("#!/bin/sh\ntrap '' TERM\nwhile :; do sleep 0.1; done\n")
    stubborn.chmod(0o755)
    broker = EmbeddedBroker(binary=str(stubborn), log_dir=tmp_path, stop_grace=0.5,
                            startup_timeout=0.3)
    started = time.monotonic()
    with pytest.raises(BrokerUnavailable):
        broker.start()  # never answers Kafka, so start gives up and must kill it
    assert time.monotonic() - started < 5
    assert not broker.is_running()


def test_a_stopped_broker_restarts_on_the_same_port(fresh_broker: EmbeddedBroker) -> None:
    port = fresh_broker.port
    ensure_topics_sync(fresh_broker.bootstrap, {"before.restart": 1})
    fresh_broker.stop()
    fresh_broker.start()
    assert fresh_broker.port == port
    # memory storage: what was there before the restart is gone
    assert "before.restart" not in asyncio.run(partition_counts(fresh_broker.bootstrap))


def test_a_bad_binary_path_gives_a_readable_broker_unavailable(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-tansu"
    with pytest.raises(BrokerUnavailable) as raised:
        EmbeddedBroker(binary=str(missing), log_dir=tmp_path).start()
    assert str(missing) in str(raised.value)
    assert "No such file" in str(raised.value)


def test_a_binary_that_exits_at_once_reports_the_tail_of_its_log(tmp_path: Path) -> None:
    broken = tmp_path / "broken-tansu"
    broken.write_text("#!/bin/sh\necho 'boom: storage engine unavailable' >&2\nexit 3\n")
    broken.chmod(0o755)
    with pytest.raises(BrokerUnavailable) as raised:
        EmbeddedBroker(binary=str(broken), log_dir=tmp_path, startup_timeout=5).start()
    assert "exited during startup" in str(raised.value)
    assert "boom: storage engine unavailable" in str(raised.value)


def test_a_taken_port_is_reported_as_in_use(fresh_broker: EmbeddedBroker, tmp_path: Path) -> None:
    with pytest.raises(BrokerUnavailable) as raised:
        EmbeddedBroker(port=fresh_broker.port, log_dir=tmp_path).start()
    assert f"port {fresh_broker.port} is already in use" in str(raised.value)
    assert fresh_broker.is_running()


def test_wait_for_broker_gives_up_on_a_closed_port() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = f"127.0.0.1:{sock.getsockname()[1]}"
    started = time.monotonic()
    with pytest.raises(BrokerUnavailable, match=closed):
        wait_for_broker(closed, timeout=0.5)
    assert time.monotonic() - started < 5


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_run_foreground_stops_cleanly_on_a_signal(sig: signal.Signals, tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    code = (
        "import logging, sys; logging.basicConfig(level=logging.INFO)\n"
        "from engine.broker import EmbeddedBroker\n"
        f"EmbeddedBroker(port={port}, log_dir=sys.argv[1]).run_foreground({{'fg.topic': 2}})\n"
    )
    process = subprocess.Popen([sys.executable, "-c", code, str(tmp_path)], cwd=REPO_ROOT,
                               stderr=subprocess.PIPE, text=True)
    try:
        wait_for_broker(f"127.0.0.1:{port}", timeout=20)
        deadline = time.monotonic() + 10
        while "fg.topic" not in asyncio.run(partition_counts(f"127.0.0.1:{port}")):
            assert time.monotonic() < deadline, "run_foreground never created its topics"
            time.sleep(0.05)
        process.send_signal(sig)
        _, stderr = process.communicate(timeout=15)
    finally:
        process.kill()
    assert process.returncode == 0, stderr
    assert "stopping the broker" in stderr
    assert not accepts_tcp(f"127.0.0.1:{port}")
