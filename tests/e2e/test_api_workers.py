"""`loyalty api --workers N`: N server processes behind one port, each building the app from
the environment."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

from tests.e2e.test_cli_slice import free_port, wait_http

API_KEY = "workers-key"


def test_the_api_answers_from_as_many_processes_as_workers_asked(tmp_path: Path):
    port = free_port()
    env = {**os.environ, "LOYALTY_DATA_DIR": str(tmp_path), "LOYALTY_API_KEY": API_KEY}
    api = subprocess.Popen(
        [sys.executable, "-m", "engine.cli.main", "api", "--port", str(port), "--workers", "2"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(api.stdout or []), daemon=True)
    reader.start()
    try:
        base = f"http://127.0.0.1:{port}"
        wait_http(f"{base}/healthz")
        deadline = time.monotonic() + 20
        while sum("Application startup complete" in line for line in lines) < 2 \
                and time.monotonic() < deadline:
            time.sleep(0.1)
        servers = {int(m.group(1)) for line in lines
                   if (m := re.search(r"Started server process \[(\d+)\]", line))}
        assert len(servers) == 2 and api.pid not in servers
        for _ in range(4):  # whichever process answers, it is the same API
            assert httpx.get(f"{base}/healthz").json() == {"status": "ok", "store": "ok"}
            assert httpx.get(f"{base}/members/alice").status_code == 401
            missing = httpx.get(f"{base}/members/alice", headers={"X-API-Key": API_KEY})
            assert missing.status_code == 404 and "alice" in missing.json()["detail"]
    finally:
        api.terminate()
        api.wait(timeout=20)
        reader.join(timeout=5)
    assert any("Finished server process" in line for line in lines)
