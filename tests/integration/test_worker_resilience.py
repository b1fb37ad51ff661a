"""The worker against a real broker when things go wrong: signed records required, the broker
losing its log, and /healthz."""

from __future__ import annotations

import asyncio
import base64
import socket
import threading
import time
from dataclasses import replace
from pathlib import Path

import httpx
import pytest

from engine.config import Settings
from engine.projections.balances import read_balance
from engine.publish import Signer, publish_lines, send_raw
from engine.store import open_store
from engine.store.dead_letters import list_dead_letters
from engine.streams.worker import run_worker
from tests.support.facts import order, registered

SECRET = "whsec_" + base64.b64encode(b"a-storefront-secret-of-32-bytes!").decode()


def settings_for(broker: str, tmp_path: Path, **extra) -> Settings:
    return replace(Settings(broker=broker, store_url=str(tmp_path / "l.sqlite"),
                            data_dir=tmp_path, group_id="resilience"), **extra)


def run(settings: Settings, idle: float = 3) -> object:
    return asyncio.run(run_worker(settings, until_idle=idle))


def total(store, customer: str) -> int:
    row = read_balance(store, customer)
    return row["available"] + row["pending"] if row else 0


def test_with_signing_on_only_records_signed_by_a_known_store_are_applied(fresh_broker, tmp_path):
    settings = settings_for(fresh_broker.bootstrap, tmp_path,
                            signing_secrets={"shop-a": SECRET})
    signed = [order("o-s1", "sam", "120.00"), order("o-s2", "sam", "30.00")]
    asyncio.run(publish_lines(settings.broker, signed, Signer("shop-a", SECRET)))
    asyncio.run(publish_lines(settings.broker, [order("o-u1", "sam", "999.00")]))  # unsigned
    forged = Signer("shop-a", "whsec_" + base64.b64encode(b"x" * 32).decode())
    asyncio.run(publish_lines(settings.broker, [order("o-f1", "sam", "500.00")], forged))
    run(settings)
    store = open_store(settings)
    try:
        assert total(store, "sam") == 150
        reasons = {d["event_id"]: d["reason"] for d in list_dead_letters(store)}
    finally:
        store.close()
    assert "unsigned" in reasons["o-u1"] and "bad signature" in reasons["o-f1"]


def test_a_broker_that_lost_its_log_is_noticed_and_re_sent_facts_count_once(fresh_broker,
                                                                            tmp_path):
    settings = settings_for(fresh_broker.bootstrap, tmp_path)
    first = [registered("r-b", "bea")] + [order(f"o-b{i}", "bea", "10.00") for i in range(30)]
    asyncio.run(publish_lines(settings.broker, first))
    run(settings)
    # The broker restarts empty on the same port; new facts arrive, then the storefront
    # re-sends what it had sent. Offsets start again from zero: the new facts sit below the
    # stored position and would be skipped by a worker that trusted it.
    fresh_broker.stop()
    fresh_broker.start()
    later = [order(f"o-c{i}", "bea", "1.00") for i in range(5)]
    asyncio.run(publish_lines(settings.broker, later + first))
    stats = run(settings)
    store = open_store(settings)
    try:
        resets = store.sql.query("SELECT key, reason FROM position_resets")
        assert total(store, "bea") == 100 + 30 * 10 + 5 * 1
    finally:
        store.close()
    assert stats.resets >= 1 and resets
    assert any("before the stored position" in r["reason"] or "not the one applied" in r["reason"]
               for r in resets)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_worker_health_endpoint_reports_its_parts(fresh_broker, tmp_path):
    settings = settings_for(fresh_broker.bootstrap, tmp_path)
    port = free_port()
    stop = None
    seen: dict[str, object] = {}

    def serve() -> None:
        nonlocal stop

        async def main() -> None:
            nonlocal stop
            stop = asyncio.Event()
            await run_worker(settings, stop=stop, health_port=port)

        asyncio.run(main())

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                answer = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
                seen = {"code": answer.status_code, **answer.json()}
                if seen.get("assigned") and seen.get("lag") is not None:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        assert seen.get("code") == 200 and seen["status"] == "ok"
        assert seen["broker"] == "ok" and seen["store"] == "ok"
        assert seen["lag"] == 0  # nothing published: every owned partition read to its end
        assert (seen["members_in_memory"], seen["members_let_go"]) == (0, 0)
        assert seen["projector_restarts"] == 0
        fresh_broker.stop()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            answer = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5)
            if answer.status_code == 503:
                break
            time.sleep(0.5)
        assert answer.status_code == 503 and answer.json()["broker"] == "down"
    finally:
        if stop is not None:
            stop.set()
        thread.join(timeout=30)


def test_a_plain_restart_on_an_intact_log_starts_nothing_over(fresh_broker, tmp_path):
    settings = settings_for(fresh_broker.bootstrap, tmp_path)
    # Sent together, these land in multi-record batches, as a storefront's producer sends.
    asyncio.run(publish_lines(settings.broker, [order(f"o-p{i}", f"p{i % 5}", "10.00")
                                                for i in range(120)]))
    run(settings)
    store = open_store(settings)
    try:
        before = store.positions()
    finally:
        store.close()
    stats = run(settings, idle=2)
    store = open_store(settings)
    try:
        assert store.positions() == before
        assert store.sql.query("SELECT COUNT(*) AS n FROM position_resets")[0]["n"] == 0
    finally:
        store.close()
    assert stats.resets == 0 and sum(before.values()) == 120
