"""The one error type of the TNM package: a bad category, setting or serialised field, named."""

from __future__ import annotations

__all__ = ["TnmError", "UnstageableError"]


class TnmError(ValueError):
    """A TNM value, setting or serialised field is invalid.

    Parameters
    ----------
    field
        What is wrong, as the user or the file names it (``"N"``, ``"--t"``,
        ``"tnm.overrides.T.note"``, ``"edition"``).
    problem
        What is wrong with it, in one line.
    """

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}" if field else problem)
        self.field = field
        self.problem = problem

    def within(self, prefix: str) -> "TnmError":
        """The same error with ``prefix`` prepended to the field path (for nested forms)."""
        return type(self)(f"{prefix}.{self.field}" if self.field else prefix, self.problem)


class UnstageableError(TnmError):
    """A T, N, M combination the edition's table gives no stage group for (T0 N0 M0)."""
