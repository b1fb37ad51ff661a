"""Event-sourced aggregates: one per module."""
