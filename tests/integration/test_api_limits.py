"""The API's bounds: oversized bodies refused, unexpected errors answered without internals."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from engine.api.app import create_api
from engine.config import Settings

KEY = {"X-API-Key": "k-123"}


def client(tmp_path: Path, **kwargs) -> TestClient:
    settings = Settings(store_url=str(tmp_path / "l.sqlite"), data_dir=tmp_path, api_key="k-123")
    return TestClient(create_api(settings, **kwargs), raise_server_exceptions=False)


def test_a_body_over_64_kib_is_refused_with_413(tmp_path):
    api = client(tmp_path)
    big = {"reward": "x" * (70 * 1024), "request_id": "r"}
    answer = api.post("/members/anyone/redemptions", json=big, headers=KEY)
    assert answer.status_code == 413 and "larger than" in answer.json()["detail"]


def test_a_chunked_body_over_the_bound_is_refused_too(tmp_path):
    api = client(tmp_path)
    chunks = (b"x" * 8192 for _ in range(10))
    answer = api.post("/members/anyone/redemptions", content=chunks,
                      headers={**KEY, "Content-Type": "application/json"})
    assert answer.status_code == 413


def test_an_unexpected_error_answers_500_without_internals(tmp_path):
    def broken_store(_settings):
        raise RuntimeError("secret internals: /etc/passwd at line 42")

    api = client(tmp_path, opener=broken_store)
    answer = api.get("/members/alice", headers=KEY)
    assert answer.status_code == 500
    assert answer.json() == {"detail": "internal error"}
    assert "passwd" not in answer.text and "Traceback" not in answer.text


def test_the_key_is_required_and_compared(tmp_path):
    api = client(tmp_path)
    assert api.get("/members/alice").status_code == 401
    assert api.get("/members/alice", headers={"X-API-Key": "k-12"}).status_code == 401
    assert api.get("/members/alice", headers=KEY).status_code == 404


def test_prometheus_metrics_count_requests_and_show_ledger_gauges(tmp_path):
    api = client(tmp_path)
    api.get("/members/alice", headers=KEY)
    api.get("/members/alice")
    assert api.get("/prometheus").status_code == 401
    text = api.get("/prometheus", headers=KEY).text
    assert 'loyalty_api_requests_total{method="GET",route="/members/{customer_id}",status="404"} 1.0' in text
    assert 'route="/members/{customer_id}",status="401"} 1.0' in text
    assert 'route="/prometheus",status="401"} 1.0' in text
    assert "loyalty_members 0.0" in text and "loyalty_dead_letters 0.0" in text
