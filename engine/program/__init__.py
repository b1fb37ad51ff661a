"""The merchant's program: file model, validation, versions."""

from engine.program.model import Program, ProgramBook, default_program

__all__ = ["Program", "ProgramBook", "default_program"]
