"""The event store (eventsourcing) and the engine's own tables beside it, in one database."""

from engine.store.app import LoyaltyStore, open_store

__all__ = ["LoyaltyStore", "open_store"]
