"""The back-office API as an attacker meets it, through a real `loyalty api` process: every
route but /healthz and /prometheus wants the key, errors say nothing about the inside, bodies
and pages are bounded, and the key never shows up in what the process logs."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from engine.broker import EmbeddedBroker
from tests.fault.deploy import API_KEY, Deployment, deployment

PUBLIC = {"/healthz", "/prometheus"}  # open by design (README: the HTTP API)
INTERNALS = re.compile(r"Traceback|File \"|site-packages|/work/|\.py\b|psycopg|sqlite3|"
                       r"eventsourcing|Error\(|SELECT ", re.IGNORECASE)


@pytest.fixture
def served(tmp_path: Path, fresh_broker: EmbeddedBroker) -> Iterator[tuple[Deployment, str]]:
    with deployment(tmp_path, broker=fresh_broker) as deployed:
        api = deployed.procs.api()
        yield deployed, f"http://127.0.0.1:{api.port}"


def routes(base: str) -> list[tuple[str, str, dict[str, Any]]]:
    spec = httpx.get(f"{base}/openapi.json", timeout=10).json()
    return [(method.upper(), path, op) for path, ops in spec["paths"].items()
            for method, op in ops.items()]


def concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "cust-0001", path)


def test_every_route_but_health_and_prometheus_refuses_a_missing_or_wrong_key(served):
    _, base = served
    checked = 0
    for method, path, _ in routes(base):
        if path in PUBLIC:
            continue
        for headers in ({}, {"X-API-Key": "wrong"}, {"X-API-Key": API_KEY[:-1] + "x"},
                        {"X-API-Key": API_KEY + "x"}, {"x-api-key": API_KEY.upper()}):
            answer = httpx.request(method, f"{base}{concrete(path)}", headers=headers,
                                   json={} if method == "POST" else None, timeout=10)
            assert answer.status_code == 401, (method, path, headers, answer.text[:200])
            assert API_KEY not in answer.text
            checked += 1
    assert checked >= 5 * 5


def test_errors_never_leak_internals(served):
    _, base = served
    key = {"X-API-Key": API_KEY}
    nasty = {"as_of": "not-a-time", "after": "'; DROP TABLE balances;--", "limit": "abc",
             "grade": "\u202e", "from": "2025-99", "to": "x" * 5000, "by": "decade",
             "sort": "../../etc/passwd", "order": "sideways", "offset": "-1"}
    for method, path, op in routes(base):
        names = [p["name"] for p in op.get("parameters", []) if p["in"] == "query"]
        params = {n: nasty[n] for n in names if n in nasty}
        for member in ("cust-0001", "%00", "a" * 3000, "..%2F..%2Fetc"):
            url = f"{base}{re.sub(r'{[^}]+}', member, path)}"
            answer = httpx.request(method, url, headers=key, params=params, timeout=20,
                                   content=b"{not json" if method == "POST" else None)
            assert answer.status_code < 500, (method, path, answer.status_code, answer.text)
            assert not INTERNALS.search(answer.text), (method, path, answer.text[:500])


def test_request_bodies_above_64_kib_are_refused_with_413(served):
    _, base = served
    key = {"X-API-Key": API_KEY, "Content-Type": "application/json"}
    posts = [path for method, path, _ in routes(base) if method == "POST"]
    assert posts
    big = b'{"reward": "' + b"x" * (65 * 1024) + b'", "request_id": "r-1"}'
    for path in posts:
        url = f"{base}{concrete(path)}"
        assert httpx.post(url, content=big, headers=key, timeout=20).status_code == 413, path
        chunked = httpx.post(url, content=(big[i:i + 4096] for i in range(0, len(big), 4096)),
                             headers=key, timeout=20)
        assert chunked.status_code == 413, path
    small = httpx.post(f"{base}/members/nobody/redemptions", headers=key, timeout=20,
                       json={"reward": "ten-percent-off", "request_id": "r-2"})
    assert small.status_code == 404  # a body under the bound is read as usual


def test_page_sizes_are_bounded(served):
    _, base = served
    key = {"X-API-Key": API_KEY}
    paged = [(path, p["schema"]) for _, path, op in routes(base)
             for p in op.get("parameters", []) if p["in"] == "query" and p["name"] == "limit"]
    assert len(paged) >= 3
    for path, schema in paged:
        # a page of JSON: at most 1,000 items; a CSV export: at most 100,000 rows
        bound = 100_000 if path.endswith(".csv") else 1000
        assert 1 <= schema.get("maximum", 10**12) <= bound, (path, schema)
        url = f"{base}{concrete(path)}"
        for too_many in (schema["maximum"] + 1, 10**9):
            answer = httpx.get(url, headers=key, params={"limit": too_many}, timeout=20)
            assert 400 <= answer.status_code < 500, (path, too_many, answer.status_code)
        for nothing in (0, -5):
            answer = httpx.get(url, headers=key, params={"limit": nothing}, timeout=20)
            assert 400 <= answer.status_code < 500, (path, nothing, answer.status_code)


def test_health_is_open_and_says_no_more_than_up_or_down(served):
    _, base = served
    answer = httpx.get(f"{base}/healthz", timeout=10)
    assert answer.status_code == 200 and answer.json()["status"] == "ok"
    assert not INTERNALS.search(answer.text)


def test_the_key_never_appears_in_the_api_log(served):
    deployed, base = served
    for _ in range(3):
        httpx.get(f"{base}/members/cust-0001", headers={"X-API-Key": API_KEY}, timeout=10)
        httpx.get(f"{base}/members/cust-0001", headers={"X-API-Key": "wrong-key"}, timeout=10)
    api = deployed.procs.started[-1]
    api.stop()
    assert api.full_log(), "the API logged nothing at all; is the log captured?"
    assert API_KEY not in api.full_log()
