"""The balance-read path of scripts/bench.py: ``loyalty api`` as its own process over the stored
history, driven open-loop at a fixed request rate by an httpx/asyncio load generator.

Open loop: request ``i`` is due at ``start + i / rate`` whatever happened to the others, and its
latency counts from that due time, so a slow server cannot hide its queue by slowing the client
(coordinated omission). The run is bounded: ``rate * seconds`` requests over CONNECTIONS
keep-alive connections, and whatever is not answered ``GRACE`` seconds after the last one was
due counts as not answered.
"""

from __future__ import annotations

import asyncio
import os
import random
import socket
import time
from pathlib import Path
from typing import Any

import h11
import httpx
from bench_ingest import BenchError, Child, child_env, python

API_KEY = "bench-key"
GRACE = 10.0
CONNECTIONS = 16
STARTUP_TIMEOUT = 60.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_api(store_url: str, data_dir: Path, log: Path, workers: int = 1) -> tuple[Child, str]:
    port = free_port()
    env = child_env(LOYALTY_STORE_URL=store_url, LOYALTY_DATA_DIR=str(data_dir),
                    LOYALTY_API_KEY=API_KEY)
    child = Child.start([python(), "-m", "engine.cli.main", "api", "--port", str(port),
                         "--workers", str(workers)], env, log)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(child, base, log)
    except BaseException:
        child.stop()  # never leave an API process behind, whatever went wrong
        raise
    return child, base


def _wait_ready(child: Child, base: str, log: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if child.process.poll() is not None:
            raise BenchError(f"the API exited (code {child.process.returncode}); see {log}")
        try:
            if httpx.get(f"{base}/healthz", timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise BenchError(f"the API did not answer /healthz within {STARTUP_TIMEOUT:.0f}s; see {log}")


class _Connection:
    """One keep-alive HTTP/1.1 connection: h11 (the protocol engine under httpx and uvicorn)
    over asyncio streams. httpx's AsyncClient costs about 2.5 ms of client CPU per request
    under this load (measured), enough on two cores to make the client, not the server, the
    bottleneck; h11 alone costs a small fraction of that."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.conn = h11.Connection(h11.CLIENT)

    async def get(self, path: str) -> int:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
            self.conn = h11.Connection(h11.CLIENT)
        assert self.reader is not None
        request = h11.Request(method="GET", target=path, headers=[
            ("Host", f"{self.host}:{self.port}"), ("X-API-Key", API_KEY)])
        self.writer.write(self.conn.send(request) + self.conn.send(h11.EndOfMessage()))
        status = 0
        while True:
            event = self.conn.next_event()
            if event is h11.NEED_DATA:
                data = await self.reader.read(65536)
                if not data:
                    await self.close()
                    raise ConnectionError("the server closed the connection")
                self.conn.receive_data(data)
            elif isinstance(event, h11.Response):
                status = event.status_code
            elif isinstance(event, h11.EndOfMessage):
                break
        if self.conn.our_state is h11.DONE and self.conn.their_state is h11.DONE:
            self.conn.start_next_cycle()
        else:
            await self.close()
        return status

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None


async def _drive(base: str, paths: list[str], rate: float, seconds: float,
                 warmup: float) -> dict[str, Any]:
    total = int(rate * seconds)
    skip = int(rate * warmup)
    latencies: list[float] = []
    service: list[float] = []
    errors: dict[str, int] = {}
    host, _, port = base.removeprefix("http://").partition(":")
    counter = iter(range(skip + total))
    start = time.perf_counter() + 0.05

    async def connection() -> None:
        # CONNECTIONS of these share the due times, so at most CONNECTIONS requests are in
        # flight; a request sent late (all connections busy) still counts from its due time.
        conn = _Connection(host, int(port))
        try:
            for i in counter:
                due = start + i / rate
                delay = due - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                sent = time.perf_counter()
                try:
                    status = await conn.get(paths[i % len(paths)])
                except (OSError, h11.ProtocolError) as exc:
                    await conn.close()
                    if i >= skip:
                        errors[type(exc).__name__] = errors.get(type(exc).__name__, 0) + 1
                    continue
                done = time.perf_counter()
                if i < skip:
                    continue
                if status != 200:
                    errors[str(status)] = errors.get(str(status), 0) + 1
                latencies.append(done - due)
                service.append(done - sent)
        finally:
            await conn.close()

    tasks = [asyncio.create_task(connection()) for _ in range(CONNECTIONS)]
    _, unfinished = await asyncio.wait(tasks, timeout=warmup + seconds + GRACE)
    for task in unfinished:
        task.cancel()
    elapsed = time.perf_counter() - start - warmup
    missing = total - len(latencies) - sum(errors.values())
    if missing > 0:
        errors["not answered in time"] = missing
    return {"requests": total, "answered": len(latencies), "errors": errors,
            "achieved_rate": len(latencies) / elapsed if elapsed > 0 else 0.0,
            **_percentiles("", latencies), **_percentiles("service_", service)}


def _percentiles(prefix: str, values: list[float]) -> dict[str, float | None]:
    if not values:
        return {f"{prefix}p50_ms": None, f"{prefix}p99_ms": None, f"{prefix}max_ms": None}
    ordered = sorted(values)

    def at(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000

    return {f"{prefix}p50_ms": at(0.50), f"{prefix}p99_ms": at(0.99),
            f"{prefix}max_ms": ordered[-1] * 1000}


def process_cpu(pid: int) -> float:
    """CPU seconds (user + system) a process and its live descendants (the API's worker
    processes with ``--workers``) have used so far."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    own = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return own + sum(process_cpu(child) for child in _children(pid))


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        try:
            found += [int(c) for c in task.read_text(encoding="ascii").split()]
        except OSError:
            continue  # the thread ended meanwhile
    return found


def _measured(pid: int, base: str, paths: list[str], rate: float, seconds: float,
              warmup: float) -> dict[str, Any]:
    server, client = process_cpu(pid), time.process_time()
    result = asyncio.run(_drive(base, paths, rate, seconds, warmup))
    answered = max(1, result["answered"])
    total = answered * (1 + warmup / seconds)  # the warm-up's requests used CPU too
    result["server_cpu_ms_per_request"] = (process_cpu(pid) - server) / total * 1000
    result["client_cpu_ms_per_request"] = (time.process_time() - client) / total * 1000
    return result


def balance_reads(store_url: str, data_dir: Path, customers: list[str], log: Path, *,
                  rate: float, seconds: float, warmup: float = 1.0,
                  workers: int = 1) -> dict[str, Any]:
    """p50/p99 of GET /healthz (the baseline) then GET /members/{id} at ``rate`` requests/s,
    on ``loyalty api --workers workers``."""
    ids = list(customers)
    random.Random(11).shuffle(ids)
    child, base = start_api(store_url, data_dir, log, workers)
    pid = child.process.pid
    try:
        health = _measured(pid, base, ["/healthz"], rate, seconds, warmup)
        members = _measured(pid, base, [f"/members/{c}" for c in ids], rate, seconds, warmup)
    finally:
        child.stop()
    return {"rate": rate, "seconds": seconds, "workers": workers, "healthz": health,
            "members": members}
