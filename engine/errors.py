"""The one error tree of the engine. Messages are written for the person who must act on them."""

from __future__ import annotations


class LoyaltyError(Exception):
    """Base of every error the engine raises on purpose."""


class ConfigurationError(LoyaltyError):
    """A setting (environment variable, file, flag) is missing or wrong."""


class InvalidFact(LoyaltyError):
    """A storefront message that breaks the event contract (not JSON, schema, unknown type).

    The worker dead-letters it with ``reason``; ``publish`` refuses it.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class RejectedFact(LoyaltyError):
    """A well-formed fact that breaks a business precondition (wrong currency, unknown order,
    refunds above the order total). Raised before any state changes; the worker dead-letters it."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class RedemptionRefused(LoyaltyError):
    """A redemption that cannot be honoured (short balance, unknown reward, unknown member)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class UnknownMember(LoyaltyError):
    """No member with that customer id is enrolled."""


class InvalidProgram(LoyaltyError):
    """A program file that cannot be published; the message names the key and the reason."""


class StoreUnavailable(LoyaltyError):
    """The event store or read-model database cannot be reached."""


class BrokerUnavailable(LoyaltyError):
    """The Kafka broker cannot be reached."""


class ReplayFailed(LoyaltyError):
    """A process rebuilding read models failed; the message says which and why."""
