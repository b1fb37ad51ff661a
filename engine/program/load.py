"""Reading a program file (TOML): validation with errors that name the key, and the content hash.

Missing keys take the shipped default's value; unknown keys are refused (a typo must not pass
silently). Every problem found is reported at once, one ``key: reason`` per line.
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from datetime import datetime
from decimal import Decimal
from typing import Any

from engine.errors import InvalidProgram
from engine.program.model import EPOCH, REWARD_KINDS, Program, Reward, Tier, _frozen
from engine.program.reader import Reader

TOP_KEYS = {"currency", "spend", "pending", "reviews", "shares", "welcome", "referrals", "expiry",
            "tiers", "rewards", "churn"}
TIER_SETTINGS = {"window_days", "review_days", "max_downgrade_steps"}


def parse_program(
    text: str, *, version: int = 1, effective_from: datetime = EPOCH
) -> Program:
    """Validate a program file and build its ``Program``; raise ``InvalidProgram`` listing every
    problem as ``key: reason``. The content hash covers the resolved settings, so comments,
    layout and spelled-out defaults do not change it."""
    try:
        doc = tomllib.loads(text, parse_float=Decimal)
    except tomllib.TOMLDecodeError as exc:
        raise InvalidProgram(f"not a valid TOML file: {exc}") from None
    r = Reader()
    base = Program()
    r.keys(doc, "", TOP_KEYS)
    currency = r.text(doc, "currency", None)
    if currency is not None and not (len(currency) == 3 and currency.isalpha()
                                     and currency.isupper()):
        r.error("currency", f"must be an ISO 4217 code such as 'SAR', got {currency!r}")
    spend = r.table(doc, "spend", {"points_per_unit", "minimum_order_value",
                                   "maximum_order_value", "category_multipliers"})
    multipliers = r.table(spend, "spend.category_multipliers", None)
    pending = r.table(doc, "pending", {"days"})
    reviews = r.table(doc, "reviews", {"points", "once_per_product", "verified_only"})
    shares = r.table(doc, "shares", {"points", "max_per_window", "window_days"})
    welcome = r.table(doc, "welcome", {"points", "newsletter_points"})
    referrals = r.table(doc, "referrals", {"friend_points", "referrer_points",
                                           "max_rewards_per_referrer", "cap_window_days"})
    expiry = r.table(doc, "expiry", {"days_after_activation"})
    tiers = r.table(doc, "tiers", None)
    churn = r.table(doc, "churn", {"default_days", "windows"})
    program = Program(
        version=version,
        effective_from=effective_from,
        currency=currency or "",
        points_per_unit=r.integer(spend, "spend.points_per_unit", base.points_per_unit, 1),
        category_multipliers=_frozen({
            str(k): r.decimal(multipliers, f"spend.category_multipliers.{k}", None, Decimal(0),
                         name=k)
            for k in multipliers
        }),
        minimum_order_value=r.decimal(spend, "spend.minimum_order_value",
                                      base.minimum_order_value, Decimal(0)),
        maximum_order_value=r.decimal(spend, "spend.maximum_order_value",
                                      base.maximum_order_value, Decimal("0.01")),
        pending_days=r.integer(pending, "pending.days", base.pending_days, 0, 365),
        review_points=r.integer(reviews, "reviews.points", base.review_points, 0),
        review_once_per_product=r.boolean(reviews, "reviews.once_per_product",
                                          base.review_once_per_product),
        review_verified_only=r.boolean(reviews, "reviews.verified_only",
                                       base.review_verified_only),
        share_points=r.integer(shares, "shares.points", base.share_points, 0),
        share_cap=r.integer(shares, "shares.max_per_window", base.share_cap, 0),
        share_window_days=r.integer(shares, "shares.window_days", base.share_window_days, 1, 365),
        welcome_points=r.integer(welcome, "welcome.points", base.welcome_points, 0),
        newsletter_points=r.integer(welcome, "welcome.newsletter_points",
                                    base.newsletter_points, 0),
        referral_friend_points=r.integer(referrals, "referrals.friend_points",
                                         base.referral_friend_points, 0),
        referral_referrer_points=r.integer(referrals, "referrals.referrer_points",
                                           base.referral_referrer_points, 0),
        referral_cap=r.integer(referrals, "referrals.max_rewards_per_referrer",
                               base.referral_cap, 0),
        referral_cap_window_days=r.integer(referrals, "referrals.cap_window_days",
                                           base.referral_cap_window_days, 1, 365),
        expiry_days=r.integer(expiry, "expiry.days_after_activation", base.expiry_days, 1),
        tiers=_tiers(r, tiers, base.tiers),
        tier_window_days=r.integer(tiers, "tiers.window_days", base.tier_window_days, 1, 3650),
        tier_review_days=r.integer(tiers, "tiers.review_days", base.tier_review_days, 1, 3650),
        tier_max_downgrade=r.integer(tiers, "tiers.max_downgrade_steps",
                                     base.tier_max_downgrade, 0),
        rewards=_rewards(r, doc, base),
        churn_default_days=r.integer(churn, "churn.default_days", base.churn_default_days, 1),
        churn_windows=_churn_windows(r, churn, base),
    )
    if r.errors:
        raise InvalidProgram("invalid program file:\n" + "\n".join(r.errors))
    return _with_hash(program)


def _tiers(r: Reader, tiers: dict[str, Any], default: tuple[Tier, ...]) -> tuple[Tier, ...]:
    named = {k: v for k, v in tiers.items() if k not in TIER_SETTINGS}
    if not named:
        return default
    found = []
    for name, spec in named.items():
        key = f"tiers.{name}"
        if not isinstance(spec, dict):
            r.error(key, f"unknown key (expected a tier table or one of {sorted(TIER_SETTINGS)})")
            continue
        r.keys(spec, key, {"threshold", "multiplier", "entry_bonus"})
        found.append(Tier(
            name=name,
            threshold=r.integer(spec, f"{key}.threshold", None, 0),
            multiplier=r.decimal(spec, f"{key}.multiplier", None, Decimal(0), positive=True),
            entry_bonus=r.integer(spec, f"{key}.entry_bonus", 0, 0),
        ))
    found.sort(key=lambda t: t.threshold)
    if found and found[0].threshold != 0:
        r.error(f"tiers.{found[0].name}.threshold", "the lowest tier must have threshold 0, "
                f"got {found[0].threshold}")
    for lower, upper in zip(found, found[1:]):
        if lower.threshold == upper.threshold:
            r.error(f"tiers.{upper.name}.threshold",
                    f"must differ from tiers.{lower.name}.threshold, got {upper.threshold}")
    return tuple(found)


def _rewards(r: Reader, doc: dict[str, Any], base: Program) -> Any:
    rewards = r.table(doc, "rewards", None)
    if "rewards" not in doc:
        return base.rewards
    found = {}
    for name, spec in rewards.items():
        key = f"rewards.{name}"
        if not isinstance(spec, dict):
            r.error(key, "must be a table with kind and points")
            continue
        if ":" in name:
            r.error(key, "a reward name cannot contain ':'")
        r.keys(spec, key, {"kind", "points", "value", "sku_points"})
        kind = r.text(spec, f"{key}.kind", None)
        if kind is not None and kind not in REWARD_KINDS:
            r.error(f"{key}.kind", f"must be one of {', '.join(REWARD_KINDS)}, got {kind!r}")
        value = None
        if kind in ("percent_off", "amount_off"):
            value = r.decimal(spec, f"{key}.value", None, Decimal(0), positive=True)
            if kind == "percent_off" and value is not None and value > 100:
                r.error(f"{key}.value", f"a percentage must be at most 100, got {value}")
        elif "value" in spec:
            r.error(f"{key}.value", f"is not used by a {kind} reward")
        skus = r.table(spec, f"{key}.sku_points", None)
        if skus and kind != "free_product":
            r.error(f"{key}.sku_points", "only a free_product reward has per-sku points")
        found[name] = Reward(
            name=name, kind=kind or "", points=r.integer(spec, f"{key}.points", None, 1),
            value=value,
            sku_points=_frozen({s: r.integer(skus, f"{key}.sku_points.{s}", None, 1, name=s)
                                for s in skus}),
        )
    return _frozen(found)


def _churn_windows(r: Reader, churn: dict[str, Any], base: Program) -> Any:
    if "windows" not in churn:
        return base.churn_windows
    windows = r.table(churn, "churn.windows", None)
    return _frozen({c: r.integer(windows, f"churn.windows.{c}", None, 1, name=c)
                    for c in windows})


def canonical_content(program: Program) -> dict[str, Any]:
    """The resolved settings as a JSON-ready dict (what the content hash covers)."""
    return {
        "currency": program.currency,
        "spend": {"points_per_unit": program.points_per_unit,
                  "minimum_order_value": _dec(program.minimum_order_value),
                  "maximum_order_value": _dec(program.maximum_order_value),
                  "category_multipliers": {k: _dec(v)
                                           for k, v in program.category_multipliers.items()}},
        "pending": {"days": program.pending_days},
        "reviews": {"points": program.review_points,
                    "once_per_product": program.review_once_per_product,
                    "verified_only": program.review_verified_only},
        "shares": {"points": program.share_points, "max_per_window": program.share_cap,
                   "window_days": program.share_window_days},
        "welcome": {"points": program.welcome_points,
                    "newsletter_points": program.newsletter_points},
        "referrals": {"friend_points": program.referral_friend_points,
                      "referrer_points": program.referral_referrer_points,
                      "max_rewards_per_referrer": program.referral_cap,
                      "cap_window_days": program.referral_cap_window_days},
        "expiry": {"days_after_activation": program.expiry_days},
        "tiers": {"window_days": program.tier_window_days,
                  "review_days": program.tier_review_days,
                  "max_downgrade_steps": program.tier_max_downgrade,
                  **{t.name: {"threshold": t.threshold, "multiplier": _dec(t.multiplier),
                              "entry_bonus": t.entry_bonus} for t in program.tiers}},
        "rewards": {name: {"kind": rw.kind, "points": rw.points,
                           **({"value": _dec(rw.value)} if rw.value is not None else {}),
                           **({"sku_points": dict(rw.sku_points)} if rw.sku_points else {})}
                    for name, rw in program.rewards.items()},
        "churn": {"default_days": program.churn_default_days,
                  "windows": dict(program.churn_windows)},
    }


def content_hash(program: Program) -> str:
    canonical = json.dumps(canonical_content(program), sort_keys=True, separators=(",", ":"),
                           ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _with_hash(program: Program) -> Program:
    from dataclasses import replace

    return replace(program, content_hash=content_hash(program))


def _dec(value: Decimal) -> str:
    return format(value.normalize(), "f")
