"""The runnable core as an operator drives it: broker, publish, worker, balance, dead letters,
API — each a real process."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from engine.publish import send_raw
from tests.support.facts import order, registered

API_KEY = "test-key-0123"


def loyalty(env: dict[str, str], *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "engine.cli.main", *args],
        env=env, capture_output=True, text=True, timeout=timeout,
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def env(fresh_broker, tmp_path: Path) -> dict[str, str]:
    return {
        **os.environ,
        "LOYALTY_BROKER": fresh_broker.bootstrap,
        "LOYALTY_DATA_DIR": str(tmp_path / "data"),
        "LOYALTY_API_KEY": API_KEY,
    }


def test_operator_publishes_runs_the_worker_and_reads_balances(env, tmp_path: Path):
    events = tmp_path / "events.jsonl"
    events.write_bytes(b"\n".join([
        registered("r-a", "alice"),
        order("o-a1", "alice", "250.00", "15.00"),
        order("o-b1", "bob", "80.40"),
        b'{"event_id": "x", "type": "order.placed"}',
        order("o-a1", "alice", "250.00", "15.00"),  # a storefront retry of the same fact
        order("o-a2", "alice", "10.99", at="2025-03-02T10:00:00+03:00"),
    ]) + b"\n")

    published = loyalty(env, "publish", str(events))
    assert published.returncode == 1, published.stderr  # one line refused
    assert "line 4: refused" in published.stderr
    assert "5  sent in all, 1 refused" in published.stdout
    assert "loyalty.orders" in published.stdout and "loyalty.customers" in published.stdout

    # A storefront that skips validation: the worker must dead-letter it and keep going.
    asyncio.run(send_raw(env["LOYALTY_BROKER"], "loyalty.orders", [(b"bob", b"\xff not json")]))

    worker = loyalty(env, "worker", "--until-idle", "2")
    assert worker.returncode == 0, worker.stderr
    assert "6 messages" in worker.stderr

    alice = json.loads(loyalty(env, "balance", "alice", "--json").stdout)
    assert alice["customer_id"] == "alice"
    assert alice["pending"] == 235 + 10  # spend points, once each, in the return window
    assert alice["available"] == 100  # welcome bonus
    assert {"available", "pending", "lifetime_earned", "tier"} <= alice.keys()
    bob = json.loads(loyalty(env, "balance", "bob", "--json").stdout)
    assert bob["pending"] + bob["available"] == 80

    missing = loyalty(env, "balance", "nobody")
    assert missing.returncode == 1 and "no member" in missing.stderr

    dead = json.loads(loyalty(env, "dead-letters", "--json").stdout)
    assert len(dead) == 1
    assert dead[0]["topic"] == "loyalty.orders" and "JSON" in dead[0]["reason"]

    # Running the worker again (a restart) re-reads nothing twice.
    again = loyalty(env, "worker", "--until-idle", "2")
    assert again.returncode == 0
    assert json.loads(loyalty(env, "balance", "alice", "--json").stdout) == alice

    port = free_port()
    api = subprocess.Popen(
        [sys.executable, "-m", "engine.cli.main", "api", "--port", str(port)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        wait_http(f"{base}/healthz")
        assert httpx.get(f"{base}/healthz").json()["status"] == "ok"
        assert httpx.get(f"{base}/members/alice").status_code == 401
        assert httpx.get(f"{base}/members/alice", headers={"X-API-Key": "wrong"}).status_code == 401
        answer = httpx.get(f"{base}/members/alice", headers={"X-API-Key": API_KEY})
        assert answer.status_code == 200
        assert answer.json()["available"] == alice["available"]
        assert httpx.get(f"{base}/members/nobody", headers={"X-API-Key": API_KEY}).status_code == 404
        assert httpx.get(f"{base}/docs").status_code == 200
        assert "/members/{customer_id}" in httpx.get(f"{base}/openapi.json").json()["paths"]
    finally:
        api.terminate()
        api.wait(timeout=10)


def test_every_command_has_help(env):
    for command in ("broker", "publish", "worker", "balance", "dead-letters", "api", "demo"):
        shown = loyalty(env, command, "--help")
        assert shown.returncode == 0 and "Usage" in shown.stdout, command


def wait_http(url: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise AssertionError(f"{url} did not answer within {timeout}s")
