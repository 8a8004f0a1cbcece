"""The one error type of the local runtime: a machine-readable code and a human message."""

from __future__ import annotations


class LocalError(Exception):
    """Something the user can fix (a taken port, a missing fixture); printed, never a traceback."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"
