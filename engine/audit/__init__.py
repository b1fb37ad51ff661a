"""Audit and what-if: the hash chain over stored events, verification of every member's history
against its source facts, the per-day digest, and simulation of a draft program.

Nothing is imported here: ``engine.store.recorders`` imports ``engine.audit.chain`` and must not
pull the rest of the package (which reads the store) in with it.
"""
