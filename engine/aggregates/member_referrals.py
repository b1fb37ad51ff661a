"""The deciding half of the Member for referrals (a mixin of ``Member``).

The friend links the referral; its first order becoming active sends ``referral.qualified``
to the referrer, who checks its guards, rewards itself and answers with ``referral.settled``;
the friend is rewarded (or told why not) when that answer arrives.
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
        """Referrer side: the friend's first order became active."""
        data, at = command.data, command.occurred_at
        commands = self.advance(at, programs)
        friend_id = str(data.get("friend_id", ""))
        refusal = referrals.reward_refusal(
            self.customer_id, self.email_sha256, data, self.referred_friends,
            self.referral_reward_times, at, program)
        if refusal:
            self._referral_refused(source_event_id=command.command_id,
                                   referrer_id=self.customer_id, friend_id=friend_id,
                                   role="referrer", stage="reward", reason=refusal, timestamp=at)
        else:
            points = program.referral_referrer_points
            if points > 0:
                award = Award("referral_referrer", f"referral:{friend_id}", points)
                self._earn_at_once(award, command.command_id, at, program)
            self._referral_rewarded(source_event_id=command.command_id,
                                    referrer_id=self.customer_id, friend_id=friend_id,
                                    role="referrer", points=points, timestamp=at)
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
