"""Shared test support: pytest fixtures for the real parts (broker, PostgreSQL, data directory)."""
