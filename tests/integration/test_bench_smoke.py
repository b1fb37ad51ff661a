"""The benchmark suite runs end to end at a tiny size and prints its table. How fast the engine
is, is the benchmark's business (BENCHMARKS.md), not this test's: nothing here is timed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.broker


def test_bench_runs_ingest_replay_and_http_and_prints_the_table(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "bench.py"), "--quick", "--facts", "3000",
         "--paths", "ingest,replay,http", "--http-seconds", "1", "--http-rate", "100",
         "--workdir", str(tmp_path / "bench")],
        check=False, capture_output=True, text=True, timeout=500, cwd=ROOT,
    )
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    lines = done.stdout.splitlines()
    assert lines[0].split() == ["path", "figure", "baseline", "ratio", "target", "met"]
    rows = {line.strip().split("  ")[0]: line for line in lines[2:] if line.strip()}
    for path in ("ingest, SQLite WAL, 1 worker (facts/s)",
                 "ceiling: aiokafka consume + orjson decode",
                 "replay: rebuild all projections (events/s)",
                 "balance read GET /members/{id}, p99"):
        assert path in rows, f"no row {path!r} in:\n{done.stdout}"
        assert " error " not in rows[path]
    assert "faust counting agent" in rows["ingest, SQLite WAL, 1 worker (facts/s)"]
    assert "eventsourcing read+decode" in rows["replay: rebuild all projections (events/s)"]
