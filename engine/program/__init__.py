"""The merchant's program: file model, validation, versions."""

from engine.program.load import canonical_content, parse_program
from engine.program.model import Program, ProgramBook, Reward, Tier, default_program, default_text

__all__ = [
    "Program", "ProgramBook", "Reward", "Tier", "canonical_content", "default_program",
    "default_text", "parse_program",
]
