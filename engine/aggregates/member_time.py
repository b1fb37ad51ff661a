"""The deciding half of the Member for engine time (a mixin of ``Member``): activations,
expiries, lapses of qualifying points and yearly tier reviews that fall due.

Due work is done in time order (ties: activation, lapse, expiry, review), each event stamped
with its due time, so advancing in one step or many gives the same history.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from engine.aggregates.commands import REFERRAL_QUALIFIED, Command, command_id
from engine.program.model import ProgramBook
from engine.rules.expiry import expires_at
from engine.rules.tiers import next_review_at, reason_for_review, review_tier

if TYPE_CHECKING:
    from engine.aggregates.member import Member

ACTIVATION, LAPSE, EXPIRY, REVIEW = 0, 1, 2, 3


class TimeKeeping:
    def advance(self: Member, now: datetime, programs: ProgramBook) -> list[Command]:
        """Emit the activations, expiries, qualifying lapses and tier reviews due up to engine
        time ``now``; returns commands (a referral qualified by an activation). Idempotent:
        advancing again to the same time changes nothing."""
        commands: list[Command] = []
        while True:
            due, kind = self._next_due()
            if due is None or due > now:
                return commands
            if kind == ACTIVATION:
                self._activate(due, programs, commands)
            elif kind == LAPSE:
                lot_id = self.lapse_queue[0][1]
                self._qualifying_lapsed(lot_id=lot_id, points=self.lots[lot_id]["qualifying"],
                                        timestamp=due)
            elif kind == EXPIRY:
                lot_id = self.expiry_queue[0][1]
                self._points_expired(lot_id=lot_id, points=self.lots[lot_id]["remaining"],
                                     timestamp=due)
            else:
                self._review(due, programs)

    def next_due(self: Member) -> datetime | None:
        """When something next falls due (None when nothing is scheduled)."""
        return self._next_due()[0]

    def _next_due(self: Member) -> tuple[datetime | None, int]:
        best: datetime | None = None
        kind = -1
        queue = self.activation_queue
        if queue:
            best, kind = queue[0][0], ACTIVATION
        queue = self.lapse_queue
        if queue and (best is None or queue[0][0] < best):
            best, kind = queue[0][0], LAPSE
        queue = self.expiry_queue
        if queue and (best is None or queue[0][0] < best):
            best, kind = queue[0][0], EXPIRY
        review = self.next_review_at
        if review is not None and (best is None or review < best):
            best, kind = review, REVIEW
        return best, kind

    def _activate(self: Member, due: datetime, programs: ProgramBook,
                  commands: list[Command]) -> None:
        lot_id = self.activation_queue[0][1]
        lot = self.lots[lot_id]
        # The award's own program decides its expiry, not whichever is in force today.
        program = programs.by_version(lot["program_version"]) or programs.in_force_at(due)
        self._points_activated(lot_id=lot_id, points=lot["remaining"],
                               expires_at=expires_at(due, program).isoformat(), timestamp=due)
        referral = self.referral
        if (referral is None or referral["status"] != "linked"
                or lot["order_id"] is None or referral["order_id"] != lot["order_id"]):
            return
        cid = command_id(self.customer_id, "referral")
        commands.append(Command(
            command_id=cid, type=REFERRAL_QUALIFIED, customer_id=referral["referrer_id"],
            occurred_at=due,
            data={"friend_id": self.customer_id, "friend_email_sha256": self.email_sha256,
                  "order_id": lot["order_id"], "order_event_id": lot["source_event_id"]},
        ))
        self._referral_qualified(referrer_id=referral["referrer_id"], order_id=lot["order_id"],
                                 command_id=cid, timestamp=due)

    def _review(self: Member, due: datetime, programs: ProgramBook) -> None:
        program = programs.in_force_at(due)
        new = review_tier(self.tier, self.qualifying, program)
        following = next_review_at(due, new.name, program)
        iso = following.isoformat() if following else None
        if new.name == self.tier:
            self._tier_reviewed(tier=self.tier, qualifying_points=self.qualifying,
                                next_review_at=iso, timestamp=due)
            return
        self._tier_changed(
            from_tier=self.tier, to_tier=new.name,
            reason=reason_for_review(new, self.tier, self.qualifying, program.tier_window_days),
            qualifying_points=self.qualifying, first_reached=[], next_review_at=iso,
            source_event_id=None, timestamp=due,
        )
