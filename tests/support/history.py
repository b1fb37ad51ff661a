"""Long, realistic histories in a real store, for the audit and simulation tests.

``build_history`` runs a generated storefront stream through the service layer in batches (no
broker), delivers the referral commands from the outbox back to the ledger as the stream would,
redeems points for members with enough of them (as the back office does: load, redeem, save
with a ``redemption`` source row) and ends with a sweep of every member (``sweep`` rows), so
that every rule leaves events: spend, welcome, newsletter, reviews, shares, referrals, tiers,
refunds, redemptions, activations and expiries.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import orjson

from engine.aggregates.member import Member
from engine.backoffice import sweep as backoffice_sweep
from engine.config import DEFAULT_MEMBERS_IN_MEMORY
from engine.contract import COMMANDS_TOPIC, topic_for
from engine.demo.generate import DEFAULT_START, generate
from engine.errors import InvalidFact, RedemptionRefused
from engine.program.model import ProgramBook
from engine.service import Incoming, Ledger
from engine.store.app import LoyaltyStore
from engine.store.outbox import mark_sent, pending
from engine.store.programs import program_book, publish_program
from engine.store.recorders import SideWrites

REWARDS = ("ten-percent-off", "free-shipping", "five-off")


@dataclass
class History:
    messages: int = 0
    commands: int = 0
    redemptions: int = 0
    sweeps: int = 0
    end: datetime = DEFAULT_START
    customers: list[str] = field(default_factory=list)


def build_history(store: LoyaltyStore, *, customers: int = 200, days: int = 400, seed: int = 7,
                  batch: int = 400, redeem_every: int = 3, sweep_after_days: int = 500,
                  programs: list[tuple[str, datetime]] = (),
                  members_in_memory: int = DEFAULT_MEMBERS_IN_MEMORY) -> History:
    """Fill ``store`` with a history; ``programs`` are published first (text, effective);
    ``members_in_memory`` bounds the ledger's members."""
    for text, effective in programs:
        publish_program(store, text, effective, effective)
    lines = generate(customers=customers, days=days, seed=seed, start=DEFAULT_START)
    ledger = Ledger(store, members_in_memory=members_in_memory)
    history = History(customers=sorted({c for c in _customers(lines)}))
    offsets: Counter[str] = Counter()
    for number, start in enumerate(range(0, len(lines), batch)):
        chunk = lines[start:start + batch]
        messages = []
        for line in chunk:
            topic = _topic(line)
            messages.append(Incoming(topic, 0, offsets[topic], line))
            offsets[topic] += 1
        outcome = ledger.handle(messages)
        history.messages += len(messages)
        history.end = max(history.end, outcome.last_event_time or history.end)
        history.commands += _deliver_commands(ledger, offsets)
        if redeem_every and number % redeem_every == redeem_every - 1:
            history.redemptions += redeem_some(store, history.end, program_book(store),
                                               tag=f"b{number}")
    final = DEFAULT_START + timedelta(days=sweep_after_days)
    history.sweeps = sweep_all(store, final)
    history.commands += _deliver_commands(Ledger(store), offsets)
    return history


def redeem(store: LoyaltyStore, customer_id: str, reward: str, request_id: str,
           at: datetime, programs: ProgramBook) -> bool:
    """Redeem as the back office does; False when refused (nothing written)."""
    member = store.get_member(customer_id)
    if member is None:
        return False
    before = member.version
    try:
        result = member.redeem(request_id, reward, at, programs)
    except RedemptionRefused:
        return False
    payload = {"request_id": request_id, "reward": reward, "at": at.isoformat()}
    store.save([member], _side(member, "redemption", request_id, payload, before,
                               result.commands))
    return True


def redeem_some(store: LoyaltyStore, at: datetime, programs: ProgramBook, tag: str) -> int:
    rows = store.sql.query("SELECT DISTINCT customer_id FROM source_facts ORDER BY customer_id")
    done = 0
    for index, row in enumerate(rows):
        if index % 7:
            continue
        reward = REWARDS[index % len(REWARDS)]
        done += redeem(store, row["customer_id"], reward, f"req-{tag}-{index}", at, programs)
    return done


def sweep_all(store: LoyaltyStore, now: datetime) -> int:
    """The back office's sweep of every member; returns how many members it changed."""
    return backoffice_sweep(store, now).changed


def _side(member: Member, kind: str, source_id: str, payload: dict[str, object], before: int,
          commands: list[object]) -> SideWrites:
    side = SideWrites()
    side.source_facts.append((
        f"{kind}:{member.id.hex}:{source_id}", kind, "backoffice", 0, 0, source_id,
        member.customer_id, member.id.hex, before + 1, member.version,
        orjson.dumps(payload).decode(),
    ))
    for command in commands:
        side.outbox.append((command.command_id, COMMANDS_TOPIC, command.customer_id,  # type: ignore[attr-defined]
                            command.to_json().decode()))  # type: ignore[attr-defined]
    return side


def _deliver_commands(ledger: Ledger, offsets: Counter[str]) -> int:
    """Hand the outbox's commands to the ledger until none are left (dead letters are only
    marked sent)."""
    delivered = 0
    while True:
        waiting = pending(ledger.store)
        if not waiting and not ledger.tick():  # idle: settle the claims that can be
            return delivered
        messages = []
        for message in waiting:
            if message.topic == COMMANDS_TOPIC:
                messages.append(Incoming(COMMANDS_TOPIC, 0, offsets[COMMANDS_TOPIC],
                                         message.value))
                offsets[COMMANDS_TOPIC] += 1
        if messages:
            ledger.handle(messages)
            delivered += len(messages)
        mark_sent(ledger.store, [m.id for m in waiting])


def _topic(line: bytes) -> str:
    try:
        return topic_for(orjson.loads(line)["type"])
    except (orjson.JSONDecodeError, KeyError, TypeError, InvalidFact):
        return "loyalty.orders"  # a malformed message: it is dead-lettered wherever it lands


def _customers(lines: list[bytes]) -> set[str]:
    found = set()
    for line in lines:
        try:
            found.add(orjson.loads(line)["customer_id"])
        except (orjson.JSONDecodeError, KeyError, TypeError):
            pass  # a malformed message names nobody
    return found


def edit_program(text: str, table: str, key: str, value: str) -> str:
    """``text`` with ``key = value`` in ``[table]`` (set or added); for program drafts."""
    lines = text.splitlines()
    start = lines.index(f"[{table}]") + 1
    end = next((i for i in range(start, len(lines)) if lines[i].startswith("[")), len(lines))
    for index in range(start, end):
        if lines[index].split("=")[0].strip() == key:
            lines[index] = f"{key} = {value}"
            break
    else:
        lines.insert(start, f"{key} = {value}")
    return "\n".join(lines) + "\n"
