"""The Member aggregate: a customer's points ledger (lots), tier and referral state.

Public methods decide (``member_facts``, ``member_referrals`` and ``member_time`` hold the
deciding halves); the ``@event`` methods below only assign state and are replayed on load. Event
timestamps are engine time: the fact's ``occurred_at`` or the due time of an activation,
expiry, lapse or review, never the wall clock. Payloads hold JSON values only (datetimes as
ISO strings), and the state holds only dicts, lists, str, int, bool, None and datetimes, so
that snapshots transcode too.

Ledger: lifetime_earned - redeemed - reversed - expired = available + pending, at every version.
"""

from __future__ import annotations

import dataclasses
import heapq
import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import (
    Aggregate,
    BoundCommandMethodDecorator,
    CommandMethodDecorator,
    decorated_func_callers,
    event,
)

from engine.aggregates.commands import Command
from engine.aggregates.member_facts import FactHandlers
from engine.aggregates.member_referrals import ReferralHandlers
from engine.aggregates.member_time import TimeKeeping
from engine.errors import RedemptionRefused
from engine.program.model import ProgramBook, default_program
from engine.rules.expiry import expiring_within
from engine.rules.pending import ACTIVE, CANCELLED, PENDING
from engine.rules.redemptions import coupon_code, plan_redemption, resolve_reward
from engine.rules.shares import remember
from engine.rules.tiers import next_tier

MEMBER_NAMESPACE = uuid5(NAMESPACE_URL, "loyalty-engine:member")
LOWEST_TIER = "bronze"


def member_id(customer_id: str) -> UUID:
    return uuid5(MEMBER_NAMESPACE, customer_id)


def _dt(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


@dataclass(frozen=True, slots=True)
class Redemption:
    """A redemption's result. ``commands`` are those that the time advanced to ``at`` produced
    (referral messages): the caller forwards them like a fact's commands."""

    request_id: str
    customer_id: str
    reward: str
    points: int
    coupon: str
    at: datetime
    lots: list[list[Any]]
    commands: list[Command] = field(default_factory=list, compare=False)


class Member(FactHandlers, ReferralHandlers, TimeKeeping, Aggregate):
    """A loyalty member (see the module docstring for the rules of the state)."""

    @staticmethod
    def create_id(customer_id: str) -> UUID:  # type: ignore[override]
        return member_id(customer_id)

    @event("Enrolled")
    def __init__(self, customer_id: str, timestamp: datetime) -> None:
        self.customer_id = customer_id
        self.seen: dict[str, None] = {}  # source event ids and command ids applied
        self.lots: dict[str, dict[str, Any]] = {}
        self.orders: dict[str, dict[str, Any]] = {}
        # heaps of [due, lot_id]; their heads are always live (see _tidy)
        self.activation_queue: list[list[Any]] = []
        self.expiry_queue: list[list[Any]] = []
        self.lapse_queue: list[list[Any]] = []
        self.available = self.pending = self.lifetime_earned = 0
        self.redeemed = self.reversed = self.expired = self.shortfall = 0
        self.qualifying = 0
        self.tier = LOWEST_TIER
        self.tiers_reached: list[str] = [LOWEST_TIER]
        self.next_review_at: datetime | None = None
        self.share_times: list[datetime] = []
        self.email_sha256: str | None = None
        self.newsletter = False
        self.referral: dict[str, Any] | None = None  # as a friend: referrer_id, status, order_id
        self.referred_friends: dict[str, None] = {}  # as a referrer: friends rewarded for
        self.referral_reward_times: list[datetime] = []
        # as a referrer: claims received and not decided yet, by command id (friend_id,
        # friend_email_sha256, at); decided in time order by ``settle_referrals``
        self.referral_claims: dict[str, dict[str, Any]] = {}
        self.redemptions: dict[str, dict[str, Any]] = {}
        self.last_activity: datetime | None = None

    # -- redemptions ------------------------------------------------------------------------

    def redeem(self, request_id: str, reward: str, at: datetime,
               programs: ProgramBook) -> Redemption:
        """Spend points on a catalog reward, soonest-expiring active lots first. Idempotent by
        ``request_id``: the same request returns the same result and spends once.

        Time is first advanced to ``at`` (so expired points are never spent and due points are
        spendable); those events are valid whatever the outcome. Raises ``RedemptionRefused``
        for an unknown reward, a request id reused for another reward, or a short balance
        (the message gives the available amount)."""
        done = self.redemptions.get(request_id)
        if done is not None:
            if done["reward"] != reward:
                raise RedemptionRefused(f"request {request_id} was already used to redeem "
                                        f"{done['reward']}, not {reward}")
            return self._redemption(request_id, done, [])
        program = programs.in_force_at(at)
        _, cost = resolve_reward(reward, program)
        commands = self.advance(at, programs)
        plan = plan_redemption(reward, cost, self.available, self.pending, self.active_lots())
        self._points_redeemed(request_id=request_id, reward=reward, points=cost,
                              coupon=coupon_code(self.id, request_id), lots=plan,
                              program_version=program.version, timestamp=at)
        return self._redemption(request_id, self.redemptions[request_id], commands)

    def _redemption(self, request_id: str, done: dict[str, Any],
                    commands: list[Command]) -> Redemption:
        return Redemption(
            request_id=request_id, customer_id=self.customer_id, reward=done["reward"],
            points=done["points"], coupon=done["coupon"], at=done["at"],
            lots=[list(pair) for pair in done["lots"]], commands=commands,
        )

    # -- reading ------------------------------------------------------------------------

    def view(self, now: datetime, programs: ProgramBook | None = None) -> dict[str, Any]:
        """The balance view as of the last event (call ``advance(now)`` first to bring due
        activations and expiries in); ``expiring_30d`` and the next tier are judged at ``now``
        under the program then in force."""
        program = programs.in_force_at(now) if programs is not None else default_program()
        points, soonest = expiring_within(self.expiry_queue, self.lots, now)
        upcoming, to_next = next_tier(self.tier, self.qualifying, program)
        return {
            "customer_id": self.customer_id, "available": self.available,
            "pending": self.pending, "lifetime_earned": self.lifetime_earned,
            "redeemed": self.redeemed, "reversed": self.reversed, "expired": self.expired,
            "shortfall": self.shortfall,
            "expiring_30d": {"points": points, "date": soonest},
            "tier": self.tier, "qualifying_points": self.qualifying,
            "next_tier": upcoming, "points_to_next_tier": to_next,
            "last_activity": self.last_activity,
        }

    def active_lots(self) -> Any:
        """(lot_id, remaining) of active lots with points left, soonest expiring first."""
        lots = self.lots
        for _, lot_id in sorted(self.expiry_queue):
            remaining = lots[lot_id]["remaining"]
            if remaining > 0:
                yield lot_id, remaining

    # -- events: fact records -------------------------------------------------------------

    def _touch(self, at: datetime) -> None:
        if self.last_activity is None or at > self.last_activity:
            self.last_activity = at

    @event("OrderPlaced")
    def _order_placed(self, source_event_id: str, order_id: str, currency: str, total: str,
                      shipping: str, categories: list[str], lot_id: str | None,
                      timestamp: datetime) -> None:
        self.seen[source_event_id] = None
        self.orders[order_id] = {"total": total, "refunded": "0", "lot_id": lot_id,
                                 "source_event_id": source_event_id}
        referral = self.referral
        if referral is not None and referral["status"] == "linked" and not referral["order_id"]:
            referral["order_id"] = order_id
        self._touch(timestamp)

    @event("OrderRefunded")
    def _order_refunded(self, source_event_id: str, order_id: str, amount: str,
                        refunded_total: str, timestamp: datetime) -> None:
        self.seen[source_event_id] = None
        self.orders[order_id]["refunded"] = refunded_total
        self._touch(timestamp)

    @event("Registered")
    def _registered(self, source_event_id: str, email_sha256: str | None, newsletter: bool,
                    timestamp: datetime) -> None:
        self.seen[source_event_id] = None
        if email_sha256:
            self.email_sha256 = email_sha256
        self.newsletter = self.newsletter or newsletter
        self._touch(timestamp)

    @event("SurveyAnswered")
    def _survey_answered(self, source_event_id: str, score: int, timestamp: datetime) -> None:
        self.seen[source_event_id] = None
        self._touch(timestamp)

    @event("FactRecorded")
    def _fact_recorded(self, source_event_id: str, fact_type: str, outcome: str,
                       timestamp: datetime) -> None:
        self.seen[source_event_id] = None
        self._touch(timestamp)

    # -- events: the ledger -------------------------------------------------------------------

    @event("PointsEarned")
    def _points_earned(
        self, lot_id: str, points: int, rule: str, program_version: int, source_event_id: str,
        status: str, activates_at: str | None, expires_at: str | None, order_id: str | None,
        qualifying: int, qualifying_until: str | None, timestamp: datetime,
    ) -> None:
        self.seen[source_event_id] = None
        expires = _dt(expires_at)
        self.lots[lot_id] = {
            "points": points, "remaining": points, "status": status,
            "program_version": program_version, "order_id": order_id,
            "source_event_id": source_event_id, "expires_at": expires,
            "qualifying": qualifying, "qualifying_awarded": qualifying,
            "expired": 0, "absorbed": 0,
        }
        self.lifetime_earned += points
        if status == PENDING:
            self.pending += points
            heapq.heappush(self.activation_queue, [_dt(activates_at), lot_id])
        else:
            self.available += points
            heapq.heappush(self.expiry_queue, [expires, lot_id])
        if qualifying:
            self.qualifying += qualifying
            heapq.heappush(self.lapse_queue, [_dt(qualifying_until), lot_id])
        if rule == "share":
            remember(self.share_times, timestamp)
        if rule in ("review", "share"):
            self._touch(timestamp)

    @event("PointsActivated")
    def _points_activated(self, lot_id: str, points: int, expires_at: str,
                          timestamp: datetime) -> None:
        lot = self.lots[lot_id]
        lot["status"] = ACTIVE
        expires = _dt(expires_at)
        lot["expires_at"] = expires
        self.pending -= points
        self.available += points
        _remove(self.activation_queue, lot_id)
        heapq.heappush(self.expiry_queue, [expires, lot_id])
        self._tidy()

    @event("PointsReversed")
    def _points_reversed(
        self, lot_id: str, source_event_id: str, order_id: str, rule: str, program_version: int,
        points: int, pending: int, active: int, already_expired: int, shortfall: int,
        qualifying: int, lots: list[list[Any]], timestamp: datetime,
    ) -> None:
        self.seen[source_event_id] = None
        lot = self.lots[lot_id]
        if pending:
            lot["remaining"] -= pending
            self.pending -= pending
            if lot["remaining"] == 0:
                lot["status"] = CANCELLED
        for taken_id, taken in lots:
            self.lots[taken_id]["remaining"] -= taken
        lot["absorbed"] += already_expired
        lot["qualifying"] -= qualifying
        self.available -= active
        self.reversed += pending + active
        self.shortfall += shortfall
        self.qualifying -= qualifying
        self._tidy()

    @event("PointsRedeemed")
    def _points_redeemed(self, request_id: str, reward: str, points: int, coupon: str,
                         lots: list[list[Any]], program_version: int,
                         timestamp: datetime) -> None:
        for lot_id, taken in lots:
            self.lots[lot_id]["remaining"] -= taken
        self.available -= points
        self.redeemed += points
        self.redemptions[request_id] = {
            "reward": reward, "points": points, "coupon": coupon,
            "lots": [list(pair) for pair in lots], "at": timestamp,
        }
        self._tidy()

    @event("PointsExpired")
    def _points_expired(self, lot_id: str, points: int, timestamp: datetime) -> None:
        lot = self.lots[lot_id]
        lot["remaining"] -= points
        lot["expired"] += points
        self.available -= points
        self.expired += points
        self._tidy()

    @event("QualifyingPointsLapsed")
    def _qualifying_lapsed(self, lot_id: str, points: int, timestamp: datetime) -> None:
        self.lots[lot_id]["qualifying"] -= points
        self.qualifying -= points
        self._tidy()

    def _tidy(self) -> None:
        """Drop dead heads of the queues (deterministic: runs inside event methods only)."""
        lots = self.lots
        queue = self.activation_queue
        while queue and (lots[queue[0][1]]["status"] != PENDING
                         or lots[queue[0][1]]["remaining"] <= 0):
            heapq.heappop(queue)
        queue = self.expiry_queue
        while queue and lots[queue[0][1]]["remaining"] <= 0:
            heapq.heappop(queue)
        queue = self.lapse_queue
        while queue and lots[queue[0][1]]["qualifying"] <= 0:
            heapq.heappop(queue)

    # -- events: tiers and referrals --------------------------------------------------------

    @event("TierChanged")
    def _tier_changed(self, from_tier: str, to_tier: str, reason: str, qualifying_points: int,
                      first_reached: list[str], next_review_at: str | None,
                      source_event_id: str | None, timestamp: datetime) -> None:
        if source_event_id is not None:
            self.seen[source_event_id] = None
        self.tier = to_tier
        self.tiers_reached.extend(first_reached)
        self.next_review_at = _dt(next_review_at)

    @event("TierReviewed")
    def _tier_reviewed(self, tier: str, qualifying_points: int, next_review_at: str | None,
                       timestamp: datetime) -> None:
        self.next_review_at = _dt(next_review_at)

    @event("ReferralLinked")
    def _referral_linked(self, source_event_id: str, referrer_id: str, code: str,
                         timestamp: datetime) -> None:
        self.seen[source_event_id] = None
        self.referral = {"referrer_id": referrer_id, "status": "linked", "order_id": None}
        self._touch(timestamp)

    @event("ReferralQualified")
    def _referral_qualified(self, referrer_id: str, order_id: str, command_id: str,
                            timestamp: datetime) -> None:
        if self.referral is not None:
            self.referral["status"] = "qualified"

    @event("ReferralClaimed")
    def _referral_claimed(self, command_id: str, friend_id: str,
                          friend_email_sha256: str | None, order_id: str | None,
                          timestamp: datetime) -> None:
        self.seen[command_id] = None
        self.referral_claims[command_id] = {
            "friend_id": friend_id, "friend_email_sha256": friend_email_sha256,
            "order_id": order_id, "at": timestamp,
        }

    @event("ReferralRewarded")
    def _referral_rewarded(self, source_event_id: str, referrer_id: str, friend_id: str,
                           role: str, points: int, timestamp: datetime) -> None:
        self.seen[source_event_id] = None
        if role == "referrer":
            self.referral_claims.pop(source_event_id, None)
            self.referred_friends[friend_id] = None
            remember(self.referral_reward_times, timestamp)
        elif self.referral is not None:
            self.referral["status"] = "rewarded"

    @event("ReferralRefused")
    def _referral_refused(self, source_event_id: str, referrer_id: str, friend_id: str,
                          role: str, stage: str, reason: str, timestamp: datetime) -> None:
        self.seen[source_event_id] = None
        if stage == "link":
            self._touch(timestamp)
        elif role == "referrer":
            self.referral_claims.pop(source_event_id, None)
        elif role == "friend" and self.referral is not None:
            self.referral["status"] = "refused"


def _remove(queue: list[list[Any]], lot_id: str) -> None:
    if queue and queue[0][1] == lot_id:
        heapq.heappop(queue)
        return
    for index, entry in enumerate(queue):
        if entry[1] == lot_id:
            queue[index] = queue[-1]
            queue.pop()
            heapq.heapify(queue)
            return


def _direct_trigger(decorator: CommandMethodDecorator) -> Callable[..., None]:
    """What calling an ``@event`` method does, without eventsourcing's generic path.

    The library turns a call into an event through a bound decorator, argument coercion,
    signature filtering (twice), the event's dataclass ``__init__`` and ``mutate``; profiled,
    that machinery cost several times the event methods' own work on ingest. This does the
    same steps for the calls the Member makes (every argument by name, a timestamp given):
    the event's attributes in its dataclass field order (so ``vars(event)``, and with it the
    stored JSON, is the same to the byte), the decorated method applied, then the version,
    ``modified_on`` and the pending list, as ``trigger_event`` and ``mutate`` set them. Any
    other call goes the library's way. Replay is the library's, untouched: it applies stored
    events through the event classes, which stay as the decorator defined them."""
    event_cls: Any = decorated_func_callers[decorator]
    func = decorator.decorated_func
    params = frozenset(list(inspect.signature(func).parameters)[1:])
    fields = tuple(f.name for f in dataclasses.fields(event_cls))
    if set(fields) != params | {"originator_id", "originator_version"}:
        raise TypeError(f"{event_cls.__qualname__}: fields {fields} do not match the "
                        f"parameters of {func.__qualname__}")
    new = object.__new__

    def trigger(self: Member, *args: Any, **kwargs: Any) -> None:
        if args or kwargs.keys() != params or kwargs["timestamp"] is None:
            BoundCommandMethodDecorator(decorator, self)(*args, **kwargs)
            return
        version = self._version + 1
        recorded = new(event_cls)
        state = recorded.__dict__
        values = {**kwargs, "originator_id": self._id, "originator_version": version}
        for name in fields:
            state[name] = values[name]
        func(self, **kwargs)
        self._version = version
        self._modified_on = kwargs["timestamp"]
        self._pending_events.append(recorded)

    trigger.__name__ = func.__name__
    trigger.__qualname__ = func.__qualname__
    trigger.__doc__ = func.__doc__
    return trigger


# The library's decorators of the event methods, kept to compare the two paths in tests.
LIBRARY_EVENT_METHODS: dict[str, CommandMethodDecorator] = {
    name: attr for name, attr in vars(Member).items()
    if isinstance(attr, CommandMethodDecorator) and name != "__init__"
}
for _name, _decorator in LIBRARY_EVENT_METHODS.items():
    setattr(Member, _name, _direct_trigger(_decorator))
