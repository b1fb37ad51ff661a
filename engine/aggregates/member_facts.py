"""The deciding half of the Member for facts and commands (a mixin of ``Member``).

Each handler checks first (raising ``RejectedFact`` before anything changes), then advances
engine time to the fact, then triggers the events that record its outcome.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from engine.aggregates.commands import REFERRAL_QUALIFIED, REFERRAL_SETTLED, Command
from engine.aggregates.member_referrals import ReferralHandlers
from engine.contract import Fact
from engine.errors import RejectedFact
from engine.program.model import Program, ProgramBook
from engine.rules import reviews, shares, welcome
from engine.rules.expiry import expires_at
from engine.rules.outcome import Award
from engine.rules.pending import ACTIVE, CANCELLED, PENDING, activates_at
from engine.rules.refunds import refund_plan, refund_refusal
from engine.rules.spend import order_refusal, money, spend_award
from engine.rules.tiers import multiplier, next_review_at, qualifying_until, reason_for_upgrade
from engine.rules.tiers import upgrade as tier_upgrade

if TYPE_CHECKING:
    from engine.aggregates.member import Member

Commands = list[Command]


class FactHandlers:
    def apply_fact(self: Member, fact: Fact, programs: ProgramBook) -> Commands:
        """Apply one fact at most once (idempotent by ``event_id``), advancing engine time to
        ``fact.occurred_at`` first. Raise ``RejectedFact`` before changing anything when a
        business precondition fails. Returns commands for other members."""
        if fact.event_id in self.seen:
            return []
        if fact.customer_id != self.customer_id:
            raise RejectedFact(f"fact {fact.event_id} is about {fact.customer_id}, "
                               f"not member {self.customer_id}")
        handler = _FACT_HANDLERS.get(fact.type)
        if handler is None:
            raise RejectedFact(f"no rule handles facts of type {fact.type!r}")
        return handler(self, fact, programs.in_force_at(fact.occurred_at), programs)

    def apply_command(self: Member, command: Command, programs: ProgramBook) -> Commands:
        """Apply a command from another member at most once (idempotent by ``command_id``)."""
        if command.command_id in self.seen:
            return []
        if command.customer_id != self.customer_id:
            raise RejectedFact(f"command {command.command_id} is for {command.customer_id}, "
                               f"not member {self.customer_id}")
        program = programs.in_force_at(command.occurred_at)
        if command.type == REFERRAL_QUALIFIED:
            return self._on_referral_qualified(command, program, programs)
        if command.type == REFERRAL_SETTLED:
            return self._on_referral_settled(command, program, programs)
        raise RejectedFact(f"no rule handles commands of type {command.type!r}")

    # -- orders -----------------------------------------------------------------------------

    def _on_order_placed(self: Member, fact: Fact, program: Program,
                         programs: ProgramBook) -> Commands:
        data, at = fact.data, fact.occurred_at
        order_id = str(data.get("order_id", ""))
        refusal = order_refusal(data, program)
        if refusal:
            raise RejectedFact(refusal)
        if order_id in self.orders:
            raise RejectedFact(f"order {order_id} was already placed (event "
                               f"{self.orders[order_id]['source_event_id']})")
        try:
            tier = self.tier
            award = spend_award(data, program, multiplier(tier, program))
            lines = data.get("lines") or ()
            categories = sorted({str(line.get("category", "")) for line in lines})
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise RejectedFact(f"order {order_id}: {exc}") from None
        commands = self.advance(at, programs)
        if self.tier != tier:  # a yearly review just moved the member
            award = spend_award(data, program, multiplier(self.tier, program))
        lot_id = f"{fact.event_id}:spend" if award.points > 0 else None
        self._order_placed(source_event_id=fact.event_id, order_id=order_id,
                           currency=data["currency"], total=data["total"],
                           shipping=data.get("shipping", "0"), categories=categories,
                           lot_id=lot_id, timestamp=at)
        if lot_id is None:
            self._fact_recorded(source_event_id=fact.event_id, fact_type=fact.type,
                                outcome=f"earns nothing: {award.reason}", timestamp=at)
            self._refuse_waiting_referral(fact.event_id, order_id, at,
                                          f"the first order {order_id} earned no points")
            return commands
        self._points_earned(
            lot_id=lot_id, points=award.points, rule="spend", program_version=program.version,
            source_event_id=fact.event_id, status=PENDING,
            activates_at=activates_at(at, program).isoformat(), expires_at=None,
            order_id=order_id, qualifying=award.qualifying,
            qualifying_until=qualifying_until(at, program).isoformat(), timestamp=at,
        )
        self._upgrade(fact.event_id, at, program)
        if program.pending_days == 0:
            commands.extend(self.advance(at, programs))
        return commands

    def _on_order_refunded(self: Member, fact: Fact, program: Program,
                           programs: ProgramBook) -> Commands:
        data, at = fact.data, fact.occurred_at
        order_id = str(data.get("order_id", ""))
        try:
            amount = money(data.get("amount"), "amount")
        except ValueError as exc:
            raise RejectedFact(f"refund of order {order_id}: {exc}") from None
        order = self.orders.get(order_id)
        refusal = refund_refusal(order, order_id, amount)
        if refusal or order is None:
            raise RejectedFact(refusal or order_id)
        commands = self.advance(at, programs)
        lot_id = order["lot_id"]
        lot = self.lots.get(lot_id) if lot_id else None
        plan = refund_plan(order, amount, lot_id, lot, self.active_lots())
        self._order_refunded(source_event_id=fact.event_id, order_id=order_id,
                             amount=str(amount),
                             refunded_total=str(Decimal(order["refunded"]) + amount),
                             timestamp=at)
        if lot is None or lot_id is None or not (plan.points or plan.qualifying):
            return commands
        self._points_reversed(
            lot_id=lot_id, source_event_id=fact.event_id, order_id=order_id, rule="refund",
            program_version=lot["program_version"], points=plan.points, pending=plan.pending,
            active=plan.active, already_expired=plan.already_expired, shortfall=plan.shortfall,
            qualifying=plan.qualifying, lots=plan.lots, timestamp=at,
        )
        if lot["status"] == CANCELLED:
            self._refuse_waiting_referral(fact.event_id, order_id, at, f"the first order "
                                          f"{order_id} was refunded before it became active")
        return commands

    # -- engagement ------------------------------------------------------------------------

    def _on_review_posted(self: Member, fact: Fact, program: Program,
                          programs: ProgramBook) -> Commands:
        outcome = reviews.review_outcome(fact.data, fact.event_id, self.lots, program)
        return self._engagement(fact, outcome, program, programs)

    def _on_share_posted(self: Member, fact: Fact, program: Program,
                         programs: ProgramBook) -> Commands:
        outcome = shares.share_outcome(fact.event_id, fact.occurred_at, self.share_times,
                                       program)
        return self._engagement(fact, outcome, program, programs)

    def _engagement(self: Member, fact: Fact, outcome: Any, program: Program,
                    programs: ProgramBook) -> Commands:
        commands = self.advance(fact.occurred_at, programs)
        if isinstance(outcome, Award):
            self._earn_at_once(outcome, fact.event_id, fact.occurred_at, program)
        else:
            self._fact_recorded(source_event_id=fact.event_id, fact_type=fact.type,
                                outcome=outcome.reason, timestamp=fact.occurred_at)
        return commands

    def _on_customer_registered(self: Member, fact: Fact, program: Program,
                                programs: ProgramBook) -> Commands:
        data, at = fact.data, fact.occurred_at
        commands = self.advance(at, programs)
        awards = welcome.welcome_awards(data, self.lots, program)
        self._registered(source_event_id=fact.event_id, email_sha256=data.get("email_sha256"),
                         newsletter=bool(data.get("newsletter")), timestamp=at)
        for award in awards:
            self._earn_at_once(award, fact.event_id, at, program)
        if not awards:
            self._fact_recorded(source_event_id=fact.event_id, fact_type=fact.type,
                                outcome=welcome.nothing_reason(data), timestamp=at)
        return commands

    def _on_survey_answered(self: Member, fact: Fact, program: Program,
                            programs: ProgramBook) -> Commands:
        score = fact.data.get("score")
        if not isinstance(score, int) or isinstance(score, bool) or not 0 <= score <= 10:
            raise RejectedFact(f"survey score must be a whole number from 0 to 10, got {score!r}")
        commands = self.advance(fact.occurred_at, programs)
        self._survey_answered(source_event_id=fact.event_id, score=score,
                              timestamp=fact.occurred_at)
        return commands

    # -- shared steps ----------------------------------------------------------------------

    def _earn_at_once(self: Member, award: Award, source_event_id: str, at: datetime,
                      program: Program) -> None:
        self._points_earned(
            lot_id=award.lot_id, points=award.points, rule=award.rule,
            program_version=program.version, source_event_id=source_event_id, status=ACTIVE,
            activates_at=at.isoformat(), expires_at=expires_at(at, program).isoformat(),
            order_id=None, qualifying=0, qualifying_until=None, timestamp=at,
        )

    def _upgrade(self: Member, source_event_id: str, at: datetime, program: Program) -> None:
        target, first = tier_upgrade(self.tier, self.qualifying, self.tiers_reached, program)
        if target is None:
            return
        review = next_review_at(at, target.name, program)
        self._tier_changed(
            from_tier=self.tier, to_tier=target.name,
            reason=reason_for_upgrade(target, self.qualifying),
            qualifying_points=self.qualifying, first_reached=[t.name for t in first],
            next_review_at=review.isoformat() if review else None,
            source_event_id=source_event_id, timestamp=at,
        )
        for tier in first:
            if tier.entry_bonus > 0:
                award = Award("tier_entry", f"tier-entry:{tier.name}", tier.entry_bonus)
                self._earn_at_once(award, source_event_id, at, program)


_FACT_HANDLERS: dict[str, Any] = {
    "order.placed": FactHandlers._on_order_placed,
    "order.refunded": FactHandlers._on_order_refunded,
    "review.posted": FactHandlers._on_review_posted,
    "share.posted": FactHandlers._on_share_posted,
    "customer.registered": FactHandlers._on_customer_registered,
    "survey.answered": FactHandlers._on_survey_answered,
    "referral.created": ReferralHandlers._on_referral_created,
}
