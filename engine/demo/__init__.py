"""A realistic, deterministic storefront event stream for demos, benchmarks and tests."""

from __future__ import annotations

from engine.demo.generate import DEFAULT_START, generate, write_jsonl

__all__ = ["DEFAULT_START", "generate", "write_jsonl"]
