"""Paths over a stored history, for scripts/bench.py, each in a fresh process:

    python scripts/bench_store.py replay STORE_URL DATA_DIR
    python scripts/bench_store.py audit STORE_URL DATA_DIR

``replay``: first the baseline (eventsourcing reading the whole notification log in pages and
decoding every event with the application's mapper), then the engine's rebuild of every
projection (``engine.projections.registry.replay`` when the registry has it, else
``runner.rebuild`` of each projection). ``audit``: ``engine.audit.verify.verify`` over the whole
store. Each prints one JSON line.
"""

from __future__ import annotations

import logging
import sys
import time
from pathlib import Path
from typing import Any

import orjson

from engine.config import Settings
from engine.store import LoyaltyStore, open_store

BASELINE_PAGE = 2000


def read_and_decode(store: LoyaltyStore) -> tuple[int, float]:
    """eventsourcing alone: select_notifications page by page, mapper.to_domain_event each."""
    recorder, mapper = store.app.recorder, store.app.mapper
    started = time.perf_counter()
    position, count = 0, 0
    while True:
        page = recorder.select_notifications(  # type: ignore[attr-defined]
            start=position, limit=BASELINE_PAGE, inclusive_of_start=False)
        if not page:
            break
        for notification in page:
            mapper.to_domain_event(notification)
        position = page[-1].id
        count += len(page)
    return count, time.perf_counter() - started


def rebuild_all(store: LoyaltyStore) -> tuple[list[str], float]:
    from engine.projections import registry

    started = time.perf_counter()
    replay = getattr(registry, "replay", None)
    if replay is not None:
        replay(store)
    else:
        from engine.projections.runner import rebuild

        for projection in registry.projections():
            rebuild(store, projection)
    return [p.name for p in registry.projections()], time.perf_counter() - started


def replay_path(store: LoyaltyStore) -> dict[str, Any]:
    events = store.max_notification_id()
    read, read_seconds = read_and_decode(store)
    names, seconds = rebuild_all(store)
    return {"events": events, "projections": names, "seconds": seconds,
            "rate": events / seconds if seconds else 0.0,
            "baseline_events": read, "baseline_seconds": read_seconds,
            "baseline_rate": read / read_seconds if read_seconds else 0.0}


def audit_path(store: LoyaltyStore) -> dict[str, Any]:
    try:
        from engine.audit.verify import verify
    except ImportError as exc:
        return {"skipped": f"engine.audit.verify is not there ({exc})"}
    started = time.perf_counter()
    report = verify(store)
    seconds = time.perf_counter() - started
    return {"events": report.events_checked, "seconds": seconds,
            "rate": report.events_checked / seconds if seconds else 0.0, "ok": report.ok,
            "members": report.members, "events_replayed": report.events_replayed,
            "mismatches": report.mismatch_count, "broken_links": len(report.broken_links)}


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING)
    kind, url, data_dir = sys.argv[1], sys.argv[2], Path(sys.argv[3])
    opened = open_store(Settings(store_url=url, data_dir=data_dir))
    try:
        result = {"replay": replay_path, "audit": audit_path}[kind](opened)
    finally:
        opened.close()
    sys.stdout.write(orjson.dumps(result).decode() + "\n")
