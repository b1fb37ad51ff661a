"""The program model: every setting a merchant configures, as frozen values.

A ``Program`` is one published version of the program file. Its defaults are the shipped
default program (DESIGN.md section 4); ``default.toml`` spells out the same values and a test
keeps the two in step. Money and multipliers are ``Decimal``; points and days are ``int``.
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import Decimal
from functools import cache
from importlib import resources

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
REWARD_KINDS = ("percent_off", "amount_off", "free_shipping", "free_product")


class FrozenMap(dict):  # type: ignore[type-arg]
    """A dict that refuses changes: programs are shared, cached values. Unlike a mappingproxy
    it survives ``dataclasses.asdict``, copying and pickling."""

    def _refuse(self, *args: object, **kwargs: object) -> None:
        raise TypeError("program settings are read-only; publish a new version instead")

    __setitem__ = __delitem__ = __ior__ = _refuse  # type: ignore[assignment]
    clear = pop = popitem = setdefault = update = _refuse  # type: ignore[assignment]

    def __reduce__(self) -> tuple[type, tuple[dict]]:  # type: ignore[type-arg,override]
        return (FrozenMap, (dict(self),))

    def __copy__(self) -> FrozenMap:
        return self

    def __deepcopy__(self, memo: dict) -> FrozenMap:  # type: ignore[type-arg]
        return self


def _frozen(mapping: dict) -> Mapping:  # type: ignore[type-arg]
    return FrozenMap(mapping)


@dataclass(frozen=True)
class Tier:
    name: str
    threshold: int
    multiplier: Decimal
    entry_bonus: int


@dataclass(frozen=True)
class Reward:
    """One catalog entry. ``free_product`` rewards are asked for as ``<name>:<sku>`` and cost
    ``sku_points[sku]`` when the sku is listed, else ``points`` (the price rule)."""

    name: str
    kind: str
    points: int
    value: Decimal | None = None
    sku_points: Mapping[str, int] = field(default_factory=lambda: FrozenMap())

    def cost(self, sku: str | None) -> int:
        if sku is not None and sku in self.sku_points:
            return self.sku_points[sku]
        return self.points


DEFAULT_TIERS: tuple[Tier, ...] = (
    Tier("bronze", 0, Decimal("1.0"), 0),
    Tier("silver", 1000, Decimal("1.25"), 100),
    Tier("gold", 5000, Decimal("1.5"), 250),
    Tier("platinum", 15000, Decimal("2.0"), 500),
)
DEFAULT_REWARDS: Mapping[str, Reward] = _frozen({
    "ten-percent-off": Reward("ten-percent-off", "percent_off", 400, Decimal("10")),
    "free-shipping": Reward("free-shipping", "free_shipping", 250),
    "five-off": Reward("five-off", "amount_off", 500, Decimal("5")),
    "free-product": Reward("free-product", "free_product", 1000),
})
DEFAULT_CHURN_WINDOWS: Mapping[str, int] = _frozen({"grocery": 14, "perfume": 180})


@dataclass(frozen=True)
class Program:
    """One version of the program. ``version``, ``content_hash`` and ``effective_from`` come
    from publication; everything else from the file."""

    version: int = 1
    content_hash: str = ""
    effective_from: datetime = EPOCH
    currency: str = "SAR"
    # spend
    points_per_unit: int = 1
    category_multipliers: Mapping[str, Decimal] = field(default_factory=lambda: _frozen({}))
    minimum_order_value: Decimal = Decimal("0")
    # An order total above this is refused as implausible (a typo or a forged message must not
    # mint millions of points); raise it for a store that sells such things.
    maximum_order_value: Decimal = Decimal("1000000")
    pending_days: int = 14
    # engagement
    review_points: int = 50
    review_once_per_product: bool = True
    review_verified_only: bool = True
    share_points: int = 10
    share_cap: int = 3
    share_window_days: int = 7
    welcome_points: int = 100
    newsletter_points: int = 25
    # referrals
    referral_friend_points: int = 500
    referral_referrer_points: int = 500
    referral_cap: int = 10
    referral_cap_window_days: int = 30
    # expiry and tiers
    expiry_days: int = 365
    tiers: tuple[Tier, ...] = DEFAULT_TIERS
    tier_window_days: int = 365
    tier_review_days: int = 365
    tier_max_downgrade: int = 1
    # catalog and churn
    rewards: Mapping[str, Reward] = field(default_factory=lambda: DEFAULT_REWARDS)
    churn_default_days: int = 60
    churn_windows: Mapping[str, int] = field(default_factory=lambda: DEFAULT_CHURN_WINDOWS)

    def churn_window_days(self, category: str) -> int:
        return self.churn_windows.get(category, self.churn_default_days)


@dataclass
class ProgramBook:
    """Every published version, oldest first; answers which one was in force at a time.

    With nothing published, the shipped default (version 1) is in force.
    """

    versions: list[Program] = field(default_factory=list)

    def in_force_at(self, at: datetime) -> Program:
        versions = self.versions
        if not versions:
            return default_program()
        if len(versions) == 1:
            return versions[0]
        starts = [p.effective_from for p in versions]
        index = bisect.bisect_right(starts, at) - 1
        return versions[max(index, 0)]

    def by_version(self, version: int) -> Program | None:
        """The program with that version number, or None when it is not in this book."""
        for program in self.versions:
            if program.version == version:
                return program
        if not self.versions and version == default_program().version:
            return default_program()
        return None

    @property
    def current(self) -> Program:
        return self.versions[-1] if self.versions else default_program()


def default_text() -> str:
    """The shipped default program file (reads the package data file)."""
    return resources.files("engine.program").joinpath("default.toml").read_text("utf-8")


@cache
def default_program() -> Program:
    """The shipped default program, parsed from ``default.toml`` (read once, on first use)."""
    from engine.program.load import parse_program

    return parse_program(default_text())
