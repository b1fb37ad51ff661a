"""Which members in memory a sweep has to visit: a heap of their next due times.

Every six hours of engine time the ledger sweeps its members to the engine time reached: it
advances each member with an activation, an expiry or a tier review due by then. It used to
ask every member in memory (``Member.next_due``), and most had nothing due. That walk grows
with the members held, not with the facts: 8.7% of the worker's running samples at 200,000
facts and 10,001 members (``docs/perf/ingest-profile.md``, view 5), and each batch walks them
all once more.

The index keeps each member's next due as of its last save. ``due_by`` takes out those due by
a time, and the sweep notes them again with what they have next. A member saved again leaves
its older entry in the heap; entries whose time is no longer the member's are skipped when
they come up, and the heap is rebuilt from the noted times once it holds more than twice as
many entries as members, plus ``COMPACT_SLACK``.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable
from datetime import datetime

COMPACT_SLACK = 1024


class SweepIndex:
    def __init__(self) -> None:
        self.due: dict[str, datetime] = {}  # customer id -> its next due, as last noted
        self.heap: list[tuple[datetime, str]] = []

    def __len__(self) -> int:
        return len(self.due)

    def note(self, customer_id: str, due: datetime | None) -> None:
        """The member's next due now (None: nothing scheduled)."""
        if due is None:
            self.due.pop(customer_id, None)
            return
        if self.due.get(customer_id) == due:
            return  # its entry is in the heap already
        self.due[customer_id] = due
        heapq.heappush(self.heap, (due, customer_id))
        if len(self.heap) > 2 * len(self.due) + COMPACT_SLACK:
            self.heap = [(when, c) for c, when in self.due.items()]
            heapq.heapify(self.heap)

    def drop(self, customer_ids: Iterable[str]) -> None:
        """These members left memory."""
        for customer_id in customer_ids:
            self.due.pop(customer_id, None)

    def clear(self) -> None:
        self.due.clear()
        self.heap.clear()

    def due_by(self, goal: datetime) -> set[str]:
        """The members noted with something due at or before ``goal``. They leave the index:
        note each of them again once swept."""
        found = set()
        heap, due = self.heap, self.due
        while heap and heap[0][0] <= goal:
            when, customer_id = heapq.heappop(heap)
            if due.get(customer_id) == when:
                del due[customer_id]
                found.add(customer_id)
        return found
