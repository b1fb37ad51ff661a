"""Event-time order across the topics a worker reads.

A member's facts travel on several topics, and Kafka orders records only within one partition of
one topic. A worker with a backlog reads those partitions at different speeds, so a review from
November could reach the ledger before the order from February it is about. The rules are
written in event time (pending windows, tier windows, expiries, caps), so the ledger must see
each member's facts in the order they happened.

The sequencer holds fetched records per partition (in offset order, never reordered within one)
and releases them merged by ``occurred_at``, as Kafka Streams merges a task's partitions: the
record with the earliest time among the partitions' heads goes first, but only once every other
partition either has a record buffered (whose time it can compare) or is known to hold nothing
more (it was fetched up to its end by a poll newer than the head's). A partition is not always
in time order across customers (a storefront re-sending after a broker lost its log mixes old
and new traffic), so a head whose member has an earlier record first in line in another
partition, behind another member's head, waits for it while other members' heads go first;
should every head wait so, the earliest goes. A partition that stays
silent for longer than ``max_idle`` stops holding the others back; its late records are then
applied when they come, as the event_id guard allows.

A record with no readable time (it will be dead-lettered) goes first: nothing to wait for.
"""

from __future__ import annotations

import heapq
import time
from collections import deque
from collections.abc import Callable, Container, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from engine.service import Incoming

NO_TIME = float("-inf")

# (time, topic rank, partition key, offset, source id): ordered by the first four (unique)
Entry = tuple[float, int, str, int, str]
# (partition key, poll stamp of the head's arrival) -> may the merge pass over this partition?
# None: nothing is known of it yet (never polled since it was assigned): it holds the others back
# however long that takes.
CaughtUp = Callable[[str, int], bool | None]
PASS, WAIT_A_WHILE, WAIT = 0, 1, 2
COMPACT_SLACK = 1024  # entries of released records the time heap may hold beyond 2x the held


@dataclass(slots=True)
class Held:
    at: float  # event time in seconds since the epoch; NO_TIME when unreadable
    rank: int  # tie-break between topics at the same instant
    message: Incoming
    polled: int  # the poll stamp of the fetch that brought it (ms, from the consumer)
    since: float  # monotonic time it was buffered
    who: str | None  # the member it is about
    source_id: str = ""  # its event id or command id

    def entry(self, key: str) -> Entry:
        return (self.at, self.rank, key, self.message.offset, self.source_id)


class Sequencer:
    def __init__(self, rank: Callable[[str], int], max_idle: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._rank = rank
        self.max_idle = max_idle
        self._clock = clock
        self.queues: dict[str, deque[Held]] = {}
        # per member and partition, the times of its held records there, in offset order
        self.members: dict[str, dict[str, deque[Entry]]] = {}
        # the same entries in a heap by time; a released one leaves it lazily (``earliest``),
        # or when the heap holds more than twice the records still held (``_note``)
        self.times: list[Entry] = []
        self.noted = 0  # entries in ``members``

    def __len__(self) -> int:
        return sum(len(q) for q in self.queues.values())

    def track(self, keys: Iterable[str]) -> None:
        """Partitions this worker now reads (an empty one may hold the others back)."""
        for key in keys:
            self.queues.setdefault(key, deque())

    def forget(self, keys: Iterable[str]) -> None:
        """Partitions revoked or started over: drop what was buffered from them."""
        for key in keys:
            self.queues.pop(key, None)
        self.members = {}
        self.times = []
        self.noted = 0
        for key, queue in self.queues.items():
            for held in queue:
                if held.who is not None:
                    self._note(held.who, key, held.entry(key))

    def held_back(self) -> HeldBack:
        """Per member with records held, their times and source ids (event or command id): a
        view, read when asked, valid while the sequencer does not change."""
        return HeldBack(self.members, self.earliest)

    def add(self, messages: Iterable[Incoming], polled: int) -> None:
        now = self._clock()
        for message in messages:
            key = message.position_key
            queue = self.queues.setdefault(key, deque())
            decoded = message.decoded
            if decoded is None:
                queue.append(Held(NO_TIME, 0, message, polled, now, None))
                continue
            held = Held(decoded.occurred_at.timestamp(), self._rank(message.topic), message,
                        polled, now, decoded.customer_id,
                        getattr(decoded, "event_id", None) or decoded.command_id)
            queue.append(held)
            self._note(held.who, key, held.entry(key))

    def release(self, caught_up: CaughtUp, limit: int) -> list[Incoming]:
        """Up to ``limit`` records, each member's in event-time order and all of them in
        event-time order as far as the partitions allow, as far as it is known to be safe."""
        heads = [_head(key, q) for key, q in self.queues.items() if q]
        heapq.heapify(heads)
        skipped: list[Entry] = []  # heads whose member has an earlier record held elsewhere
        out: list[Incoming] = []
        blocking: dict[int, int] = {}  # poll stamp -> PASS, WAIT_A_WHILE or WAIT
        now = self._clock()
        while len(out) < limit:
            force = not heads
            if force:  # every head waits for a record behind another head: take the earliest
                if not skipped:
                    break
                heads, skipped = skipped, []
                heapq.heapify(heads)
            entry = heads[0]
            key = entry[2]
            queue = self.queues[key]
            head = queue[0]
            if head.at != NO_TIME:
                verdict = blocking.get(head.polled)
                if verdict is None:
                    verdict = self._verdict(caught_up, head.polled)
                    blocking[head.polled] = verdict
                if verdict == WAIT or (verdict == WAIT_A_WHILE
                                       and now - head.since < self.max_idle):
                    break
            mine = self.members.get(head.who) if head.who is not None else None
            if (mine is not None and not force
                    and _earlier_elsewhere(mine, key, head.entry(key))):
                skipped.append(heapq.heappop(heads))
                continue
            queue.popleft()
            out.append(head.message)
            if mine is not None:
                self._drop(head.who, mine, key)
            if queue:
                heapq.heapreplace(heads, _head(key, queue))
            else:
                heapq.heappop(heads)
                blocking.clear()  # one more partition is empty: judge again
            for waiting_entry in skipped:  # what was just released may have unblocked them
                heapq.heappush(heads, waiting_entry)
            skipped = []
        return out

    def _verdict(self, caught_up: CaughtUp, polled: int) -> int:
        """May a head that came with poll ``polled`` pass the empty partitions?"""
        verdict = PASS
        for key, queue in self.queues.items():
            if queue:
                continue
            known = caught_up(key, polled)
            if known is None:
                return WAIT
            if not known:
                verdict = WAIT_A_WHILE
        return verdict

    def earliest(self) -> float | None:
        """The time of the earliest record held for a member, without walking them all: the
        heap's top, once the entries of records released since are popped. A record is still
        held while its partition's head is at or before its offset (a partition releases in
        offset order, and ``forget`` starts the heap again)."""
        times, queues = self.times, self.queues
        while times:
            entry = times[0]
            queue = queues.get(entry[2])
            if queue and queue[0].message.offset <= entry[3]:
                return entry[0]
            heapq.heappop(times)
        return None

    def _note(self, who: str, key: str, entry: Entry) -> None:
        self.members.setdefault(who, {}).setdefault(key, deque()).append(entry)
        self.noted += 1
        times = self.times
        if len(times) > 2 * self.noted + COMPACT_SLACK:
            # Released entries below the top stay until they surface: drop them all at once
            # (amortised over the entries added since the heap was last this size).
            times = self.times = [e for mine in self.members.values()
                                  for there in mine.values() for e in there]
            heapq.heapify(times)
        else:
            heapq.heappush(times, entry)

    def _drop(self, who: str, mine: dict[str, deque[Entry]], key: str) -> None:
        here = mine[key]
        here.popleft()
        self.noted -= 1
        if not here:
            del mine[key]
            if not mine:
                del self.members[who]


class HeldBack(Mapping[str, list[tuple[datetime, str]]]):
    """The records a sequencer holds back, per member: (time, source id) of each, made when a
    member is asked for (the ledger asks for those its sweep reaches, not for every member
    with a record held, on every batch)."""

    def __init__(self, members: dict[str, dict[str, deque[Entry]]],
                 first: Callable[[], float | None]) -> None:
        self._members = members
        self._first = first  # the earliest held time (``Sequencer.earliest``)

    def __getitem__(self, who: str) -> list[tuple[datetime, str]]:
        return [(datetime.fromtimestamp(entry[0], UTC), entry[4])
                for there in self._members[who].values() for entry in there]

    def __iter__(self) -> Iterator[str]:
        return iter(self._members)

    def __len__(self) -> int:
        return len(self._members)

    def earliest(self) -> datetime | None:
        """The time of the earliest record held back."""
        at = self._first()
        return None if at is None else datetime.fromtimestamp(at, UTC)

    def not_past(self, who: str, goal: datetime, seen: Container[str]) -> datetime:
        """``goal``, or the time of the member's earliest held record whose source id is not
        in ``seen`` when that is earlier. Times are compared as the seconds they are held as
        (``datetime.timestamp`` keeps their order), and only the answer becomes a datetime."""
        mine = self._members.get(who)
        if not mine:
            return goal
        limit = goal.timestamp()
        earlier = None
        for there in mine.values():
            for entry in there:
                if entry[0] < limit and entry[4] not in seen:
                    limit = earlier = entry[0]
        return goal if earlier is None else datetime.fromtimestamp(earlier, UTC)


def _head(key: str, queue: deque[Held]) -> Entry:
    """A partition's place in the merge: its head's time, or the next record's when that is
    earlier. A head dated later than the record behind it (a clock that ran ahead, a message
    made up from another fact) must not hold its partition back while the others run past the
    records behind it."""
    head = queue[0]
    at = head.at
    if len(queue) > 1 and queue[1].at < at:
        at = queue[1].at
    return (at, head.rank, key, head.message.offset, head.source_id)


def _earlier_elsewhere(mine: dict[str, deque[Entry]], key: str, entry: Entry) -> bool:
    """Does the member's first held record in another partition come before ``entry``? (Its
    records behind ``entry`` in the same partition cannot go first anyway: a record older than
    one before it in its own partition is late, whatever is done.)"""
    return any(other != key and there[0] < entry for other, there in mine.items())
