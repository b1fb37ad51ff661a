"""Configuration from the environment, read once by the composition root (never at import)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from engine.errors import ConfigurationError
from engine.signing import parse_secrets

DEFAULT_BROKER = "127.0.0.1:9092"
DEFAULT_DATA_DIR = "~/.loyalty"
DEFAULT_API_KEY = "dev-key-change-me"
DEFAULT_MEMBERS_IN_MEMORY = 100_000
PROJECTOR_MODES = ("auto", "process", "inline")


@dataclass(frozen=True)
class Settings:
    """Everything a process needs to find its parts.

    ``store_url`` is either a SQLite file path (the embedded default, under ``data_dir``) or a
    ``postgresql://`` URL.
    """

    broker: str = DEFAULT_BROKER
    data_dir: Path = field(default_factory=lambda: Path(DEFAULT_DATA_DIR).expanduser())
    store_url: str = field(default="", repr=False)  # may hold a password
    api_key: str = field(default=DEFAULT_API_KEY, repr=False)
    group_id: str = "loyalty-worker"
    rebalance_timeout: float = 2.0
    # Worker: how long a silent partition may hold the others back while their records wait
    # to be applied in event-time order (streams/sequencer.py), in seconds.
    max_idle: float = 5.0
    # Worker: the storefronts' signing secrets; when set, unsigned records are refused.
    signing_secrets: dict[str, str] = field(default_factory=dict, repr=False)
    signing_tolerance: int = 300
    # Worker: how many members it keeps in memory at most (engine/residency.py).
    members_in_memory: int = DEFAULT_MEMBERS_IN_MEMORY
    # Worker: where the read models are folded: "process" (a child process, on another core),
    # "inline" (between batches, on the batch thread) or "auto" (process with two cores or more).
    projector: str = "auto"
    # Publisher: this storefront's name and secret; when set, `publish` signs.
    store_id: str = ""
    signing_secret: str = field(default="", repr=False)

    @property
    def is_postgres(self) -> bool:
        return self.store_url.startswith(("postgresql://", "postgres://"))

    @property
    def sqlite_path(self) -> Path:
        if self.is_postgres:
            raise ConfigurationError("the store is PostgreSQL, not a SQLite file")
        return Path(self.store_url).expanduser()

    @property
    def projector_process(self) -> bool:
        """Whether the worker folds its read models in a child process."""
        if self.projector == "auto":
            return (os.cpu_count() or 1) >= 2
        return self.projector == "process"

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        data_dir = Path(env.get("LOYALTY_DATA_DIR") or DEFAULT_DATA_DIR).expanduser()
        store_url = env.get("LOYALTY_STORE_URL") or str(data_dir / "loyalty.sqlite")
        if store_url.startswith("sqlite:///"):
            store_url = store_url[len("sqlite:///") :]
        return cls(
            broker=env.get("LOYALTY_BROKER") or DEFAULT_BROKER,
            data_dir=data_dir,
            store_url=store_url,
            api_key=env.get("LOYALTY_API_KEY") or DEFAULT_API_KEY,
            group_id=env.get("LOYALTY_GROUP_ID") or "loyalty-worker",
            rebalance_timeout=float(env.get("LOYALTY_REBALANCE_TIMEOUT") or 2.0),
            max_idle=float(env.get("LOYALTY_MAX_IDLE_MS") or 5000) / 1000,
            signing_secrets=parse_secrets(env.get("LOYALTY_SIGNING_SECRETS") or ""),
            signing_tolerance=int(env.get("LOYALTY_SIGNING_TOLERANCE") or 300),
            members_in_memory=_positive(env, "LOYALTY_MEMBERS_IN_MEMORY",
                                        DEFAULT_MEMBERS_IN_MEMORY),
            projector=_choice(env, "LOYALTY_PROJECTOR", PROJECTOR_MODES, "auto"),
            store_id=env.get("LOYALTY_STORE_ID") or "",
            signing_secret=env.get("LOYALTY_SIGNING_SECRET") or "",
        )


def _positive(env: Mapping[str, str], name: str, default: int) -> int:
    text = env.get(name) or ""
    if not text:
        return default
    try:
        value = int(text.replace("_", ""))
    except ValueError:
        value = 0
    if value < 1:
        raise ConfigurationError(f"{name} must be a whole number of at least 1, not {text!r}")
    return value


def _choice(env: Mapping[str, str], name: str, choices: tuple[str, ...], default: str) -> str:
    text = (env.get(name) or "").strip().lower()
    if not text:
        return default
    if text not in choices:
        raise ConfigurationError(f"{name} must be one of {', '.join(choices)}, not {text!r}")
    return text
