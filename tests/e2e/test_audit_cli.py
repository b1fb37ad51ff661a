"""Audit and what-if as an operator drives them: ``loyalty audit verify``, ``audit digest``,
``simulate`` and ``GET /audit/members/{id}``, each a real process over a SQLite store."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from engine.aggregates.member import member_id
from engine.audit.chain import link_hash
from engine.config import Settings
from engine.program.model import default_text
from engine.store import open_store
from tests.e2e.test_cli_slice import free_port, wait_http
from tests.support.history import build_history, edit_program

API_KEY = "audit-key-0123"


def loyalty(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "engine.cli.main", *args], env=env,
                          capture_output=True, text=True, timeout=300, check=False)


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    data = tmp_path_factory.mktemp("audit-e2e")
    settings = Settings.from_env({"LOYALTY_DATA_DIR": str(data)})
    store = open_store(settings)
    try:
        build_history(store, customers=80, days=400, sweep_after_days=800)
    finally:
        store.close()
    return {**os.environ, "LOYALTY_DATA_DIR": str(data), "LOYALTY_API_KEY": API_KEY,
            "COLUMNS": "200"}


def busiest(env: dict[str, str]) -> str:
    with sqlite3.connect(Path(env["LOYALTY_DATA_DIR"]) / "loyalty.sqlite") as conn:
        return conn.execute("SELECT customer_id FROM source_facts GROUP BY customer_id "
                            "ORDER BY MAX(to_version) DESC LIMIT 1").fetchone()[0]


def test_verify_passes_on_the_honest_history_and_says_how_fast(env):
    shown = loyalty(env, "audit", "verify")
    assert shown.returncode == 0, shown.stdout + shown.stderr
    assert "ledger verified" in shown.stdout and "events/s" in shown.stdout
    report = json.loads(loyalty(env, "audit", "verify", "--json").stdout)
    assert report["ok"] is True and report["mismatch_count"] == 0
    assert report["events_checked"] > 3000 and report["events_per_second"] > 0
    one = json.loads(loyalty(env, "audit", "verify", "--customer", busiest(env), "--json").stdout)
    # No program was ever published here, so there is no catalog to check beside the member.
    assert one["ok"] and one["members"] == 1 and one["originators"] == 1
    assert 0 < one["events_checked"] < report["events_checked"]
    nobody = loyalty(env, "audit", "verify", "--customer", "nobody")
    assert nobody.returncode == 1 and "no member" in nobody.stderr


def test_simulate_with_the_same_program_matches_and_a_richer_one_differs(env, tmp_path):
    same = tmp_path / "same.toml"
    same.write_text(default_text())
    report = json.loads(loyalty(env, "simulate", "--program", str(same), "--json").stdout)
    assert report["simulated"] == report["live"] and report["members_changed"] == 0
    richer = tmp_path / "richer.toml"
    richer.write_text(edit_program(default_text(), "welcome", "points", "300"))
    shown = loyalty(env, "simulate", "--program", str(richer), "--from", "2025-01-01",
                    "--to", "2025-12-31")
    assert shown.returncode == 0, shown.stderr
    assert "welcome" in shown.stdout and "events/s" in shown.stdout
    assert "Members whose tier or balance would change most" in shown.stdout
    report = json.loads(loyalty(env, "simulate", "--program", str(richer), "--json").stdout)
    assert report["simulated"]["issued_by_rule"]["welcome"] == \
        3 * report["live"]["issued_by_rule"]["welcome"]
    bad = loyalty(env, "simulate", "--program", str(richer), "--from", "yesterday")
    assert bad.returncode == 2 and "--from" in bad.stderr


def test_the_api_explains_a_members_awards(env):
    customer = busiest(env)
    port = free_port()
    api = subprocess.Popen([sys.executable, "-m", "engine.cli.main", "api", "--port", str(port)],
                           env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        base = f"http://127.0.0.1:{port}"
        wait_http(f"{base}/healthz")
        url = f"{base}/audit/members/{customer}"
        assert httpx.get(url).status_code == 401
        answer = httpx.get(url, headers={"X-API-Key": API_KEY})
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body["verified"] is True and body["member_id"] == member_id(customer).hex
        spend = [a for a in body["awards"] if a["rule"] == "spend"]
        assert spend and all(a["matches"] for a in body["awards"])
        first = spend[0]
        assert first["recomputed"]["points"] == first["points"]
        assert first["source"]["kind"] == "fact"
        assert first["source"]["payload"]["event_id"] == first["source_event_id"]
        assert httpx.get(f"{base}/audit/members/nobody",
                         headers={"X-API-Key": API_KEY}).status_code == 404
        assert "/audit/members/{customer_id}" in httpx.get(f"{base}/openapi.json").json()["paths"]
    finally:
        api.terminate()
        api.wait(timeout=10)


def test_tampering_fails_verify_and_moves_the_digest(env):
    """Last in this module: it alters the shared store."""
    today = "2099-01-01"  # any day after every record
    before = json.loads(loyalty(env, "audit", "digest", "--date", today, "--json").stdout)
    assert before["digest"] == json.loads(
        loyalty(env, "audit", "digest", "--date", today, "--json").stdout)["digest"]
    customer = busiest(env)
    with sqlite3.connect(Path(env["LOYALTY_DATA_DIR"]) / "loyalty.sqlite") as conn:
        version, state = conn.execute(
            "SELECT originator_version, state FROM stored_events WHERE originator_id = ? AND "
            "topic LIKE '%PointsEarned' ORDER BY originator_version LIMIT 1",
            (member_id(customer).hex,)).fetchone()
        body = json.loads(state)
        body["points"] *= 10
        conn.execute("UPDATE stored_events SET state = ? WHERE originator_id = ? AND "
                     "originator_version = ?",
                     (json.dumps(body).encode(), member_id(customer).hex, version))
        conn.execute("UPDATE event_chain SET hash = ? WHERE originator_id = ? AND "
                     "originator_version = ?", ("0" * 64, member_id(customer).hex, version))
    failed = loyalty(env, "audit", "verify", "--json")
    assert failed.returncode == 1
    report = json.loads(failed.stdout)
    assert report["broken_links"][0]["version"] == version
    assert report["mismatches"][0]["member"] == customer
    shown = loyalty(env, "audit", "verify")
    assert shown.returncode == 1 and "NOT verified" in shown.stdout and customer in shown.stdout
    # Only the chains' last links enter the digest: a forger who makes the chain consistent
    # again must rewrite the last link, and the published digest moves.
    unchanged = json.loads(loyalty(env, "audit", "digest", "--date", today, "--json").stdout)
    assert unchanged["digest"] == before["digest"]
    with sqlite3.connect(Path(env["LOYALTY_DATA_DIR"]) / "loyalty.sqlite") as conn:
        oid = member_id(customer).hex
        last, topic, state, prev = conn.execute(
            "SELECT e.originator_version, e.topic, e.state, c.prev_hash FROM stored_events e "
            "JOIN event_chain c ON c.originator_id = e.originator_id AND "
            "c.originator_version = e.originator_version WHERE e.originator_id = ? "
            "ORDER BY e.originator_version DESC LIMIT 1", (oid,)).fetchone()
        body = json.loads(state)
        body["timestamp"]["_data_"] = "2030-01-01T00:00:00+00:00"
        forged = json.dumps(body).encode()
        conn.execute("UPDATE stored_events SET state = ? WHERE originator_id = ? AND "
                     "originator_version = ?", (forged, oid, last))
        conn.execute("UPDATE event_chain SET hash = ? WHERE originator_id = ? AND "
                     "originator_version = ?", (link_hash(prev, oid, last, topic, forged), oid,
                                                last))
    after = json.loads(loyalty(env, "audit", "digest", "--date", today, "--json").stdout)
    assert after["digest"] != before["digest"] and after["events"] == before["events"]


def test_audit_commands_have_help(env):
    for args in (("audit", "--help"), ("audit", "verify", "--help"),
                 ("audit", "digest", "--help"), ("simulate", "--help")):
        shown = loyalty(env, *args)
        assert shown.returncode == 0 and "Usage" in shown.stdout, args
