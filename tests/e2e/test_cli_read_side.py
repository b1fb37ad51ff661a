"""The read side as an operator drives it, each command a real process: replay, report (also
as a PNG), history, balance --as-of, the read endpoints of the API; and the worker publishing
member events to Kafka."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from aiokafka import AIOKafkaConsumer

from engine.config import Settings
from engine.demo.generate import generate
from engine.projections.registry import catch_up_all
from engine.store import open_store
from tests.e2e.test_cli_slice import free_port, wait_http
from tests.support.facts import order, registered
from tests.support.read_side import feed

API_KEY = "read-key-42"


def loyalty(env: dict[str, str], *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "engine.cli.main", *args], env=env,
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    data = tmp_path_factory.mktemp("read-e2e")
    store = open_store(Settings(store_url=str(data / "loyalty.sqlite"), data_dir=data))
    try:
        feed(store, generate(customers=60, days=200, seed=5), batch=300,
             after_batch=catch_up_all)
    finally:
        store.close()
    return {**os.environ, "LOYALTY_DATA_DIR": str(data), "LOYALTY_API_KEY": API_KEY,
            "LOYALTY_STORE_URL": str(data / "loyalty.sqlite")}


def test_replay_reports_events_per_second_and_changes_nothing(env):
    before = json.loads(loyalty(env, "report", "--json").stdout)
    done = loyalty(env, "replay", "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["projections"] == ["balances", "tiers", "churn", "metrics"]
    assert result["events"] > 1000 and result["events_per_second"] > 0
    assert json.loads(loyalty(env, "report", "--json").stdout) == before
    one = loyalty(env, "replay", "--projection", "churn")
    assert one.returncode == 0 and "events/s" in one.stdout
    unknown = loyalty(env, "replay", "--projection", "nope")
    assert unknown.returncode == 2
    assert "balances, tiers, churn, metrics" in " ".join(unknown.stderr.split())


def test_report_prints_tables_and_draws_a_png(env, tmp_path: Path):
    data = json.loads(loyalty(env, "report", "--json").stdout)
    overall = data["metrics"]["overall"]
    assert overall["orders"] > 0 and overall["buyers"] > 0
    assert sum(row["members"] for row in data["tiers"]["mix"]) == 60
    assert sum(data["churn"].values()) == 60
    plot = tmp_path / "report.png"
    shown = loyalty(env, "report", "--plot", str(plot))
    assert shown.returncode == 0, shown.stderr
    for title in ("Program metrics", "Sales by month", "Tier mix now", "Churn risk"):
        assert title in shown.stdout
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and plot.stat().st_size > 20_000
    bad = loyalty(env, "report", "--from", "2025-13")
    assert bad.returncode != 0 and "month like 2025-06" in " ".join(bad.stderr.split())


def test_history_and_balance_as_of(env):
    history = json.loads(loyalty(env, "history", "cust-0001", "--json", "--limit", "3").stdout)
    assert [item["version"] for item in history["items"]] == [1, 2, 3]
    assert history["items"][0]["type"] == "Enrolled" and history["next"] == 3
    assert "PointsEarned" in loyalty(env, "history", "cust-0001").stdout
    now = json.loads(loyalty(env, "balance", "cust-0001", "--json").stdout)
    assert {"expiring_30d", "next_tier", "points_to_next_tier", "as_of"} <= now.keys()
    same = json.loads(loyalty(env, "balance", "cust-0001", "--json", "--as-of",
                              now["as_of"]).stdout)
    assert same == now
    early = loyalty(env, "balance", "cust-0001", "--as-of", "2020-01-01")
    assert early.returncode == 1 and "no member" in early.stderr
    assert loyalty(env, "balance", "cust-0001", "--as-of", "yesterday").returncode == 2


def test_read_endpoints_behind_the_api_key(env):
    port = free_port()
    api = subprocess.Popen([sys.executable, "-m", "engine.cli.main", "api", "--port", str(port)],
                           env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        base = f"http://127.0.0.1:{port}"
        wait_http(f"{base}/healthz")
        key = {"X-API-Key": API_KEY}
        for path in ("/tiers", "/metrics", "/segments/churn", "/members/cust-0001/history"):
            assert httpx.get(base + path).status_code == 401, path
        member = httpx.get(f"{base}/members/cust-0001", headers=key).json()
        as_of = httpx.get(f"{base}/members/cust-0001", headers=key,
                          params={"as_of": member["as_of"]}).json()
        assert as_of == member
        bad = httpx.get(f"{base}/members/cust-0001", headers=key, params={"as_of": "soon"})
        assert bad.status_code == 400 and "RFC 3339" in bad.json()["detail"]
        first = httpx.get(f"{base}/members/cust-0001/history", headers=key,
                          params={"limit": 2}).json()
        second = httpx.get(f"{base}/members/cust-0001/history", headers=key,
                           params={"limit": 2, "after": first["next"]}).json()
        assert [i["version"] for i in first["items"] + second["items"]] == [1, 2, 3, 4]
        assert httpx.get(f"{base}/members/cust-0001/history", headers=key,
                         params={"limit": 100_000}).status_code == 422
        churn = httpx.get(f"{base}/segments/churn", headers=key,
                          params={"grade": "at_risk", "limit": 5}).json()
        assert churn["total"] == churn["counts"]["at_risk"]
        assert all(item["grade"] == "at_risk" for item in churn["items"])
        assert httpx.get(f"{base}/segments/churn", headers=key,
                         params={"grade": "gold"}).status_code == 422
        metrics = httpx.get(f"{base}/metrics", headers=key, params={"by": "month"}).json()
        assert metrics["months"] and metrics["overall"]["orders"] == sum(
            m["orders"] for m in metrics["months"])
        assert httpx.get(f"{base}/metrics", headers=key,
                         params={"from": "2025-05", "to": "2025-02"}).status_code == 400
        tiers = httpx.get(f"{base}/tiers", headers=key).json()
        assert sum(row["members"] for row in tiers["mix"]) == 60
        paths = httpx.get(f"{base}/openapi.json").json()["paths"]
        assert {"/metrics", "/tiers", "/segments/churn", "/members/{customer_id}/history"} <= set(
            paths)
    finally:
        api.terminate()
        api.wait(timeout=10)


def test_worker_publishes_member_events_to_kafka(fresh_broker, tmp_path: Path):
    env = {**os.environ, "LOYALTY_BROKER": fresh_broker.bootstrap,
           "LOYALTY_DATA_DIR": str(tmp_path / "data"), "LOYALTY_API_KEY": API_KEY}
    events = tmp_path / "events.jsonl"
    events.write_bytes(b"\n".join([
        registered("r-1", "ann", at="2025-01-01T09:00:00+00:00"),
        order("o-1", "ann", "1500.00", at="2025-01-02T09:00:00+00:00"),  # silver at once
    ]) + b"\n")
    assert loyalty(env, "publish", str(events)).returncode == 0
    worker = loyalty(env, "worker", "--until-idle", "3")
    assert worker.returncode == 0, worker.stderr
    received = asyncio.run(_consume(fresh_broker.bootstrap, "loyalty.member-events"))
    assert [(key, body["type"]) for key, body in received] == [("ann", "member.tier_changed")]
    assert received[0][1]["data"]["to_tier"] == "silver"


async def _consume(bootstrap: str, topic: str) -> list[tuple[str, dict]]:
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap,
                                auto_offset_reset="earliest", enable_auto_commit=False)
    await consumer.start()
    try:
        batches = await consumer.getmany(timeout_ms=5000)
        return [(r.key.decode(), json.loads(r.value)) for records in batches.values()
                for r in records]
    finally:
        await consumer.stop()
