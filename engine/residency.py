"""Which members a ledger keeps in memory, and how a sweep finds those it let go.

A worker is the single writer of its partitions' members, so it keeps them in memory between
facts: a fact then costs no read from the store. Kept without a bound, a store of a million
members came to 4.3 GiB of worker memory (BENCHMARKS.md). So the ledger keeps at most ``limit``
members; past it, the least recently used go, except those it must not lose sight of (a
referrer with undecided claims, a member a sweep took only part of the way).

A member out of memory still has things falling due (an activation 14 days after an order, an
expiry, a yearly review), and sweeps only reach members in memory. So the store keeps a due
index, ``member_due``: for every member a batch saves, and every member let go with it, the
engine time of its next due (fixed-width UTC text, NULL when nothing is scheduled), written in
the batch's transaction. A full sweep to ``goal`` first reads back the members of the owned
partitions that are due by ``goal`` and not in memory. A row can only be early, never late:
only the worker writes it, each time it saves the member, and the other writers (a redemption,
a back-office sweep) only ever move a member's next due later, so a stale row costs a read and
nothing is missed. After a restart the index finds the due members as it does after an eviction.
"""

from __future__ import annotations

from collections.abc import Collection, Container, Mapping
from itertools import chain, islice

from engine.aggregates.member import Member
from engine.config import DEFAULT_MEMBERS_IN_MEMORY as DEFAULT_LIMIT
from engine.projections.support import ts
from engine.store.app import LoyaltyStore

# Let go of a tenth more than the excess at once, so that a full ledger does not pick victims
# on every batch.
SLACK = 0.1

DueRow = tuple[str, int, str | None]  # customer id, membership partition, next due (UTC text)


def due_members(store: LoyaltyStore, partitions: Collection[int], goal: str
                ) -> list[tuple[str, int]]:
    """The members of ``partitions`` whose next due, as last saved, is at or before ``goal``
    (fixed-width UTC text), with their partition."""
    if not partitions:
        return []
    marks = ", ".join("?" for _ in partitions)
    rows = store.sql.query(
        f"SELECT customer_id, kafka_partition FROM member_due WHERE kafka_partition IN ({marks}) "
        "AND due_at <= ?", (*sorted(partitions), goal))
    return [(str(row["customer_id"]), int(row["kafka_partition"])) for row in rows]


class Residency:
    """The bound on the members in memory, and the membership partition of each of them (its
    due row's partition: the partition its facts arrive on)."""

    def __init__(self, limit: int = DEFAULT_LIMIT) -> None:
        if limit < 1:
            raise ValueError("a ledger keeps at least one member in memory")
        self.limit = limit
        self.partitions: dict[str, int] = {}
        # The next due each member's row holds, as last committed: a row that would not
        # change is not written again (most facts leave a member's next due where it was).
        self.written: dict[str, str | None] = {}
        self.let_go = 0  # members let go since the ledger started

    def due_rows(self, members: Mapping[str, Member]) -> list[DueRow]:
        """The due rows to write for these members (those whose next due moved since their
        row was last written, or that have none yet)."""
        partitions, written = self.partitions, self.written
        rows = []
        for customer_id, member in members.items():
            partition = partitions.get(customer_id)
            if partition is None:
                continue
            due = ts(member.next_due())
            if customer_id not in written or written[customer_id] != due:
                rows.append((customer_id, partition, due))
        return rows

    def committed(self, rows: list[DueRow]) -> None:
        for customer_id, _, due in rows:
            self.written[customer_id] = due

    def clear(self) -> None:
        self.partitions.clear()
        self.written.clear()

    def victims(self, members: Mapping[str, Member], batch: Mapping[str, Member],
                keep: tuple[Container[str], ...]) -> list[str]:
        """Members to let go once the batch is saved, least recently used first: ``members``
        (in use order) before the batch's own, which are used now. None of ``keep``, nor any
        whose partition is not known (no due row could be written for it)."""
        fresh = sum(1 for customer_id in batch if customer_id not in members)
        excess = len(members) + fresh - self.limit
        if excess <= 0:
            return []
        wanted = excess + int(self.limit * SLACK)
        partitions = self.partitions
        order = chain((c for c in members if c not in batch), batch)
        chosen = (c for c in order if c in partitions and not any(c in k for k in keep))
        return list(islice(chosen, wanted))

    def forget(self, customer_ids: list[str]) -> None:
        for customer_id in customer_ids:
            self.partitions.pop(customer_id, None)
            self.written.pop(customer_id, None)
        self.let_go += len(customer_ids)
