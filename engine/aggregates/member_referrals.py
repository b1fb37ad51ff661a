"""The deciding half of the Member for referrals (a mixin of ``Member``).

The friend links the referral; its first order becoming active sends ``referral.qualified``
to the referrer, who keeps it as a claim. Claims are decided in engine-time order once none due
earlier can still come (the ledger knows when: ``engine.service``); the referrer checks its
guards, rewards itself and answers with ``referral.settled``; the friend is rewarded (or told
why not) when that answer arrives.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from engine.aggregates.commands import REFERRAL_SETTLED, Command, command_id
from engine.contract import Fact
from engine.program.model import Program, ProgramBook
from engine.rules import referrals
from engine.rules.outcome import Award

if TYPE_CHECKING:
    from engine.aggregates.member import Member

Commands = list[Command]


class ReferralHandlers:
    def _on_referral_created(self: Member, fact: Fact, program: Program,
                             programs: ProgramBook) -> Commands:
        data, at = fact.data, fact.occurred_at
        referrer_id = str(data.get("referrer_id", ""))
        commands = self.advance(at, programs)
        refusal = referrals.link_refusal(self.customer_id, referrer_id, bool(self.orders),
                                         self.referral)
        if refusal:
            self._referral_refused(source_event_id=fact.event_id, referrer_id=referrer_id,
                                   friend_id=self.customer_id, role="friend", stage="link",
                                   reason=refusal, timestamp=at)
        else:
            self._referral_linked(source_event_id=fact.event_id, referrer_id=referrer_id,
                                  code=str(data.get("code", "")), timestamp=at)
        return commands

    def _on_referral_qualified(self: Member, command: Command, program: Program,
                               programs: ProgramBook) -> Commands:
        """Referrer side: the friend's first order became active. The claim is kept, and
        decided by ``settle_referrals`` once every claim due before it has arrived."""
        data, at = command.data, command.occurred_at
        commands = self.advance(at, programs)
        email = data.get("friend_email_sha256")
        order_id = data.get("order_id")
        self._referral_claimed(command_id=command.command_id,
                               friend_id=str(data.get("friend_id", "")),
                               friend_email_sha256=None if email is None else str(email),
                               order_id=None if order_id is None else str(order_id),
                               timestamp=at)
        return commands

    def earliest_claim(self: Member) -> datetime | None:
        """The engine time of the earliest referral claim not decided yet."""
        claims = self.referral_claims
        return min(c["at"] for c in claims.values()) if claims else None

    def settle_referrals(self: Member, until: datetime, before: datetime | None,
                         programs: ProgramBook) -> Commands:
        """Decide the claims due up to engine time ``until`` and, when ``before`` is given (the
        time of the earliest claim sent to this member that has not reached it), due before
        it; in time order (ties by friend), whatever order they arrived in, so that the cap per
        rolling window counts the same rewards however the claims' messages crossed."""
        ready = sorted((c["at"], c["friend_id"], cid) for cid, c in self.referral_claims.items()
                       if c["at"] <= until and (before is None or c["at"] < before))
        commands: Commands = []
        for _, _, cid in ready:
            commands.extend(self._decide_referral(cid, programs))
        return commands

    def _decide_referral(self: Member, cid: str, programs: ProgramBook) -> Commands:
        claim = self.referral_claims[cid]
        at, friend_id = claim["at"], claim["friend_id"]
        program = programs.in_force_at(at)
        commands = self.advance(at, programs)
        refusal = referrals.reward_refusal(
            self.customer_id, self.email_sha256, claim, self.referred_friends,
            self.referral_reward_times, at, program)
        if refusal:
            self._referral_refused(source_event_id=cid, referrer_id=self.customer_id,
                                   friend_id=friend_id, role="referrer", stage="reward",
                                   reason=refusal, timestamp=at)
        else:
            points = program.referral_referrer_points
            if points > 0:
                award = Award("referral_referrer", f"referral:{friend_id}", points)
                self._earn_at_once(award, cid, at, program)
            self._referral_rewarded(source_event_id=cid, referrer_id=self.customer_id,
                                    friend_id=friend_id, role="referrer", points=points,
                                    timestamp=at)
        commands.append(Command(
            command_id=command_id(friend_id, "referral-settled"), type=REFERRAL_SETTLED,
            customer_id=friend_id, occurred_at=at,
            data={"referrer_id": self.customer_id, "friend_id": friend_id,
                  "outcome": "refused" if refusal else "rewarded", "reason": refusal or ""},
        ))
        return commands

    def _on_referral_settled(self: Member, command: Command, program: Program,
                             programs: ProgramBook) -> Commands:
        """Friend side: the referrer's answer."""
        data, at = command.data, command.occurred_at
        commands = self.advance(at, programs)
        referrer_id = str(data.get("referrer_id", ""))
        if data.get("outcome") != "rewarded":
            self._referral_refused(source_event_id=command.command_id, referrer_id=referrer_id,
                                   friend_id=self.customer_id, role="friend", stage="reward",
                                   reason=str(data.get("reason", "")), timestamp=at)
            return commands
        points = program.referral_friend_points
        if points > 0:
            award = Award("referral_friend", "referral:friend", points)
            self._earn_at_once(award, command.command_id, at, program)
        self._referral_rewarded(source_event_id=command.command_id, referrer_id=referrer_id,
                                friend_id=self.customer_id, role="friend", points=points,
                                timestamp=at)
        return commands

    def _refuse_waiting_referral(self: Member, source_event_id: str, order_id: str,
                                 at: datetime, reason: str) -> None:
        referral = self.referral
        if referral is None or referral["status"] != "linked" or referral["order_id"] != order_id:
            return
        self._referral_refused(source_event_id=source_event_id,
                               referrer_id=referral["referrer_id"], friend_id=self.customer_id,
                               role="friend", stage="order", reason=reason, timestamp=at)
