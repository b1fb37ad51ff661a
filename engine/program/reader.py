"""Typed reads from a parsed TOML document that collect ``key: reason`` errors instead of raising.

Every reader takes the parent table and the full dotted key (for the message); the local key is
the last segment unless ``name`` is given (for keys that contain dots themselves).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any


class Reader:
    def __init__(self) -> None:
        self.errors: list[str] = []

    def error(self, key: str, reason: str) -> None:
        self.errors.append(f"{key}: {reason}")

    def keys(self, table: dict[str, Any], path: str, allowed: set[str] | None) -> None:
        if allowed is None:
            return
        for key in table:
            if key not in allowed:
                full = f"{path}.{key}" if path else key
                self.error(full, f"unknown key (expected one of: {', '.join(sorted(allowed))})")

    def table(
        self, parent: dict[str, Any], path: str, allowed: set[str] | None, name: str = ""
    ) -> dict[str, Any]:
        value = parent.get(name or _local(path))
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.error(path, f"must be a table, got {value!r}")
            return {}
        self.keys(value, path, allowed)
        return value

    def _get(self, parent: dict[str, Any], path: str, default: Any, name: str) -> Any:
        key = name or _local(path)
        if key in parent:
            return parent[key]
        if default is None:
            self.error(path, "is required")
        return default

    def integer(
        self, parent: dict[str, Any], path: str, default: int | None, minimum: int,
        maximum: int | None = None, name: str = "",
    ) -> int:
        value = self._get(parent, path, default, name)
        if value is None:
            return minimum
        ok = isinstance(value, int) and not isinstance(value, bool) and value >= minimum
        if ok and maximum is not None and value > maximum:
            self.error(path, f"must be an integer from {minimum} to {maximum}, got {value!r}")
            return minimum
        if not ok:
            self.error(path, f"must be an integer >= {minimum}, got {value!r}")
            return minimum
        return int(value)

    def decimal(
        self, parent: dict[str, Any], path: str, default: Decimal | None, minimum: Decimal,
        positive: bool = False, name: str = "",
    ) -> Decimal:
        value = self._get(parent, path, default, name)
        if value is None:
            return minimum
        number = _as_decimal(value)
        limit = f"> {minimum}" if positive else f">= {minimum}"
        if number is None or number < minimum or (positive and number == minimum):
            self.error(path, f"must be a decimal number {limit} (e.g. \"1.25\"), got {value!r}")
            return minimum
        return number

    def boolean(self, parent: dict[str, Any], path: str, default: bool | None,
                name: str = "") -> bool:
        value = self._get(parent, path, default, name)
        if not isinstance(value, bool):
            if value is not None:
                self.error(path, f"must be true or false, got {value!r}")
            return False
        return value

    def text(self, parent: dict[str, Any], path: str, default: str | None,
             name: str = "") -> str | None:
        value = self._get(parent, path, default, name)
        if value is not None and not isinstance(value, str):
            self.error(path, f"must be a string, got {value!r}")
            return None
        return value


def _local(path: str) -> str:
    return path.rsplit(".", 1)[-1]


def _as_decimal(value: Any) -> Decimal | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, int):
        number = Decimal(value)
    elif isinstance(value, str):
        try:
            number = Decimal(value.strip())
        except ArithmeticError:
            return None
    else:
        return None
    return number if number.is_finite() else None
