"""One worker process for scripts/bench.py: the engine's real ``run_worker``, configured from the
LOYALTY_* environment like ``loyalty worker``, reporting on stdout as JSON lines:

- ``{"event": "assigned", "t": <time.monotonic()>, "rss": <bytes>}`` once partitions are
  assigned (the topics are loaded beforehand, so the first fetch follows at once);
- ``{"event": "done", ...}`` with the worker's own counters and its peak RSS after SIGTERM,
  and the CPU and peak RSS of its projector process.

``time.monotonic`` is CLOCK_MONOTONIC, shared by every process of the machine, so the parent
can compare it with its own clock.
"""

from __future__ import annotations

import asyncio
import logging
import resource
import signal
import sys
import time

import orjson

from engine.config import Settings
from engine.streams.app import WorkerStats
from engine.streams.worker import run_worker


def proc_status(field: str, pid: str = "self") -> int:
    """A memory figure of /proc/<pid>/status in bytes (VmRSS, VmHWM), 0 when unknown."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def say(**fields: object) -> None:
    sys.stdout.write(orjson.dumps(fields).decode() + "\n")
    sys.stdout.flush()


async def main() -> None:
    stats = WorkerStats()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)

    async def watch() -> None:
        while stats.assigned_at is None and stats.first_message_at is None:
            await asyncio.sleep(0.005)
        say(event="assigned", t=stats.assigned_at or stats.first_message_at,
            by="assignment" if stats.assigned_at else "first batch", rss=proc_status("VmRSS"),
            cpu=time.process_time())

    watcher = asyncio.create_task(watch())
    try:
        await run_worker(Settings.from_env(), stop=stop, stats=stats)
    finally:
        watcher.cancel()
        say(event="done", t=time.monotonic(), messages=stats.messages, applied=stats.applied,
            skipped=stats.skipped, dead_lettered=stats.dead_lettered, commands=stats.commands,
            busy_seconds=stats.busy_seconds, first_message_at=stats.first_message_at,
            last_message_at=stats.last_message_at, rss=proc_status("VmRSS"),
            rss_peak=proc_status("VmHWM"), cpu=time.process_time(), **children())


def children() -> dict[str, float]:
    """The CPU and peak RSS of the worker's child processes that have ended (the projector,
    engine/streams/projector.py, is joined before ``run_worker`` returns)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {"children_cpu": usage.ru_utime + usage.ru_stime,
            "children_rss_peak": usage.ru_maxrss * 1024}


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    asyncio.run(main())
