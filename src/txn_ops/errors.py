"""The one error type the CLI turns into a single line: a machine-readable code and what to do."""

from __future__ import annotations


class OpsError(Exception):
    """A failure the user can fix: ``code`` for scripts, ``message`` says what to do."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"
