"""The back-office HTTP API (FastAPI)."""
