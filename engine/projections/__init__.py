"""Read models folded from the store's notification log, each with its own tracked position."""
