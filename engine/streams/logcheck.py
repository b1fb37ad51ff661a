"""Does each assigned partition's log still hold what the store says was applied from it?

A broker that lost its log (the embedded one keeps it in memory) or a recreated topic starts
offsets again from zero. Skipping records below the stored position would then silently drop
new facts. So when partitions are assigned, the worker compares the log with the stored
position: a log that ends before it, or a record at ``position - 1`` that is not the one applied
(by digest), means the partition starts over (the event_id guard keeps re-sent facts from
counting twice).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from aiokafka import AIOKafkaConsumer
from aiokafka.errors import OffsetOutOfRangeError

from engine.service import record_digest
from engine.streams.feed import tp_of

log = logging.getLogger(__name__)

FETCH_TIMEOUT_MS = 3000


async def mismatched_logs(
    bootstrap: str, stored: dict[str, tuple[int, str | None]], keys: Iterable[str]
) -> dict[str, tuple[int, str]]:
    """``key -> (log end, reason)`` for each partition whose log no longer matches."""
    wanted = {key: tp_of(key) for key in keys if stored.get(key, (0, None))[0] > 0}
    if not wanted:
        return {}
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False,
                                auto_offset_reset="none")
    await consumer.start()
    found: dict[str, tuple[int, str]] = {}
    try:
        tps = list(wanted.values())
        consumer.assign(tps)
        # The embedded broker's ListOffsets answers with the last batch's base offset, not the
        # log end, so the end offset alone never proves a reset: the record itself is fetched.
        ends = await consumer.end_offsets(tps)
        for key, tp in wanted.items():
            next_offset, digest = stored[key]
            end = ends.get(tp, 0)
            consumer.seek(tp, next_offset - 1)
            try:
                batch = await consumer.getmany(tp, timeout_ms=FETCH_TIMEOUT_MS, max_records=1)
            except OffsetOutOfRangeError:
                batch = {}
            records = batch.get(tp, [])
            if not records:
                if end < next_offset:
                    found[key] = (end, f"the log ends at offset {end}, before the stored "
                                       f"position {next_offset}")
                continue  # a slow fetch of a log that reaches the position: do not guess
            if records[0].offset != next_offset - 1 or digest is None:
                continue  # retention removed it, or an older store: nothing to compare
            if record_digest(records[0].value or b"") != digest:
                found[key] = (end, f"the record at offset {next_offset - 1} is not the one "
                                   "applied from there")
    finally:
        await consumer.stop()
    return found
