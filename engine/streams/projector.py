"""The worker's read models brought up to date by a process of their own, on the other core.

Folding the batches' events into the read models was 31% of the worker's running samples at
400,000 facts, all of it on the batch thread between batches (docs/perf/ingest-profile.md,
view 4). The projector is a child process that runs ``catch_up_all`` whenever the worker says
a batch is stored (and at least every ``POLL`` seconds), so the folds run while the worker
reads and applies the next batch. It is the same catch-up as before, over its own connection:
each page's rows and position in one transaction, guarded by the position it read, so it can
race the API's own catch-up or another worker's projector without counting anything twice
(``engine/projections/runner.py``). Over PostgreSQL the projectors of several workers take
turns through an advisory lock, instead of folding the same pages side by side and throwing
all but one fold away. Decision 0010.

The child ignores SIGINT, which a terminal's Ctrl-C sends to the worker and the child alike:
the worker stops, and asks for one last catch-up first, so that a worker stopped cleanly leaves
its read models up to date. SIGTERM ends the child at once (its page rolls back), as it does
at the interpreter's exit. A worker that dies without a word (SIGKILL, the OOM killer) closes
its end of the pipe the child is woken through: the child reads the end and exits. Whatever
the child did not fold, the next worker's catch-up at start folds.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import time
from typing import Any

from engine.config import Settings

log = logging.getLogger(__name__)

POLL = 1.0  # seconds the child waits for a wake-up before it looks again anyway
WAKE, STOP = b"w", b"s"
RETRY = 1.0  # seconds after a failed catch-up (the store away) before the next one
STOP_GRACE = 300.0  # seconds the last catch-up may take at stop before the child is killed


class Projector:
    """The parent's handle on the child process.

    The two talk through a one-way pipe of one-byte messages, written without blocking: a
    full pipe already holds a wake-up. Nothing is shared that a killed child could leave
    locked (a ``multiprocessing.Event`` whose waiter dies blocks the next ``set``)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._context = multiprocessing.get_context("spawn")  # the worker has threads: no fork
        self._process: Any = None
        self._writer: Any = None
        self.restarts = 0

    def start(self) -> None:
        reader, self._writer = self._context.Pipe(duplex=False)
        self._process = self._context.Process(
            target=follow, args=(self.settings, reader, os.getpid()),
            name="loyalty-projector", daemon=True)
        # SIGINT stays blocked from the fork to the child's own handler (a mask survives exec),
        # so a Ctrl-C while the child starts up does not end it either.
        mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        try:
            self._process.start()
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        reader.close()  # the child's now: at the child's death, writes fail instead of piling
        os.set_blocking(self._writer.fileno(), False)

    def wake(self) -> None:
        """A batch is stored: fold it."""
        self._send(WAKE)

    def _send(self, message: bytes) -> None:
        try:
            self._writer.send_bytes(message)  # five bytes: written whole or not at all
        except OSError:  # full (BlockingIOError): a wake-up is waiting; broken: keep_alive
            pass  # starts a new child

    @property
    def alive(self) -> bool:
        return self._process is not None and self._process.is_alive()

    def keep_alive(self) -> bool:
        """Start the child again if it has died; returns True when it had to."""
        if self._process is None or self._process.is_alive():
            return False
        code = self._process.exitcode
        log.warning("the projector process exited (code %s); starting it again", code)
        self._process.join()
        self._writer.close()
        self.restarts += 1
        self.start()
        return True

    def stop(self, grace: float = STOP_GRACE) -> int | None:
        """One last catch-up, then the child exits; returns its exit code (0: the read models
        hold everything stored before the call), or None when it was not running."""
        process, self._process = self._process, None
        if process is None:
            return None
        os.set_blocking(self._writer.fileno(), True)
        try:
            self._writer.send_bytes(STOP)
        except OSError:
            pass  # the child is gone already
        process.join(grace)
        if process.is_alive():
            log.warning("the projector did not finish its last catch-up in %.0f s; stopping "
                        "it (the next worker folds the rest)", grace)
            process.kill()
            process.join()
        self._writer.close()
        return process.exitcode


def follow(settings: Settings, reader: Any, parent: int) -> None:
    """The child: catch up whenever woken, until asked to stop or orphaned. Exits 0 when its
    last catch-up succeeded, 1 otherwise."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})  # blocked by ``start``
    from engine.heap import Trimmer
    from engine.projections.registry import catch_up_all
    from engine.store import open_store

    store = None
    trim = Trimmer()  # what a catch-up's pages of events freed goes back (engine/heap.py)
    ok = stopping = False
    # Once at start, then whenever woken. ``stopping`` is read before the catch-up, so the
    # last one covers every batch stored before the worker asked.
    # The parent gone also shows as a new parent id, should a process it forked hold the pipe.
    while os.getppid() == parent:
        try:
            if store is None:
                store = open_store(settings)
                # The worker's checkpoint thread copies the log back (decision 0009).
                store.sql.autocheckpoint_off()
            # Over PostgreSQL, several workers' projectors take turns. One that finds another
            # folding lets it: that one reads on to the log's end, and this one looks again
            # at its next wake-up or POLL. Its last catch-up waits its turn.
            with store.sql.fold_lock(wait=stopping) as turn:
                if turn:
                    catch_up_all(store)
            trim()
            ok = True
        except Exception as exc:  # the store is away: try again, as the worker's loop does
            ok = False
            log.warning("projection catch-up failed (%s: %s); will retry",
                        type(exc).__name__, exc)
            if not stopping:
                time.sleep(RETRY)
        if stopping:
            break
        try:
            stopping = _woken(reader) == STOP
        except EOFError:
            break  # the worker is gone; whoever starts next catches up
    if store is not None:
        store.close()
    raise SystemExit(0 if ok else 1)


def _woken(reader: Any) -> bytes | None:
    """Wait up to ``POLL`` for messages and take them all: STOP if one was, else WAKE or None.
    Raises EOFError once the parent's end is closed."""
    got = None
    if reader.poll(POLL):
        while reader.poll(0):
            message = reader.recv_bytes()
            got = STOP if STOP in (got, message) else message
    return got
