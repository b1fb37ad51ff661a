"""WAL checkpoints of a SQLite store in a thread of their own, for the worker.

In WAL mode every commit appends the pages it changed to the write-ahead log, and by default
the commit that takes the log past 1,000 pages copies the log back into the database file
(an auto-checkpoint) before it returns. On the ingest path that copy ran inside the worker's
own commits: 7% of the real worker's running samples at 400,000 facts, half of them in the
events transaction and half in the projections' (docs/perf/ingest-profile.md, 2026-12-07).

A worker's connections turn the auto-checkpoint off (``AUTOCHECKPOINT_OFF``) and a
``Checkpointer`` thread, on a connection of its own, copies the log back every ``every``
seconds. A PASSIVE checkpoint never waits for a writer and never makes one wait, and SQLite
runs it without Python's interpreter lock, so the copy and its fsync overlap the worker's next
batch on the other core. Durability is unchanged: each commit is in the log, synced, before
it returns; the checkpoint only moves committed pages into the main file. Should the thread
stop (an error is logged and it tries again), the log keeps every commit and only grows; the
next process that opens the store with default settings checkpoints it again.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from pathlib import Path

log = logging.getLogger(__name__)

AUTOCHECKPOINT_OFF = "PRAGMA wal_autocheckpoint = 0"
EVERY_SECONDS = 0.25


class Checkpointer:
    """Copies the store's write-ahead log into its database file every ``every`` seconds, in
    a daemon thread, until ``close``. ``runs`` and ``pages`` count its work."""

    def __init__(self, path: Path, every: float = EVERY_SECONDS) -> None:
        self.path = path
        self.every = every
        self.runs = self.pages = 0
        self._stop = threading.Event()
        self._conn = sqlite3.connect(str(path), isolation_level=None,
                                     check_same_thread=False, timeout=30.0)
        self._thread = threading.Thread(target=self._run, name="wal-checkpoint", daemon=True)
        self._thread.start()

    def checkpoint(self) -> tuple[int, int, int]:
        """One PASSIVE checkpoint: (busy, pages in the log, pages copied back)."""
        busy, logged, copied = self._conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        self.runs += 1
        self.pages += max(0, copied)
        return busy, logged, copied

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            try:
                self.checkpoint()
            except sqlite3.Error as exc:  # the next turn tries again; commits are safe
                log.warning("WAL checkpoint failed (%s); will retry", exc)

    def close(self) -> None:
        """Stop the thread after a last checkpoint, so the log is copied back at exit."""
        self._stop.set()
        self._thread.join()
        try:
            self.checkpoint()
        except sqlite3.Error as exc:
            log.warning("last WAL checkpoint failed (%s)", exc)
        finally:
            self._conn.close()
